/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef __DASHCAM_SEGMENTER_H__
#define __DASHCAM_SEGMENTER_H__

#include <gst/gst.h>
#include "dashcamts.h"

G_BEGIN_DECLS

/* A random-access point this close before the target still ends the
 * segment: timestamps are rounded to 90 kHz ticks in the muxer. */
#define DASHCAM_SPLIT_TOLERANCE (5 * GST_MSECOND)

/* Timestamps of the primary stream that go back by more than a second or
 * forward by more than this belong to another recording (files put end to
 * end, an encoder restarted): a discontinuity. */
#define DASHCAM_MAX_TIMESTAMP_JUMP (10 * GST_SECOND)

/**
 * DashcamSplitPoint:
 * @pts: presentation time of the random-access frame, nanoseconds on the
 *   stream clock (see #DashcamTsPacketInfo)
 * @running_time: running time of that frame: derived from the buffer
 *   timestamps when upstream sets them, else counted from the first frame
 *   of the stream
 *
 * Where a segment starts.
 */
typedef struct
{
  guint64 pts;
  GstClockTime running_time;
} DashcamSplitPoint;

/**
 * DashcamSegmenterFuncs:
 * @write: bytes that belong to the current segment (only valid during the
 *   call). Called with data before the first segment starts too, with
 *   @open FALSE: such bytes cannot be decoded on their own.
 * @split: the next @write starts a new segment at @point. It always begins
 *   with the PAT and the PMT (when the stream had them), then the
 *   random-access packet.
 */
typedef struct
{
  void (*write) (gpointer user_data, gboolean open, const guint8 * data,
      gsize len);
  void (*split) (gpointer user_data, const DashcamSplitPoint * point);
} DashcamSegmenterFuncs;

/**
 * DashcamSegmenter:
 *
 * Cuts a TS byte stream into independently decodable segments: finds
 * packet boundaries in arbitrary chunks, resynchronises on garbage, splits
 * at random-access points of the primary stream once the segment reached
 * its target duration or size (or a split was requested), and starts every
 * segment with the PAT and PMT. Hands out data in place, in as few spans
 * as possible. Not thread-safe: one streaming thread owns it.
 */
typedef struct
{
  DashcamTsParser parser;
  DashcamSegmenterFuncs funcs;
  gpointer user_data;

  /* settings for the current segment */
  guint64 target_duration;
  guint64 max_bytes;
  gboolean split_requested;

  /* a packet cut across two input chunks */
  guint8 carry[DASHCAM_TS_PACKET_SIZE];
  gsize carry_len;

  /* PAT/PMT packets waiting to see whether a segment starts after them */
  guint8 held[2][DASHCAM_TS_PACKET_SIZE];
  guint n_held;

  gboolean open;
  DashcamSplitPoint start;
  guint64 bytes;                /* written to the current segment */

  /* running_time = pts + rt_offset */
  gboolean have_rt_offset;
  gboolean rt_offset_from_buffers;
  gint64 rt_offset;
  GstClockTime chunk_running_time;
  gboolean chunk_offset_done;

  gboolean have_max_pts;
  guint64 max_pts;
  guint64 last_dts;
  guint64 frame_duration;

  guint64 skipped_bytes;        /* garbage between packets, partial packets */

  /* Running time never goes back within a stream: after a timestamp
   * discontinuity or a flush it resumes where it was (resume_rt), and
   * buffer running times that went back get rt_base added. A segment that
   * saw a discontinuity keeps the duration it had then. */
  GstClockTime resume_rt;
  guint64 rt_base;
  gboolean discont;
  guint64 discont_duration;
} DashcamSegmenter;

void dashcam_segmenter_init (DashcamSegmenter * seg,
    const DashcamSegmenterFuncs * funcs, gpointer user_data);

void dashcam_segmenter_set_limits (DashcamSegmenter * seg,
    guint64 target_duration, guint64 max_bytes);

void dashcam_segmenter_request_split (DashcamSegmenter * seg);

void dashcam_segmenter_push (DashcamSegmenter * seg, const guint8 * data,
    gsize len, GstClockTime running_time);

void dashcam_segmenter_finish (DashcamSegmenter * seg);

void dashcam_segmenter_flush (DashcamSegmenter * seg);

GstClockTime dashcam_segmenter_pts_to_running_time (DashcamSegmenter * seg,
    guint64 pts);

guint64 dashcam_segmenter_current_duration (DashcamSegmenter * seg);

guint64 dashcam_segmenter_ending_duration (DashcamSegmenter * seg,
    const DashcamSplitPoint * point);

G_END_DECLS

#endif /* __DASHCAM_SEGMENTER_H__ */
