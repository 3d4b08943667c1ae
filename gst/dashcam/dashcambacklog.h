/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef __DASHCAM_BACKLOG_H__
#define __DASHCAM_BACKLOG_H__

#include "dashcamcatalog.h"

G_BEGIN_DECLS

typedef enum
{
  DASHCAM_BACKLOG_POLICY_GAPS,
  DASHCAM_BACKLOG_POLICY_ALL,
  DASHCAM_BACKLOG_POLICY_LOCKED,
  DASHCAM_BACKLOG_POLICY_NONE,
} DashcamBacklogPolicy;

/**
 * DashcamGap:
 * @start: running time where the server stopped getting live data
 * @end: running time where it got it again; %GST_CLOCK_TIME_NONE while the
 *   gap is open
 */
typedef struct
{
  GstClockTime start;
  GstClockTime end;
} DashcamGap;

/**
 * DashcamGapList:
 *
 * The live gaps of one pipeline run, in running time, oldest first.
 */
typedef struct
{
  GArray *gaps;
  /* gaps dropped by dashcam_gap_list_forget_before(), for the totals */
  guint n_forgotten;
  GstClockTime forgotten_time;
} DashcamGapList;

void dashcam_gap_list_init (DashcamGapList * list);
void dashcam_gap_list_clear (DashcamGapList * list);
gboolean dashcam_gap_list_open (DashcamGapList * list, GstClockTime start);
gboolean dashcam_gap_list_close (DashcamGapList * list, GstClockTime end);
gboolean dashcam_gap_list_is_open (const DashcamGapList * list);
gboolean dashcam_gap_list_overlaps (const DashcamGapList * list,
    GstClockTime start, GstClockTime end);
GstClockTime dashcam_gap_list_total (const DashcamGapList * list,
    GstClockTime now);
guint dashcam_gap_list_count (const DashcamGapList * list);
void dashcam_gap_list_forget_before (DashcamGapList * list, GstClockTime t);

/**
 * DashcamAckTracker:
 *
 * Maps packets handed to SRT to the running time of their data and the
 * time they were sent, so that the count of packets the receiver
 * acknowledged tells up to which running time the server has the live
 * stream, and, with the receiver's latency, up to which running time it
 * has surely played it out (a receiver hands a packet to the server only
 * at its send time plus the latency; what it held back is lost if it dies
 * or stops reading).
 */
typedef struct
{
  GArray *marks;                /* (packets, running time, sent), increasing */
  guint64 acked;                /* packets acknowledged */
  GstClockTime confirmed;       /* acknowledged up to */
  GstClockTime played;          /* surely played out up to */
} DashcamAckTracker;

void dashcam_ack_tracker_init (DashcamAckTracker * t);
void dashcam_ack_tracker_clear (DashcamAckTracker * t);
void dashcam_ack_tracker_reset (DashcamAckTracker * t);
void dashcam_ack_tracker_sent (DashcamAckTracker * t, guint64 packets_total,
    GstClockTime running_time, gint64 sent_us);
GstClockTime dashcam_ack_tracker_acked (DashcamAckTracker * t,
    guint64 packets_acked);
GstClockTime dashcam_ack_tracker_played (DashcamAckTracker * t,
    gint64 sent_before_us);
gboolean dashcam_ack_tracker_packet (const DashcamAckTracker * t,
    guint64 packet, gint64 * sent_us, GstClockTime * running_time);
GstClockTime dashcam_ack_tracker_last_sent (const DashcamAckTracker * t);

typedef enum
{
  DASHCAM_BACKLOG_WAIT,         /* not decidable yet */
  DASHCAM_BACKLOG_QUEUE,        /* upload it */
  DASHCAM_BACKLOG_LIVE_DONE,    /* the server got all of it live */
  DASHCAM_BACKLOG_SKIP,         /* nothing to do */
} DashcamBacklogDecision;

DashcamBacklogDecision dashcam_backlog_decide (const DashcamSegment * seg,
    const gchar * run_id, DashcamBacklogPolicy policy,
    const DashcamGapList * gaps, GstClockTime confirmed);

const gchar *dashcam_backlog_decision_to_string (DashcamBacklogDecision d);

G_END_DECLS

#endif /* __DASHCAM_BACKLOG_H__ */
