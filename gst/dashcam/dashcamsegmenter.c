/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Segmenting a TS byte stream at random-access points.
 *
 * Split decisions use the stream's own clock (PES timestamps of the primary
 * stream), so they hold for timestamp-less input read from a file just as
 * for live muxer output. Running time, the axis shared with the other sinks
 * of a pipeline, is derived from the buffer timestamps: mpegtsmux stamps a
 * buffer with the running time of the DTS of the PES it starts, so
 * running_time = dts + (buffer_rt - dts) holds for every frame.
 */

#include "dashcamsegmenter.h"

#include <string.h>


/**
 * dashcam_segmenter_init:
 * @seg: segmenter to initialise
 * @funcs: callbacks, copied
 * @user_data: passed to @funcs
 *
 * Prepares @seg for a new stream. No segment is open until the first
 * random-access point.
 */
void
dashcam_segmenter_init (DashcamSegmenter * seg,
    const DashcamSegmenterFuncs * funcs, gpointer user_data)
{
  memset (seg, 0, sizeof (*seg));
  dashcam_ts_parser_init (&seg->parser);
  seg->funcs = *funcs;
  seg->user_data = user_data;
  seg->start.running_time = GST_CLOCK_TIME_NONE;
  seg->chunk_running_time = GST_CLOCK_TIME_NONE;
  seg->resume_rt = GST_CLOCK_TIME_NONE;
}

/**
 * dashcam_segmenter_set_limits:
 * @seg: a #DashcamSegmenter
 * @target_duration: split at the first random-access point at least this
 *   long after the segment start, in nanoseconds (0 = no limit)
 * @max_bytes: split at the first random-access point once the segment holds
 *   this many bytes (0 = no limit)
 *
 * Sets the limits of the current segment; call it from the split callback
 * to give each segment its own.
 */
void
dashcam_segmenter_set_limits (DashcamSegmenter * seg, guint64 target_duration,
    guint64 max_bytes)
{
  seg->target_duration = target_duration;
  seg->max_bytes = max_bytes;
}

/**
 * dashcam_segmenter_request_split:
 * @seg: a #DashcamSegmenter
 *
 * Makes the next random-access point start a new segment.
 */
void
dashcam_segmenter_request_split (DashcamSegmenter * seg)
{
  seg->split_requested = TRUE;
}

/**
 * dashcam_segmenter_pts_to_running_time:
 * @seg: a #DashcamSegmenter
 * @pts: a time on the stream clock, nanoseconds
 *
 * Returns: the running time of @pts, or %GST_CLOCK_TIME_NONE before the
 * first timestamp
 */
GstClockTime
dashcam_segmenter_pts_to_running_time (DashcamSegmenter * seg, guint64 pts)
{
  gint64 rt;

  if (!seg->have_rt_offset)
    return GST_CLOCK_TIME_NONE;
  rt = (gint64) pts + seg->rt_offset;
  return rt < 0 ? 0 : (GstClockTime) rt;
}

/**
 * dashcam_segmenter_current_duration:
 * @seg: a #DashcamSegmenter
 *
 * Returns: how long the open segment is so far (up to the end of its last
 * frame), in nanoseconds; 0 when no segment is open
 */
guint64
dashcam_segmenter_current_duration (DashcamSegmenter * seg)
{
  guint64 end;

  if (!seg->open)
    return 0;
  /* what came after a discontinuity belongs to the next segment */
  if (seg->discont)
    return seg->discont_duration;
  if (!seg->have_max_pts)
    return 0;
  end = seg->max_pts + seg->frame_duration;
  return end > seg->start.pts ? end - seg->start.pts : 0;
}

/**
 * dashcam_segmenter_ending_duration:
 * @seg: a #DashcamSegmenter
 * @point: the split point passed to the split callback
 *
 * Call it from the split callback.
 *
 * Returns: the duration of the segment that ends at @point, in
 * nanoseconds: up to @point, or up to the end of its last frame when the
 * timestamps jumped in between; 0 when no segment was open
 */
guint64
dashcam_segmenter_ending_duration (DashcamSegmenter * seg,
    const DashcamSplitPoint * point)
{
  if (!seg->open)
    return 0;
  if (seg->discont)
    return seg->discont_duration;
  return point->pts > seg->start.pts ? point->pts - seg->start.pts : 0;
}

/* Running time of the end of the last frame seen, or NONE. */
static GstClockTime
end_running_time (DashcamSegmenter * seg)
{
  if (!seg->have_max_pts || !seg->have_rt_offset)
    return seg->resume_rt;
  return dashcam_segmenter_pts_to_running_time (seg,
      seg->max_pts + seg->frame_duration);
}

/* Forgets the stream clock: the next timestamps start another one, whose
 * running time resumes after the last frame of this one. */
static void
forget_stream_clock (DashcamSegmenter * seg)
{
  GstClockTime end = end_running_time (seg);

  if (GST_CLOCK_TIME_IS_VALID (end) && (!GST_CLOCK_TIME_IS_VALID
          (seg->resume_rt) || end > seg->resume_rt))
    seg->resume_rt = end;
  seg->have_max_pts = FALSE;
  seg->rt_offset_from_buffers = FALSE;
  seg->have_rt_offset = FALSE;
  seg->last_dts = 0;
}

static void
emit (DashcamSegmenter * seg, const guint8 * data, gsize len)
{
  if (len == 0)
    return;
  if (seg->open)
    seg->bytes += len;
  seg->funcs.write (seg->user_data, seg->open, data, len);
}

static void
emit_held (DashcamSegmenter * seg)
{
  if (seg->n_held > 0)
    emit (seg, seg->held[0], seg->n_held * DASHCAM_TS_PACKET_SIZE);
  seg->n_held = 0;
}

/* @pending: bytes of the current segment not handed out yet */
static gboolean
should_split (DashcamSegmenter * seg, const DashcamTsPacketInfo * info,
    gsize pending)
{
  guint64 bytes = seg->bytes + pending;
  guint64 tolerance;
  gint64 elapsed;

  if (!seg->open || seg->split_requested || seg->discont)
    return TRUE;
  if (!info->has_pts)
    return seg->max_bytes > 0 && bytes >= seg->max_bytes;

  elapsed = (gint64) (info->pts - seg->start.pts);
  if (elapsed < 0)              /* timestamps went back: a new stream */
    return TRUE;
  /* A keyframe requested for the target can land up to a frame early on
   * our clock: the encoder's running time and ours, derived from the
   * muxer's timestamps, differ by rounding and by the muxer's start. */
  tolerance = MAX (DASHCAM_SPLIT_TOLERANCE, seg->frame_duration * 9 / 10);
  if (seg->target_duration > 0
      && (guint64) elapsed + tolerance >= seg->target_duration)
    return TRUE;
  return seg->max_bytes > 0 && bytes >= seg->max_bytes;
}

static void
start_segment (DashcamSegmenter * seg, const DashcamTsPacketInfo * info)
{
  DashcamSplitPoint point;

  point.pts = info->has_pts ? info->pts : seg->max_pts;
  point.running_time = dashcam_segmenter_pts_to_running_time (seg, point.pts);

  /* the callback still sees the state of the segment that ends here */
  seg->funcs.split (seg->user_data, &point);
  seg->open = TRUE;
  seg->split_requested = FALSE;
  seg->discont = FALSE;
  seg->bytes = 0;
  seg->start = point;

  /* The cached tables are the latest ones, so they equal what is held when
   * the muxer sent them right before this frame; tables too large for the
   * cache only exist in the held copy. */
  if (seg->parser.have_pat && seg->parser.have_pmt) {
    seg->n_held = 0;
    emit (seg, seg->parser.pat, DASHCAM_TS_PACKET_SIZE);
    emit (seg, seg->parser.pmt, DASHCAM_TS_PACKET_SIZE);
  } else {
    emit_held (seg);
  }
}

/* The running time of @info's DTS from the current buffer's: never
 * before the last frame's (a flush or a new segment upstream restarted
 * the pipeline's running time: ours goes on, rt_base later). */
static GstClockTime
buffer_running_time (DashcamSegmenter * seg, const DashcamTsPacketInfo * info)
{
  GstClockTime rt = seg->chunk_running_time + seg->rt_base;
  GstClockTime floor = seg->resume_rt;

  if (!GST_CLOCK_TIME_IS_VALID (floor) && seg->have_rt_offset
      && seg->have_max_pts)
    floor = dashcam_segmenter_pts_to_running_time (seg, seg->last_dts);
  if (GST_CLOCK_TIME_IS_VALID (floor) && rt + GST_SECOND < floor) {
    seg->rt_base += floor - rt;
    rt = floor;
  }
  return rt;
}

static void
track_time (DashcamSegmenter * seg, const DashcamTsPacketInfo * info)
{
  if (seg->have_max_pts && (info->pts + GST_SECOND < seg->max_pts
          || info->pts > seg->max_pts + DASHCAM_MAX_TIMESTAMP_JUMP)) {
    /* another recording: the open segment ends with its last frame, and
     * splits at the next random-access point */
    if (seg->open && !seg->discont) {
      seg->discont_duration = dashcam_segmenter_current_duration (seg);
      seg->discont = TRUE;
    }
    forget_stream_clock (seg);
  }
  if (!seg->chunk_offset_done
      && GST_CLOCK_TIME_IS_VALID (seg->chunk_running_time)) {
    /* Running time cannot be negative: the first buffers of a stream whose
     * DTS starts before its PTS (B-frames) are stamped 0 instead of their
     * negative DTS. Until a later buffer tells, assume that the first
     * frame is shown at running time 0, as encoders start. */
    gboolean clamped = seg->chunk_running_time == 0 && info->dts < info->pts;

    if (!clamped) {
      seg->rt_offset = (gint64) buffer_running_time (seg, info) -
          (gint64) info->dts;
      seg->rt_offset_from_buffers = TRUE;
    } else if (!seg->rt_offset_from_buffers) {
      seg->rt_offset = (GST_CLOCK_TIME_IS_VALID (seg->resume_rt) ?
          (gint64) seg->resume_rt : 0) - (gint64) info->pts;
    }
    seg->have_rt_offset = TRUE;
    seg->chunk_offset_done = TRUE;
    seg->resume_rt = GST_CLOCK_TIME_NONE;
  } else if (!seg->have_rt_offset) {
    /* no buffer timestamps: running time counts from the first frame, and
     * the frames of a later recording follow those of the earlier one */
    seg->rt_offset = (GST_CLOCK_TIME_IS_VALID (seg->resume_rt) ?
        (gint64) seg->resume_rt : 0) - (gint64) info->pts;
    seg->have_rt_offset = TRUE;
    seg->resume_rt = GST_CLOCK_TIME_NONE;
  }

  if (!seg->have_max_pts || info->pts > seg->max_pts)
    seg->max_pts = info->pts;
  if (seg->have_max_pts && info->dts > seg->last_dts
      && (seg->frame_duration == 0
          || info->dts - seg->last_dts < seg->frame_duration))
    seg->frame_duration = info->dts - seg->last_dts;
  seg->last_dts = info->dts;
  seg->have_max_pts = TRUE;
}

/* Handles @n whole packets, all starting with a sync byte. */
static void
handle_packets (DashcamSegmenter * seg, const guint8 * data, gsize n)
{
  const guint8 *span = data;
  gsize i;

  for (i = 0; i < n; i++) {
    const guint8 *packet = data + i * DASHCAM_TS_PACKET_SIZE;
    DashcamTsPacketInfo info;

    /* fast path: a packet that continues a PES changes nothing */
    if (!(packet[1] & 0x40) && seg->n_held == 0) {
      guint16 pid = ((packet[1] & 0x1f) << 8) | packet[2];

      if (pid != DASHCAM_TS_PID_PAT && pid != seg->parser.pmt_pid)
        continue;
    }
    dashcam_ts_parser_parse (&seg->parser, packet, &info);

    if (info.is_pat || info.is_pmt) {
      emit (seg, span, packet - span);
      if (seg->n_held == G_N_ELEMENTS (seg->held))
        emit_held (seg);
      memcpy (seg->held[seg->n_held++], packet, DASHCAM_TS_PACKET_SIZE);
      span = packet + DASHCAM_TS_PACKET_SIZE;
      continue;
    }

    if (info.is_primary && info.has_pts)
      track_time (seg, &info);

    if (info.random_access && should_split (seg, &info,
            seg->n_held * DASHCAM_TS_PACKET_SIZE + (packet - span))) {
      emit (seg, span, packet - span);
      start_segment (seg, &info);
      span = packet;
    } else if (seg->n_held > 0) {
      emit (seg, span, packet - span);
      emit_held (seg);
      span = packet;
    }
  }
  emit (seg, span, data + n * DASHCAM_TS_PACKET_SIZE - span);
}

/* Handles the packet that was split across chunks, once complete. */
static gsize
complete_carry (DashcamSegmenter * seg, const guint8 * data, gsize len)
{
  gsize take = MIN (len, DASHCAM_TS_PACKET_SIZE - seg->carry_len);

  memcpy (seg->carry + seg->carry_len, data, take);
  seg->carry_len += take;
  if (seg->carry_len == DASHCAM_TS_PACKET_SIZE) {
    handle_packets (seg, seg->carry, 1);
    seg->carry_len = 0;
  }
  return take;
}

/* The first offset in [from, to) where a packet starts that is followed by
 * another one, or -1. */
static gssize
confirmed_sync (const guint8 * data, gsize len, gsize from, gsize to)
{
  gsize j;

  for (j = from; j < to && j + DASHCAM_TS_PACKET_SIZE < len; j++) {
    if (data[j] == DASHCAM_TS_SYNC_BYTE
        && data[j + DASHCAM_TS_PACKET_SIZE] == DASHCAM_TS_SYNC_BYTE)
      return j;
  }
  return -1;
}

/**
 * dashcam_segmenter_push:
 * @seg: a #DashcamSegmenter
 * @data: the next bytes of the stream, any length, any alignment
 * @len: length of @data
 * @running_time: running time of @data (of its first byte), or
 *   %GST_CLOCK_TIME_NONE
 *
 * Feeds bytes. Calls the write and split callbacks synchronously.
 */
void
dashcam_segmenter_push (DashcamSegmenter * seg, const guint8 * data,
    gsize len, GstClockTime running_time)
{
  gsize pos = 0;

  seg->chunk_running_time = running_time;
  seg->chunk_offset_done = FALSE;

  if (seg->carry_len > 0)
    pos = complete_carry (seg, data, len);

  while (pos < len) {
    gsize run = 0;
    gssize sync;

    while (pos + (run + 1) * DASHCAM_TS_PACKET_SIZE <= len) {
      gsize p = pos + run * DASHCAM_TS_PACKET_SIZE;
      gsize next = p + DASHCAM_TS_PACKET_SIZE;

      if (data[p] != DASHCAM_TS_SYNC_BYTE)
        break;
      run++;
      if (next < len && data[next] != DASHCAM_TS_SYNC_BYTE) {
        /* garbage follows, or this is a stray 0x47 in garbage and a real
         * packet starts inside it */
        if (confirmed_sync (data, len, p + 1, next) >= 0)
          run--;
        break;
      }
    }
    if (run > 0) {
      handle_packets (seg, data + pos, run);
      pos += run * DASHCAM_TS_PACKET_SIZE;
      continue;
    }
    if (data[pos] == DASHCAM_TS_SYNC_BYTE
        && pos + DASHCAM_TS_PACKET_SIZE > len) {
      /* a packet continues in the next chunk */
      pos += complete_carry (seg, data + pos, len - pos);
      continue;
    }
    /* pos is garbage (a stray sync byte at most): skip to the next sync */
    sync = dashcam_ts_find_sync (data + pos + 1, len - pos - 1);
    if (sync >= 0)
      sync++;
    if (sync < 0)
      sync = len - pos;
    seg->skipped_bytes += sync;
    pos += sync;
  }
}

/**
 * dashcam_segmenter_finish:
 * @seg: a #DashcamSegmenter
 *
 * At the end of the stream: writes PAT/PMT still held back to the current
 * segment and drops (counts in skipped_bytes) an incomplete last packet.
 */
void
dashcam_segmenter_finish (DashcamSegmenter * seg)
{
  emit_held (seg);
  seg->skipped_bytes += seg->carry_len;
  seg->carry_len = 0;
}

/**
 * dashcam_segmenter_flush:
 * @seg: a #DashcamSegmenter
 *
 * After a flush upstream (a seek): forgets the data of the old position (a
 * partial packet, PAT/PMT held back) and the open segment; the next
 * random-access point starts a new one. What is known of the stream
 * (tables, primary stream) is kept, and running time goes on from the last
 * frame seen even when the pipeline's restarts.
 */
void
dashcam_segmenter_flush (DashcamSegmenter * seg)
{
  forget_stream_clock (seg);
  seg->carry_len = 0;
  seg->n_held = 0;
  seg->open = FALSE;
  seg->split_requested = FALSE;
  seg->discont = FALSE;
  seg->bytes = 0;
  seg->start.pts = 0;
  seg->start.running_time = GST_CLOCK_TIME_NONE;
  seg->chunk_running_time = GST_CLOCK_TIME_NONE;
  seg->chunk_offset_done = FALSE;
}
