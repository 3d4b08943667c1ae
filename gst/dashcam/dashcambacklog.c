/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Which segments the server missed.
 *
 * Both sinks see the same buffers through the tee, so running time (with
 * the id of the pipeline run) is a shared axis that the wall clock cannot
 * disturb. The uploader keeps the gaps of its run in running time: a gap
 * opens at the last running time the receiver played out (not the last
 * one sent: what sat in the send buffer when the link died is lost) and
 * closes where a new live session starts. A segment of this run is
 * uploaded when it overlaps a gap, and counts as delivered live once the
 * acknowledged running time passed its end without a gap. A segment of an
 * earlier run that was never confirmed is uploaded: nobody can tell what
 * the server got of it.
 *
 * An acknowledged packet is not yet the server's: the receiver's libsrt
 * hands it out only at its send time plus the latency, and a receiver that
 * dies or stops reading at a disconnect loses what it held. So the gaps
 * start, and segments count as delivered live, at what the receiver has
 * surely played out: acknowledged, and sent longer than the latency (plus
 * the round trip and a margin) before the receiver was last seen alive.
 */

#include "dashcambacklog.h"

void
dashcam_gap_list_init (DashcamGapList * list)
{
  list->gaps = g_array_new (FALSE, FALSE, sizeof (DashcamGap));
  list->n_forgotten = 0;
  list->forgotten_time = 0;
}

void
dashcam_gap_list_clear (DashcamGapList * list)
{
  g_clear_pointer (&list->gaps, g_array_unref);
}

gboolean
dashcam_gap_list_is_open (const DashcamGapList * list)
{
  return list->gaps->len > 0 && !GST_CLOCK_TIME_IS_VALID (g_array_index
      (list->gaps, DashcamGap, list->gaps->len - 1).end);
}

/**
 * dashcam_gap_list_open:
 * @list: a #DashcamGapList
 * @start: where the gap starts (%GST_CLOCK_TIME_NONE: from the beginning)
 *
 * Opens a gap, or moves the start of the open gap back to @start.
 *
 * Returns: %TRUE if a gap was opened (%FALSE: one was open already)
 */
gboolean
dashcam_gap_list_open (DashcamGapList * list, GstClockTime start)
{
  DashcamGap gap = { start, GST_CLOCK_TIME_NONE };

  if (!GST_CLOCK_TIME_IS_VALID (gap.start))
    gap.start = 0;
  if (dashcam_gap_list_is_open (list)) {
    DashcamGap *open = &g_array_index (list->gaps, DashcamGap,
        list->gaps->len - 1);

    open->start = MIN (open->start, gap.start);
    return FALSE;
  }
  g_array_append_val (list->gaps, gap);
  return TRUE;
}

/**
 * dashcam_gap_list_close:
 * @list: a #DashcamGapList
 * @end: where live data reaches the server again
 *
 * Returns: %TRUE if an open gap was closed
 */
gboolean
dashcam_gap_list_close (DashcamGapList * list, GstClockTime end)
{
  DashcamGap *gap;

  if (!dashcam_gap_list_is_open (list))
    return FALSE;
  gap = &g_array_index (list->gaps, DashcamGap, list->gaps->len - 1);
  gap->end = MAX (end, gap->start);
  return TRUE;
}

/**
 * dashcam_gap_list_overlaps:
 * @list: a #DashcamGapList
 * @start: start of a range
 * @end: end of the range (exclusive), %GST_CLOCK_TIME_NONE for open
 *
 * Returns: %TRUE if some gap overlaps [@start, @end)
 */
gboolean
dashcam_gap_list_overlaps (const DashcamGapList * list, GstClockTime start,
    GstClockTime end)
{
  guint i;

  for (i = 0; i < list->gaps->len; i++) {
    const DashcamGap *g = &g_array_index (list->gaps, DashcamGap, i);
    gboolean before = GST_CLOCK_TIME_IS_VALID (g->end) && g->end <= start;
    gboolean after = GST_CLOCK_TIME_IS_VALID (end) && g->start >= end;

    if (!before && !after)
      return TRUE;
  }
  return FALSE;
}

/**
 * dashcam_gap_list_total:
 * @list: a #DashcamGapList
 * @now: end of an open gap
 *
 * Returns: the time missing from the live stream, in nanoseconds
 */
GstClockTime
dashcam_gap_list_total (const DashcamGapList * list, GstClockTime now)
{
  GstClockTime total = list->forgotten_time;
  guint i;

  for (i = 0; i < list->gaps->len; i++) {
    const DashcamGap *g = &g_array_index (list->gaps, DashcamGap, i);
    GstClockTime end = GST_CLOCK_TIME_IS_VALID (g->end) ? g->end : now;

    if (GST_CLOCK_TIME_IS_VALID (end) && end > g->start)
      total += end - g->start;
  }
  return total;
}

/**
 * dashcam_gap_list_count:
 * @list: a #DashcamGapList
 *
 * Returns: the number of gaps of the run, forgotten ones included
 */
guint
dashcam_gap_list_count (const DashcamGapList * list)
{
  return list->n_forgotten + list->gaps->len;
}

/**
 * dashcam_gap_list_forget_before:
 * @list: a #DashcamGapList
 * @t: running time before which no segment can need a gap any more
 *
 * Drops the oldest closed gaps that end at or before @t, keeping them in
 * the count and the total. A pipeline runs for months: without this the
 * list grew by one gap per link outage for the whole run, and was copied
 * and searched for every segment twice a second.
 */
void
dashcam_gap_list_forget_before (DashcamGapList * list, GstClockTime t)
{
  guint n = 0;

  if (!GST_CLOCK_TIME_IS_VALID (t))
    return;
  while (n < list->gaps->len) {
    const DashcamGap *g = &g_array_index (list->gaps, DashcamGap, n);

    if (!GST_CLOCK_TIME_IS_VALID (g->end) || g->end > t)
      break;
    list->forgotten_time += g->end - g->start;
    n++;
  }
  if (n == 0)
    return;
  list->n_forgotten += n;
  g_array_remove_range (list->gaps, 0, n);
}

typedef struct
{
  guint64 packets;              /* packets sent up to the end of this mark */
  GstClockTime running_time;
  gint64 first_us;              /* when its first packet was sent */
  gint64 last_us;               /* when its last packet was sent */
} AckMark;

void
dashcam_ack_tracker_init (DashcamAckTracker * t)
{
  t->marks = g_array_new (FALSE, FALSE, sizeof (AckMark));
  t->acked = 0;
  t->confirmed = GST_CLOCK_TIME_NONE;
  t->played = GST_CLOCK_TIME_NONE;
}

void
dashcam_ack_tracker_clear (DashcamAckTracker * t)
{
  g_clear_pointer (&t->marks, g_array_unref);
}

/**
 * dashcam_ack_tracker_reset:
 * @t: a #DashcamAckTracker
 *
 * Forgets the marks of a connection that ended; keeps what was confirmed
 * and played.
 */
void
dashcam_ack_tracker_reset (DashcamAckTracker * t)
{
  g_array_set_size (t->marks, 0);
  t->acked = 0;
}

/**
 * dashcam_ack_tracker_sent:
 * @t: a #DashcamAckTracker
 * @packets_total: packets handed to SRT on this connection so far,
 *   including the ones just sent
 * @running_time: running time of the data of the last packet
 * @sent_us: monotonic time of the sending, in microseconds
 */
void
dashcam_ack_tracker_sent (DashcamAckTracker * t, guint64 packets_total,
    GstClockTime running_time, gint64 sent_us)
{
  AckMark m = { packets_total, running_time, sent_us, sent_us };

  if (!GST_CLOCK_TIME_IS_VALID (running_time))
    return;
  if (t->marks->len > 0) {
    AckMark *last = &g_array_index (t->marks, AckMark, t->marks->len - 1);

    /* one mark per running time is enough */
    if (last->running_time == running_time) {
      last->packets = packets_total;
      last->last_us = sent_us;
      return;
    }
  }
  g_array_append_val (t->marks, m);
}

/**
 * dashcam_ack_tracker_acked:
 * @t: a #DashcamAckTracker
 * @packets_acked: packets of this connection the receiver acknowledged
 *
 * Returns: the running time up to which the receiver has the live data
 * (%GST_CLOCK_TIME_NONE if nothing was acknowledged yet)
 */
GstClockTime
dashcam_ack_tracker_acked (DashcamAckTracker * t, guint64 packets_acked)
{
  guint i;

  t->acked = MAX (t->acked, packets_acked);
  for (i = 0; i < t->marks->len; i++) {
    const AckMark *m = &g_array_index (t->marks, AckMark, i);

    if (m->packets > t->acked)
      break;
    if (!GST_CLOCK_TIME_IS_VALID (t->confirmed)
        || m->running_time > t->confirmed)
      t->confirmed = m->running_time;
  }
  return t->confirmed;
}

/**
 * dashcam_ack_tracker_played:
 * @t: a #DashcamAckTracker
 * @sent_before_us: packets sent before this (monotonic, microseconds) and
 *   acknowledged count as played out: the time the receiver was last seen
 *   alive minus its latency, the round trip and a margin
 *
 * Forgets the marks before the last one played.
 *
 * Returns: the running time up to which the server surely has the live
 * data (%GST_CLOCK_TIME_NONE if nothing yet)
 */
GstClockTime
dashcam_ack_tracker_played (DashcamAckTracker * t, gint64 sent_before_us)
{
  guint n = 0;

  while (n < t->marks->len) {
    const AckMark *m = &g_array_index (t->marks, AckMark, n);

    if (m->packets > t->acked || m->last_us > sent_before_us)
      break;
    if (!GST_CLOCK_TIME_IS_VALID (t->played) || m->running_time > t->played)
      t->played = m->running_time;
    n++;
  }
  if (n > 1)
    g_array_remove_range (t->marks, 0, n - 1);
  return t->played;
}

/**
 * dashcam_ack_tracker_packet:
 * @t: a #DashcamAckTracker
 * @packet: a packet number of this connection (the first is 1)
 * @sent_us: (out): when it was sent (at the earliest)
 * @running_time: (out): the running time of its data
 *
 * Returns: %FALSE if @packet is not known (not sent, or forgotten)
 */
gboolean
dashcam_ack_tracker_packet (const DashcamAckTracker * t, guint64 packet,
    gint64 * sent_us, GstClockTime * running_time)
{
  guint i;

  for (i = 0; i < t->marks->len; i++) {
    const AckMark *m = &g_array_index (t->marks, AckMark, i);

    if (m->packets >= packet) {
      *sent_us = m->first_us;
      *running_time = m->running_time;
      return TRUE;
    }
  }
  return FALSE;
}

/**
 * dashcam_ack_tracker_last_sent:
 * @t: a #DashcamAckTracker
 *
 * Returns: the running time of the last packet sent on this connection
 * (%GST_CLOCK_TIME_NONE if none)
 */
GstClockTime
dashcam_ack_tracker_last_sent (const DashcamAckTracker * t)
{
  if (t->marks->len == 0)
    return GST_CLOCK_TIME_NONE;
  return g_array_index (t->marks, AckMark, t->marks->len - 1).running_time;
}

const gchar *
dashcam_backlog_decision_to_string (DashcamBacklogDecision d)
{
  switch (d) {
    case DASHCAM_BACKLOG_WAIT:
      return "wait";
    case DASHCAM_BACKLOG_QUEUE:
      return "queue";
    case DASHCAM_BACKLOG_LIVE_DONE:
      return "live-done";
    case DASHCAM_BACKLOG_SKIP:
      return "skip";
  }
  return "unknown";
}

/**
 * dashcam_backlog_decide:
 * @seg: a segment of the catalog
 * @run_id: the current pipeline run
 * @policy: the backlog policy
 * @gaps: the live gaps of the current run
 * @confirmed: running time up to which the server acknowledged live data
 *
 * Returns: what to do with @seg now
 */
DashcamBacklogDecision
dashcam_backlog_decide (const DashcamSegment * seg, const gchar * run_id,
    DashcamBacklogPolicy policy, const DashcamGapList * gaps,
    GstClockTime confirmed)
{
  gboolean wanted;
  GstClockTime end;

  if (!seg->complete)
    return DASHCAM_BACKLOG_WAIT;
  if (seg->uploaded || policy == DASHCAM_BACKLOG_POLICY_NONE)
    return DASHCAM_BACKLOG_SKIP;

  wanted = policy != DASHCAM_BACKLOG_POLICY_LOCKED || seg->locked;

  /* an earlier run: nobody knows what the server got of it */
  if (g_strcmp0 (seg->run_id, run_id) != 0)
    return wanted ? DASHCAM_BACKLOG_QUEUE : DASHCAM_BACKLOG_SKIP;

  if (policy == DASHCAM_BACKLOG_POLICY_ALL)
    return DASHCAM_BACKLOG_QUEUE;

  if (!GST_CLOCK_TIME_IS_VALID (seg->running_time)
      || !GST_CLOCK_TIME_IS_VALID (seg->duration))
    return wanted ? DASHCAM_BACKLOG_QUEUE : DASHCAM_BACKLOG_SKIP;
  end = seg->running_time + seg->duration;

  if (dashcam_gap_list_overlaps (gaps, seg->running_time, end))
    return wanted ? DASHCAM_BACKLOG_QUEUE : DASHCAM_BACKLOG_SKIP;
  if (GST_CLOCK_TIME_IS_VALID (confirmed) && confirmed >= end)
    return DASHCAM_BACKLOG_LIVE_DONE;
  return DASHCAM_BACKLOG_WAIT;
}
