/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* looprecsink against real encoders, real files and ffmpeg's opinion of
 * them. */

#include "dashcamtestutil.h"

#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gst/app/gstappsrc.h>

#define SECOND_NS G_GUINT64_CONSTANT (1000000000)
#define FRAME_S (1.0 / 30.0)

#define ENCODE_CHAIN \
  "videotestsrc num-buffers=%u pattern=ball ! " \
  "video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! " \
  "x264enc key-int-max=%u ! h264parse ! mpegtsmux ! "

static gboolean
have_encoder (void)
{
  return dc_have_elements ("videotestsrc", "x264enc", "h264parse",
      "mpegtsmux", NULL) && dc_have_ffmpeg ();
}

/* Noise at 2 Mbit/s: ~270 KB a second, for filling disks. */
#define NOISE_CHAIN \
  "videotestsrc num-buffers=%u pattern=snow ! " \
  "video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! " \
  "x264enc key-int-max=%u bitrate=2000 speed-preset=ultrafast ! " \
  "h264parse ! mpegtsmux ! "

static DcRunResult *
record_chain (const gchar * chain, const gchar * dir, guint frames,
    guint key_int, const gchar * props)
{
  gchar *fmt = g_strconcat (chain, "looprecsink location=%s %s", NULL);
  gchar *desc = g_strdup_printf (fmt, frames, key_int, dir,
      props ? props : "");
  DcRunResult *r = dc_run_launch (desc, 180);

  g_free (desc);
  g_free (fmt);
  return r;
}

static DcRunResult *
record (const gchar * dir, guint frames, guint key_int, const gchar * props)
{
  return record_chain (ENCODE_CHAIN, dir, frames, key_int, props);
}

/* Every frame of the input, once, in order, across the segments. */
static void
assert_frames_in_order (GPtrArray * segments, guint expected)
{
  gint64 prev_max = G_MININT64;
  guint i, j, total = 0;

  for (i = 0; i < segments->len; i++) {
    GArray *pts = dc_ffprobe_video_pts (g_ptr_array_index (segments, i));

    fail_unless (pts->len > 0);
    fail_unless (g_array_index (pts, gint64, 0) > prev_max,
        "segment %u overlaps the previous one", i);
    for (j = 1; j < pts->len; j++)
      fail_unless (g_array_index (pts, gint64, j) > g_array_index (pts,
              gint64, j - 1), "duplicate frame in segment %u", i);
    prev_max = g_array_index (pts, gint64, pts->len - 1);
    total += pts->len;
    g_array_unref (pts);
  }
  fail_unless_equals_int (total, expected);
}

/* 1. x264enc key-int-max=15, 600 frames, 4 s segments. */
GST_START_TEST (test_keyframe_aligned_segments)
{
  gchar *dir = dc_make_tmpdir ();
  DcRunResult *r;
  GPtrArray *segs;
  guint i;

  if (!have_encoder ())
    goto out;
  r = record (dir, 600, 15, "max-size-time=4000000000");
  dc_assert_clean_run (r);
  segs = dc_list_files (dir, ".ts");
  fail_unless_equals_int (segs->len, 5);
  fail_unless_equals_int (dc_count_messages (r, "looprecsink-segment-closed"),
      5);
  fail_unless_equals_int (dc_list_files (dir, ".part")->len, 0);

  for (i = 0; i < segs->len; i++) {
    const gchar *path = g_ptr_array_index (segs, i);
    gdouble d = dc_ffprobe_video_duration (path);
    GstStructure *closed = dc_find_message (r, "looprecsink-segment-closed",
        i);
    guint64 size, dur;

    dc_assert_segment_plays (path);
    fail_unless (d > 4.0 - 0.5 - 0.001 && d < 4.0 + 0.5 + 0.001,
        "segment %u lasts %f s", i, d);
    fail_unless (gst_structure_get_uint64 (closed, "size", &size));
    fail_unless_equals_uint64 (size, dc_file_size (path));
    fail_unless (gst_structure_get_uint64 (closed, "duration", &dur));
    fail_unless (ABS ((gdouble) dur / SECOND_NS - d) < 0.002,
        "message says %" G_GUINT64_FORMAT " ns, file has %f s", dur, d);
    fail_unless_equals_string (gst_structure_get_string (closed, "location"),
        path);
  }
  assert_frames_in_order (segs, 600);
  g_ptr_array_unref (segs);
  dc_run_result_free (r);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* 2. Raw bytes from filesrc: no timestamps, no flags, odd chunk sizes. */
GST_START_TEST (test_raw_bytes_from_file)
{
  gchar *dir = dc_make_tmpdir (), *out = g_build_filename (dir, "out", NULL);
  gchar *src, *desc;
  DcRunResult *r;
  GPtrArray *segs;
  guint i;

  if (!have_encoder ())
    goto done;
  src = dc_make_ts (dir, "x.ts", 600, 15, NULL);
  desc = g_strdup_printf ("filesrc location=%s blocksize=1000 ! looprecsink "
      "location=%s max-size-time=4000000000", src, out);
  r = dc_run_launch (desc, 60);
  dc_assert_clean_run (r);

  segs = dc_list_files (out, ".ts");
  fail_unless_equals_int (segs->len, 5);
  for (i = 0; i < segs->len; i++) {
    gdouble d = dc_ffprobe_video_duration (g_ptr_array_index (segs, i));

    dc_assert_segment_plays (g_ptr_array_index (segs, i));
    fail_unless (d > 3.5 - 0.001 && d < 4.5 + 0.001, "segment %u: %f s", i,
        d);
  }
  assert_frames_in_order (segs, 600);

  g_ptr_array_unref (segs);
  dc_run_result_free (r);
  g_free (desc);
  g_free (src);
done:
  dc_rm_rf (dir);
  g_free (dir);
  g_free (out);
}

GST_END_TEST;

/* Records @frames 320x240 30 fps frames of `videotestsrc @src_props`
 * through x264enc with a GOP longer than the run, so that every split is
 * a keyframe looprecsink asked for, in segments of @segment_s; checks
 * that @expect_segments files came out, that they play and hold every
 * frame in order. Returns the durations of all but the last segment (the
 * short remainder), NULL without an encoder. */
static GArray *
record_requested_keyframes (const gchar * dir, const gchar * src_props,
    guint frames, guint segment_s, guint expect_segments)
{
  GArray *durations;
  DcRunResult *r;
  GPtrArray *segs;
  gchar *desc;
  guint i;

  if (!have_encoder ())
    return NULL;
  desc = g_strdup_printf ("videotestsrc %s num-buffers=%u pattern=ball ! "
      "video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! "
      "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=300 ! "
      "h264parse ! mpegtsmux ! looprecsink location=%s "
      "max-size-time=%" G_GUINT64_FORMAT, src_props, frames, dir,
      (guint64) segment_s * GST_SECOND);
  r = dc_run_launch (desc, 60);
  dc_assert_clean_run (r);
  segs = dc_list_files (dir, ".ts");
  fail_unless_equals_int (segs->len, expect_segments);
  durations = g_array_new (FALSE, FALSE, sizeof (gdouble));
  for (i = 0; i + 1 < segs->len; i++) {
    gdouble d = dc_ffprobe_video_duration (g_ptr_array_index (segs, i));

    dc_assert_segment_plays (g_ptr_array_index (segs, i));
    g_array_append_val (durations, d);
  }
  assert_frames_in_order (segs, frames);
  g_ptr_array_unref (segs);
  dc_run_result_free (r);
  g_free (desc);
  return durations;
}

/* 3. Keyframe requests: GOP of 10 s, segments of 2 s, live encoder. */
GST_START_TEST (test_keyframe_requests)
{
  gchar *dir = dc_make_tmpdir ();
  GArray *durations;
  guint i;

  /* 250 frames = 8.33 s: four full segments and a short last one */
  durations = record_requested_keyframes (dir, "is-live=true", 250, 2, 5);
  for (i = 0; durations && i < durations->len; i++) {
    gdouble d = g_array_index (durations, gdouble, i);

    fail_unless (ABS (d - 2.0) <= FRAME_S + 0.001, "segment %u: %f s", i, d);
  }
  if (durations)
    g_array_unref (durations);
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* The encoder's running time ahead of ours: videotestsrc stamps its frames
 * from 30 ms (a live source's first capture is that late), mpegtsmux's
 * output counts from its own start. The keyframe asked for at 3 s lands a
 * frame early on our clock: the segment ends there (the encoder announced
 * it) and the next requests land on the target; they were 3.1 s long,
 * each, before. */
GST_START_TEST (test_keyframe_requests_clock_ahead)
{
  gchar *dir = dc_make_tmpdir ();
  GArray *durations;
  guint i;

  /* 300 frames = 10 s: three full segments and a short last one */
  durations = record_requested_keyframes (dir, "timestamp-offset=30000000",
      300, 3, 4);
  for (i = 0; durations && i < durations->len; i++) {
    gdouble d = g_array_index (durations, gdouble, i);

    if (i == 0)
      fail_unless (d >= 3.0 - FRAME_S - 0.001 && d <= 3.001,
          "segment 0: %f s", d);
    else
      fail_unless (ABS (d - 3.0) <= 0.001, "segment %u: %f s", i, d);
  }
  if (durations)
    g_array_unref (durations);
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* Checks the deleted messages and that the survivors are the newest. */
static void
assert_kept_newest (DcRunResult * r, const gchar * dir, guint expect_kept,
    const gchar * reason)
{
  guint closed = dc_count_messages (r, "looprecsink-segment-closed");
  guint deleted = dc_count_messages (r, "looprecsink-segment-deleted");
  GPtrArray *segs = dc_list_files (dir, ".ts");
  guint i;

  fail_unless_equals_int (segs->len, expect_kept);
  fail_unless_equals_int (closed - deleted, expect_kept);
  for (i = 0; i < deleted; i++) {
    GstStructure *s = dc_find_message (r, "looprecsink-segment-deleted", i);
    GstStructure *c = dc_find_message (r, "looprecsink-segment-closed", i);
    gboolean uploaded = TRUE;

    /* oldest first */
    fail_unless_equals_string (gst_structure_get_string (s, "location"),
        gst_structure_get_string (c, "location"));
    fail_unless_equals_string (gst_structure_get_string (s, "reason"), reason);
    fail_unless (gst_structure_get_boolean (s, "uploaded", &uploaded));
    fail_if (uploaded, "nothing was uploaded, the message must say so");
  }
  for (i = 0; i < segs->len; i++) {
    GstStructure *c = dc_find_message (r, "looprecsink-segment-closed",
        deleted + i);

    fail_unless_equals_string (gst_structure_get_string (c, "location"),
        g_ptr_array_index (segs, i));
    dc_assert_segment_plays (g_ptr_array_index (segs, i));
  }
  g_ptr_array_unref (segs);
}

/* align-to-wall-clock: live segments start at wall-clock multiples. */
GST_START_TEST (test_align_to_wall_clock)
{
  gchar *dir = dc_make_tmpdir (), *desc;
  DcRunResult *r;
  guint i, opened;

  if (!have_encoder ())
    goto out;
  desc = g_strdup_printf ("videotestsrc is-live=true num-buffers=270 "
      "pattern=ball ! video/x-raw,format=I420,width=320,height=240,"
      "framerate=30/1 ! x264enc tune=zerolatency speed-preset=ultrafast "
      "key-int-max=300 ! h264parse ! mpegtsmux ! looprecsink location=%s "
      "max-size-time=2000000000 align-to-wall-clock=true", dir);
  r = dc_run_launch (desc, 60);
  dc_assert_clean_run (r);
  opened = dc_count_messages (r, "looprecsink-segment-opened");
  fail_unless (opened >= 3, "%u segments in 9 s", opened);
  /* every segment after the first starts just after an even second */
  for (i = 1; i < opened; i++) {
    gint64 wall;
    gint64 phase;

    fail_unless (gst_structure_get_int64 (dc_find_message (r,
                "looprecsink-segment-opened", i), "wall-time", &wall));
    phase = wall % (2 * G_USEC_PER_SEC);
    fail_unless (phase < 300000 || phase > 2 * G_USEC_PER_SEC - 50000,
        "segment %u opened %" G_GINT64_FORMAT " us after a 2 s boundary", i,
        phase);
  }
  dc_run_result_free (r);
  g_free (desc);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* 4a. max-files */
GST_START_TEST (test_retention_max_files)
{
  gchar *dir = dc_make_tmpdir ();
  DcRunResult *r;

  if (!have_encoder ())
    goto out;
  r = record (dir, 300, 15, "max-size-time=1000000000 max-files=3");
  dc_assert_clean_run (r);
  fail_unless_equals_int (dc_count_messages (r, "looprecsink-segment-closed"),
      10);
  assert_kept_newest (r, dir, 3, "max-files");
  dc_run_result_free (r);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* 4b. max-total-bytes */
GST_START_TEST (test_retention_max_total_bytes)
{
  gchar *dir = dc_make_tmpdir ();
  DcRunResult *r;
  GPtrArray *segs;
  guint64 total = 0, limit = 0, one;
  gchar *props;
  guint i;

  if (!have_encoder ())
    goto out;
  /* learn the size of a segment first */
  r = record (dir, 60, 15, "max-size-time=1000000000");
  dc_assert_clean_run (r);
  fail_unless (gst_structure_get_uint64 (dc_find_message (r,
              "looprecsink-segment-closed", 0), "size", &one));
  dc_run_result_free (r);
  dc_rm_rf (dir);

  limit = one * 7 / 2;
  props = g_strdup_printf ("max-size-time=1000000000 max-total-bytes=%"
      G_GUINT64_FORMAT, limit);
  r = record (dir, 300, 15, props);
  dc_assert_clean_run (r);
  segs = dc_list_files (dir, ".ts");
  for (i = 0; i < segs->len; i++)
    total += dc_file_size (g_ptr_array_index (segs, i));
  fail_unless (total <= limit, "%" G_GUINT64_FORMAT " > %" G_GUINT64_FORMAT,
      total, limit);
  fail_unless (segs->len >= 2 && segs->len <= 4, "%u kept", segs->len);
  assert_kept_newest (r, dir, segs->len, "max-total-bytes");
  g_ptr_array_unref (segs);
  dc_run_result_free (r);
  g_free (props);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

static guint64
fs_free (const gchar * dir)
{
  struct statvfs st;

  fail_unless (statvfs (dir, &st) == 0);
  return (guint64) st.f_bavail * st.f_frsize;
}

/* 4c. min-free-bytes on a small tmpfs */
GST_START_TEST (test_retention_min_free_bytes)
{
  gchar *dir = dc_make_tmpdir ();
  DcRunResult *r;
  GPtrArray *segs;
  guint64 largest = 0;
  guint i;

  if (!have_encoder () || !dc_mount_tmpfs (dir, "8m"))
    goto out;
  /* ~270 KB/s of video for 20 s = 5.4 MB into 8 MB keeping 5 MB free */
  r = record_chain (NOISE_CHAIN, dir, 600, 15,
      "max-size-time=1000000000 min-free-bytes=5000000");
  dc_assert_clean_run (r);
  fail_unless (dc_count_messages (r, "looprecsink-segment-deleted") > 0);
  segs = dc_list_files (dir, ".ts");
  for (i = 0; i < segs->len; i++)
    largest = MAX (largest, dc_file_size (g_ptr_array_index (segs, i)));
  fail_unless (fs_free (dir) + largest >= 5000000);
  assert_kept_newest (r, dir, segs->len, "min-free-bytes");
  g_ptr_array_unref (segs);
  dc_run_result_free (r);
  dc_umount (dir);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* 5a. Disk full: the oldest segment goes, recording continues. */
GST_START_TEST (test_disk_full_deletes_oldest)
{
  gchar *dir = dc_make_tmpdir ();
  DcRunResult *r;
  GPtrArray *segs;
  guint i, deleted;

  if (!have_encoder () || !dc_mount_tmpfs (dir, "3m"))
    goto out;
  r = record_chain (NOISE_CHAIN, dir, 600, 15, "max-size-time=1000000000");
  dc_assert_clean_run (r);
  deleted = dc_count_messages (r, "looprecsink-segment-deleted");
  fail_unless (deleted > 0);
  for (i = 0; i < deleted; i++)
    fail_unless_equals_string (gst_structure_get_string (dc_find_message (r,
                "looprecsink-segment-deleted", i), "reason"), "disk-full");
  /* the recording reached the end of the input */
  segs = dc_list_files (dir, ".ts");
  fail_unless (segs->len >= 2);
  for (i = 0; i < segs->len; i++)
    dc_assert_segment_plays (g_ptr_array_index (segs, i));
  fail_unless_equals_string (gst_structure_get_string (dc_find_message (r,
              "looprecsink-segment-closed",
              dc_count_messages (r, "looprecsink-segment-closed") - 1),
          "reason"), "eos");
  fail_unless_equals_int (dc_count_messages (r, "looprecsink-segment-closed"),
      20);
  g_ptr_array_unref (segs);
  dc_run_result_free (r);
  dc_umount (dir);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* Locks everything the first time a segment opens. */
static GstBusSyncReply
lock_all_on_open (GstBus * bus, GstMessage * msg, gpointer sink)
{
  const GstStructure *s = gst_message_get_structure (msg);

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT && s
      && gst_structure_has_name (s, "looprecsink-segment-opened")) {
    g_signal_emit_by_name (sink, "lock", (guint64) 0,
        (guint64) 3600 * SECOND_NS);
  }
  return GST_BUS_PASS;
}

/* 5b. Disk full and everything locked: a warning, dropped data, no error. */
GST_START_TEST (test_disk_full_all_locked)
{
  gchar *dir = dc_make_tmpdir (), *desc;
  GstElement *pipeline, *sink;
  GstBus *bus;
  DcRunResult *r;
  GPtrArray *segs;
  guint i;

  if (!have_encoder () || !dc_mount_tmpfs (dir, "2m"))
    goto out;
  desc = g_strdup_printf (NOISE_CHAIN "looprecsink name=rec location=%s "
      "max-size-time=1000000000", 600, 15, dir);
  pipeline = gst_parse_launch (desc, NULL);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "rec");
  bus = gst_element_get_bus (pipeline);
  gst_bus_set_sync_handler (bus, lock_all_on_open, sink, NULL);

  r = dc_run_pipeline (pipeline, 120);
  dc_assert_clean_run (r);
  fail_unless (dc_warnings_contain (r, "Disk full"));
  fail_unless_equals_int (dc_count_messages (r, "looprecsink-segment-deleted"),
      0);
  segs = dc_list_files (dir, ".ts");
  fail_unless (segs->len >= 1);
  for (i = 0; i < segs->len; i++)
    dc_assert_segment_plays (g_ptr_array_index (segs, i));
  fail_unless_equals_int (dc_list_files (dir, ".part")->len, 0);

  g_ptr_array_unref (segs);
  dc_run_result_free (r);
  gst_object_unref (bus);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  g_free (desc);
  dc_umount (dir);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

typedef struct
{
  GstElement *sink;
  guint64 now;
} LockCtx;

/* Locks [now - 10 s, now + 5 s] when the segment at 12 s opens. */
static GstBusSyncReply
lock_at_12s (GstBus * bus, GstMessage * msg, gpointer data)
{
  LockCtx *ctx = data;
  const GstStructure *s = gst_message_get_structure (msg);
  guint64 rt;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT && s
      && gst_structure_has_name (s, "looprecsink-segment-opened")
      && gst_structure_get_uint64 (s, "running-time", &rt)
      && rt >= 12 * SECOND_NS && ctx->now == 0) {
    ctx->now = rt;
    g_signal_emit_by_name (ctx->sink, "lock", (guint64) 10 * SECOND_NS,
        (guint64) 5 * SECOND_NS);
  }
  return GST_BUS_PASS;
}

/* 7. Lock pre=10 s post=5 s during 3 s segments; they outlive max-files. */
GST_START_TEST (test_lock_window)
{
  gchar *dir = dc_make_tmpdir (), *desc;
  GstElement *pipeline;
  GstBus *bus;
  DcRunResult *r;
  LockCtx ctx = { NULL, 0 };
  GPtrArray *segs;
  guint i, closed, n_locked = 0;

  if (!have_encoder ())
    goto out;
  desc = g_strdup_printf (ENCODE_CHAIN "looprecsink name=rec location=%s "
      "max-size-time=3000000000 max-files=4", 1200, 15, dir);
  pipeline = gst_parse_launch (desc, NULL);
  ctx.sink = gst_bin_get_by_name (GST_BIN (pipeline), "rec");
  bus = gst_element_get_bus (pipeline);
  gst_bus_set_sync_handler (bus, lock_at_12s, &ctx, NULL);
  r = dc_run_pipeline (pipeline, 120);
  dc_assert_clean_run (r);
  fail_unless (ctx.now >= 12 * SECOND_NS);

  /* the segments overlapping [now - 10, now + 5] are locked, no others:
   * those closed before the request say so in a -locked message, the
   * others in their -closed message */
  closed = dc_count_messages (r, "looprecsink-segment-closed");
  fail_unless_equals_int (closed, 14);
  for (i = 0; i < closed; i++) {
    GstStructure *c = dc_find_message (r, "looprecsink-segment-closed", i);
    const gchar *loc = gst_structure_get_string (c, "location");
    guint64 rt, dur;
    gboolean locked, expect;
    guint j;

    fail_unless (gst_structure_get_uint64 (c, "running-time", &rt));
    fail_unless (gst_structure_get_uint64 (c, "duration", &dur));
    fail_unless (gst_structure_get_boolean (c, "locked", &locked));
    for (j = 0; j < dc_count_messages (r, "looprecsink-segment-locked"); j++) {
      GstStructure *l = dc_find_message (r, "looprecsink-segment-locked", j);

      if (g_str_equal (gst_structure_get_string (l, "location"), loc))
        locked = TRUE;
    }
    expect = rt < ctx.now + 5 * SECOND_NS && rt + dur > ctx.now -
        10 * SECOND_NS;
    fail_unless (locked == expect, "segment %u at %" G_GUINT64_FORMAT
        " locked=%d", i, rt, locked);
    /* locked segments outlive max-files */
    if (locked)
      fail_unless (g_file_test (loc, G_FILE_TEST_EXISTS), "%s", loc);
    n_locked += locked;
  }
  /* [2 s, 17 s] touches the segments at 0, 3, 6, 9, 12 and 15 s */
  fail_unless_equals_int (n_locked, 6);

  /* max-files=4 keeps the 4 newest unlocked ones besides the locked */
  segs = dc_list_files (dir, ".ts");
  fail_unless_equals_int (segs->len, 6 + 4);
  fail_unless_equals_int (dc_count_messages (r, "looprecsink-segment-deleted"),
      4);
  for (i = 0; i < dc_count_messages (r, "looprecsink-segment-deleted"); i++) {
    gboolean locked = TRUE;

    gst_structure_get_boolean (dc_find_message (r,
            "looprecsink-segment-deleted", i), "locked", &locked);
    fail_if (locked);
  }
  fail_unless (dc_count_messages (r, "looprecsink-segment-locked") >= 6);

  g_ptr_array_unref (segs);
  dc_run_result_free (r);
  gst_object_unref (bus);
  gst_object_unref (ctx.sink);
  gst_object_unref (pipeline);
  g_free (desc);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

static guint64
segment_index (GstStructure * s)
{
  guint64 index = G_MAXUINT64;

  fail_unless (gst_structure_get_uint64 (s, "index", &index));
  return index;
}

/* 8. Names stay unique and increasing across restarts and a clock jump. */
GST_START_TEST (test_names_across_restarts)
{
  gchar *dir = dc_make_tmpdir ();
  GHashTable *seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  guint64 last_index = 0;
  gboolean first = TRUE;
  guint run, i;

  if (!have_encoder ())
    goto out;
  for (run = 0; run < 3; run++) {
    DcRunResult *r;

    /* the second run's clock is a day behind */
    if (run == 1)
      g_setenv ("GST_DASHCAM_CLOCK_OFFSET", "-86400", TRUE);
    else
      g_unsetenv ("GST_DASHCAM_CLOCK_OFFSET");
    r = record (dir, 60, 15, "max-size-time=1000000000");
    dc_assert_clean_run (r);
    fail_unless_equals_int (dc_count_messages (r,
            "looprecsink-segment-closed"), 2);
    for (i = 0; i < 2; i++) {
      GstStructure *s = dc_find_message (r, "looprecsink-segment-closed", i);
      const gchar *loc = gst_structure_get_string (s, "location");
      guint64 index = segment_index (s);
      gchar *base = g_path_get_basename (loc);

      fail_unless (first || index > last_index);
      fail_if (g_hash_table_contains (seen, base), "%s twice", base);
      /* the default format: 20261122T143000Z-000123.ts */
      fail_unless (g_regex_match_simple ("^[0-9]{8}T[0-9]{6}Z-[0-9]{6}\\.ts$",
              base, 0, 0), "%s", base);
      g_hash_table_add (seen, base);
      last_index = index;
      first = FALSE;
    }
    dc_run_result_free (r);
  }
  g_unsetenv ("GST_DASHCAM_CLOCK_OFFSET");
  fail_unless_equals_int (dc_list_files (dir, ".ts")->len, 6);
out:
  g_hash_table_unref (seen);
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* 8b. A filename-format that would leave location is refused. */
GST_START_TEST (test_filename_format_refused)
{
  const gchar *bad[] = { "../escape-{index}.ts", "sub/dir-{index}.ts",
    "%Y%m%d.ts", "{unknown}-{index}.ts"
  };
  gchar *dir = dc_make_tmpdir ();
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad); i++) {
    gchar *desc = g_strdup_printf ("fakesrc num-buffers=1 ! "
        "video/mpegts,systemstream=true ! looprecsink location=%s "
        "filename-format=\"%s\"", dir, bad[i]);
    DcRunResult *r = dc_run_launch (desc, 30);

    fail_unless (dc_errors_contain (r, "filename-format"), "%s: %s", bad[i],
        r->errors->len ? (gchar *) g_ptr_array_index (r->errors, 0) : "none");
    dc_run_result_free (r);
    g_free (desc);
  }
  /* nothing was created outside or inside */
  fail_unless_equals_int (dc_list_files (dir, ".ts")->len, 0);
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* 9a. A location that cannot be a directory. */
GST_START_TEST (test_bad_location)
{
  gchar *dir = dc_make_tmpdir ();
  gchar *file = g_build_filename (dir, "plain-file", NULL);
  gchar *desc;
  DcRunResult *r;

  fail_unless (g_file_set_contents (file, "x", 1, NULL));
  desc = g_strdup_printf ("fakesrc num-buffers=1 ! "
      "video/mpegts,systemstream=true ! looprecsink location=%s/sub", file);
  r = dc_run_launch (desc, 30);
  fail_unless (dc_errors_contain (r, "location"), "%s",
      r->errors->len ? (gchar *) g_ptr_array_index (r->errors, 0) : "none");
  dc_run_result_free (r);
  g_free (desc);

  r = dc_run_launch ("fakesrc num-buffers=1 ! video/mpegts,systemstream=true "
      "! looprecsink", 30);
  fail_unless (dc_errors_contain (r, "location"));
  dc_run_result_free (r);

  dc_rm_rf (dir);
  g_free (file);
  g_free (dir);
}

GST_END_TEST;

/* 9b. Non-TS caps are refused at negotiation. */
GST_START_TEST (test_non_ts_caps)
{
  gchar *dir = dc_make_tmpdir (), *desc;
  GstElement *pipeline, *src;
  DcRunResult *r;

  desc = g_strdup_printf ("appsrc name=src caps=video/x-raw,format=I420 "
      "! looprecsink location=%s", dir);
  pipeline = gst_parse_launch (desc, NULL);
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  gst_app_src_push_buffer (GST_APP_SRC (src), gst_buffer_new_allocate (NULL,
          188, NULL));
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  r = dc_run_pipeline (pipeline, 30);
  fail_unless (r->errors->len > 0);
  fail_unless (dc_errors_contain (r, "not-negotiated")
      || dc_errors_contain (r, "negotiat"), "%s",
      (gchar *) g_ptr_array_index (r->errors, 0));
  fail_unless_equals_int (dc_list_files (dir, ".ts")->len, 0);
  dc_run_result_free (r);
  gst_object_unref (src);
  gst_object_unref (pipeline);
  g_free (desc);
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

static void
write_random (const gchar * path, gsize len, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);
  guint8 *data = g_malloc (len);
  gsize i;

  for (i = 0; i < len; i++)
    data[i] = g_rand_int_range (rand, 0, 256);
  fail_unless (g_file_set_contents (path, (gchar *) data, len, NULL));
  g_free (data);
  g_rand_free (rand);
}

/* 9c. Garbage, alone and in the middle of a stream. */
GST_START_TEST (test_garbage_input)
{
  gchar *dir = dc_make_tmpdir (), *out = g_build_filename (dir, "out", NULL);
  gchar *garbage = g_build_filename (dir, "garbage.bin", NULL);
  gchar *mixed = g_build_filename (dir, "mixed.ts", NULL);
  gchar *src, *contents, *desc;
  gsize len;
  GString *buf;
  DcRunResult *r;
  GPtrArray *segs;
  guint i;

  if (!have_encoder ())
    goto done;
  write_random (garbage, 1 << 20, 42);
  desc = g_strdup_printf ("filesrc location=%s ! looprecsink location=%s",
      garbage, out);
  r = dc_run_launch (desc, 60);
  dc_assert_clean_run (r);
  fail_unless (dc_warnings_contain (r, "garbage"));
  fail_unless_equals_int (dc_list_files (out, ".ts")->len, 0);
  dc_run_result_free (r);
  g_free (desc);

  /* 5000 random bytes in the middle of a 20 s recording */
  src = dc_make_ts (dir, "x.ts", 600, 15, NULL);
  fail_unless (g_file_get_contents (src, &contents, &len, NULL));
  buf = g_string_new_len (contents, len / 2 + 77);
  g_free (contents);
  fail_unless (g_file_get_contents (garbage, &contents, NULL, NULL));
  g_string_append_len (buf, contents, 5000);
  g_free (contents);
  fail_unless (g_file_get_contents (src, &contents, &len, NULL));
  g_string_append_len (buf, contents + len / 2 + 77, len - len / 2 - 77);
  fail_unless (g_file_set_contents (mixed, buf->str, buf->len, NULL));
  g_string_free (buf, TRUE);
  g_free (contents);

  desc = g_strdup_printf ("filesrc location=%s ! looprecsink location=%s "
      "max-size-time=4000000000", mixed, out);
  r = dc_run_launch (desc, 60);
  dc_assert_clean_run (r);
  fail_unless (dc_warnings_contain (r, "garbage"));
  segs = dc_list_files (out, ".ts");
  fail_unless (segs->len >= 5);
  for (i = 0; i < segs->len; i++)
    fail_unless (dc_ffprobe_starts_with_keyframe (g_ptr_array_index (segs,
                i)));
  /* at most the frames touched by the damage are gone */
  {
    guint total = 0;

    for (i = 0; i < segs->len; i++)
      total += dc_ffprobe_video_frames (g_ptr_array_index (segs, i));
    fail_unless (total >= 598 && total <= 600, "%u frames", total);
  }
  g_ptr_array_unref (segs);
  dc_run_result_free (r);
  g_free (desc);
  g_free (src);
done:
  dc_rm_rf (dir);
  g_free (mixed);
  g_free (garbage);
  g_free (out);
  g_free (dir);
}

GST_END_TEST;

/* 9d. Foreign files and a damaged catalog: warnings, nothing lost. */
GST_START_TEST (test_foreign_files)
{
  gchar *dir = dc_make_tmpdir ();
  gchar *notes = g_build_filename (dir, "notes.txt", NULL);
  gchar *fake = g_build_filename (dir, "other-000001.ts.part", NULL);
  gchar *journal = g_build_filename (dir, ".dashcam", "journal", NULL);
  DcRunResult *r;
  FILE *f;

  if (!have_encoder ())
    goto out;
  r = record (dir, 60, 15, "max-size-time=1000000000 max-files=5");
  dc_assert_clean_run (r);
  dc_run_result_free (r);
  fail_unless_equals_int (dc_list_files (dir, ".ts")->len, 2);

  fail_unless (g_file_set_contents (notes, "hello", -1, NULL));
  fail_unless (g_file_set_contents (fake, "not a ts", -1, NULL));
  f = fopen (journal, "a");
  fputs ("deadbeef close name=bogus\ntorn line without end", f);
  fclose (f);

  r = record (dir, 60, 15, "max-size-time=1000000000 max-files=5");
  dc_assert_clean_run (r);
  fail_unless (dc_warnings_contain (r, "notes.txt"));
  fail_unless (dc_warnings_contain (r, "other-000001.ts.part"));
  fail_unless (dc_warnings_contain (r, "corrupt"));
  dc_run_result_free (r);

  /* nothing foreign touched, nothing recorded lost */
  fail_unless (g_file_test (notes, G_FILE_TEST_EXISTS));
  fail_unless (g_file_test (fake, G_FILE_TEST_EXISTS));
  fail_unless_equals_int (dc_list_files (dir, ".ts")->len, 4);
out:
  dc_rm_rf (dir);
  g_free (journal);
  g_free (fake);
  g_free (notes);
  g_free (dir);
}

GST_END_TEST;

/* 10. EOS always completes. */
GST_START_TEST (test_eos_always_completes)
{
  gchar *dir = dc_make_tmpdir ();
  guint run;

  if (!have_encoder ())
    goto out;
  for (run = 0; run < 30; run++) {
    DcRunResult *r = record (dir, 20 + run % 7, 5,
        "max-size-time=300000000 max-files=4");

    dc_assert_clean_run (r);
    fail_unless (dc_count_messages (r, "looprecsink-segment-closed") >= 1);
    fail_unless_equals_int (dc_list_files (dir, ".part")->len, 0);
    dc_run_result_free (r);
  }
  fail_unless_equals_int (dc_list_files (dir, ".ts")->len, 4);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* 11. Every property says what it is, times in ns, sizes in bytes. */
GST_START_TEST (test_property_docs)
{
  GstElement *sink = gst_element_factory_make ("looprecsink", NULL);
  GParamSpec **props;
  guint n, i;

  fail_unless (sink != NULL);
  props = g_object_class_list_properties (G_OBJECT_GET_CLASS (sink), &n);
  for (i = 0; i < n; i++) {
    const gchar *name = g_param_spec_get_name (props[i]);
    const gchar *blurb = g_param_spec_get_blurb (props[i]);

    if (props[i]->owner_type != G_OBJECT_TYPE (sink))
      continue;
    fail_unless (blurb && strlen (blurb) > 20, "%s", name);
    if (g_str_has_suffix (name, "-time") || g_str_has_suffix (name,
            "-interval"))
      fail_unless (strstr (blurb, "nanoseconds") != NULL, "%s", name);
    if (g_str_has_suffix (name, "-bytes"))
      fail_unless (strstr (blurb, "bytes") != NULL, "%s", name);
    if (props[i]->flags & G_PARAM_WRITABLE)
      fail_unless (props[i]->flags & (GST_PARAM_MUTABLE_READY |
              GST_PARAM_MUTABLE_PLAYING), "%s", name);
  }
  g_free (props);
  gst_object_unref (sink);
}

GST_END_TEST;

static Suite *
looprecsink_suite (void)
{
  Suite *s = suite_create ("looprecsink");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_keyframe_aligned_segments);
  tcase_add_test (tc, test_raw_bytes_from_file);
  tcase_add_test (tc, test_keyframe_requests);
  tcase_add_test (tc, test_keyframe_requests_clock_ahead);
  tcase_add_test (tc, test_align_to_wall_clock);
  tcase_add_test (tc, test_retention_max_files);
  tcase_add_test (tc, test_retention_max_total_bytes);
  tcase_add_test (tc, test_retention_min_free_bytes);
  tcase_add_test (tc, test_disk_full_deletes_oldest);
  tcase_add_test (tc, test_disk_full_all_locked);
  tcase_add_test (tc, test_lock_window);
  tcase_add_test (tc, test_names_across_restarts);
  tcase_add_test (tc, test_filename_format_refused);
  tcase_add_test (tc, test_bad_location);
  tcase_add_test (tc, test_non_ts_caps);
  tcase_add_test (tc, test_garbage_input);
  tcase_add_test (tc, test_foreign_files);
  tcase_add_test (tc, test_eos_always_completes);
  tcase_add_test (tc, test_property_docs);
  return s;
}

GST_CHECK_MAIN (looprecsink);
