/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* looprecsink when the input misbehaves: timestamps that jump back (two
 * recordings end to end, an encoder restarted), flushes, segments that
 * cannot be opened. The catalog must stay right: it is what the uploader
 * maps its gaps with. */

#include "dashcamtestutil.h"

#include <string.h>
#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include "dashcamcatalog.h"
#include "dashcambacklog.h"

#define SECOND_NS G_GUINT64_CONSTANT (1000000000)
#define MSECOND_NS G_GUINT64_CONSTANT (1000000)

static gboolean
have_encoder (void)
{
  return dc_have_elements ("videotestsrc", "x264enc", "h264parse",
      "mpegtsmux", NULL) && dc_have_ffmpeg ();
}

static void
assert_clean_run (DcRunResult * r)
{
  fail_unless (r->errors->len == 0, "error: %s",
      r->errors->len ? (gchar *) g_ptr_array_index (r->errors, 0) : "");
  fail_if (r->timed_out, "pipeline did not finish");
  fail_unless (r->eos);
}

static void
assert_segment_plays (const gchar * path)
{
  fail_unless (dc_ffprobe_starts_with_keyframe (path),
      "%s does not start with a keyframe", path);
  fail_unless (dc_ffmpeg_decodes (path), "%s does not decode", path);
}

static guint64
field_u64 (const GstStructure * s, const gchar * name)
{
  guint64 v = 0;

  fail_unless (gst_structure_get_uint64 (s, name, &v), "no %s in %"
      GST_PTR_FORMAT, name, s);
  return v;
}

static gchar *
basename_of (const GstStructure * s)
{
  return g_path_get_basename (gst_structure_get_string (s, "location"));
}

/* The closed segments: durations within [min, max], running times
 * increasing without overlap (up to @slack), every one ending by @end;
 * the catalog says the same as the messages. Returns their number. */
static guint
check_closed_segments (DcRunResult * r, const gchar * dir, guint64 min,
    guint64 max, guint64 slack, guint64 end)
{
  guint n = dc_count_messages (r, "looprecsink-segment-closed"), i;
  DashcamCatalog *cat = dashcam_catalog_open (dir, NULL);
  guint64 prev_end = 0, total = 0;

  fail_unless (cat != NULL);
  for (i = 0; i < n; i++) {
    GstStructure *s = dc_find_message (r, "looprecsink-segment-closed", i);
    guint64 rt = field_u64 (s, "running-time");
    guint64 dur = field_u64 (s, "duration");
    gchar *name = basename_of (s);
    DashcamSegment *seg = dashcam_catalog_lookup (cat, name);

    fail_unless (dur >= min && dur <= max, "segment %u: duration %"
        GST_TIME_FORMAT, i, GST_TIME_ARGS (dur));
    fail_unless (rt + slack >= prev_end, "segment %u starts at %"
        GST_TIME_FORMAT ", before the end of the previous one %"
        GST_TIME_FORMAT, i, GST_TIME_ARGS (rt), GST_TIME_ARGS (prev_end));
    fail_unless (rt + dur <= end + slack, "segment %u ends at %"
        GST_TIME_FORMAT ", after the recording (%" GST_TIME_FORMAT ")", i,
        GST_TIME_ARGS (rt + dur), GST_TIME_ARGS (end));
    fail_unless (seg != NULL, "%s not in the catalog", name);
    fail_unless (seg->complete);
    fail_unless_equals_uint64 (seg->running_time, rt);
    fail_unless_equals_uint64 (seg->duration, dur);
    fail_unless_equals_string (seg->run_id, gst_structure_get_string (s,
            "run-id"));
    assert_segment_plays (gst_structure_get_string (s, "location"));
    prev_end = rt + dur;
    total += dur;
    g_free (name);
  }
  dashcam_catalog_free (cat);
  return n;
}

/* The segments of the catalog that a live gap [start, end) of @run makes
 * the uploader send, as srtuploadsink decides it. */
static GPtrArray *
segments_for_gap (const gchar * dir, const gchar * run, GstClockTime start,
    GstClockTime end)
{
  DashcamCatalog *cat = dashcam_catalog_open (dir, NULL);
  GPtrArray *list = dashcam_catalog_list (cat);
  GPtrArray *hits = g_ptr_array_new_with_free_func (g_free);
  DashcamGapList gaps;
  guint i;

  dashcam_gap_list_init (&gaps);
  dashcam_gap_list_open (&gaps, start);
  dashcam_gap_list_close (&gaps, end);
  for (i = 0; i < list->len; i++) {
    DashcamSegment *s = g_ptr_array_index (list, i);

    if (dashcam_backlog_decide (s, run, DASHCAM_BACKLOG_POLICY_GAPS, &gaps,
            GST_CLOCK_TIME_NONE) == DASHCAM_BACKLOG_QUEUE)
      g_ptr_array_add (hits, g_strdup (s->name));
  }
  dashcam_gap_list_clear (&gaps);
  g_ptr_array_unref (list);
  dashcam_catalog_free (cat);
  return hits;
}

static gchar *
concat_files (const gchar * dir, const gchar * a, const gchar * b)
{
  gchar *path = g_build_filename (dir, "both.ts", NULL);
  gchar *da, *db, *all;
  gsize la, lb;

  fail_unless (g_file_get_contents (a, &da, &la, NULL));
  fail_unless (g_file_get_contents (b, &db, &lb, NULL));
  all = g_malloc (la + lb);
  memcpy (all, da, la);
  memcpy (all + la, db, lb);
  fail_unless (g_file_set_contents (path, all, la + lb, NULL));
  g_free (all);
  g_free (da);
  g_free (db);
  return path;
}

/* ------------------------------------------------------------------------ */
/* Timestamps that jump back */

/* Two 10 s recordings put end to end and read from a file (no buffer
 * timestamps): the second one's PTS start over. Its segments follow the
 * first's in running time, every duration is its own (before: the segment
 * at the junction had ~2^64 ns), and a live gap in the second recording
 * maps to the segment that holds it (before: to none, the second
 * recording's segments had the first's running times). */
GST_START_TEST (test_concatenated_recordings)
{
  gchar *src = dc_make_tmpdir (), *dir = dc_make_tmpdir ();
  gchar *a, *both, *desc, *name;
  DcRunResult *r;
  GstStructure *s;
  GPtrArray *hits;
  guint i, n;

  if (!have_encoder ())
    goto out;
  a = dc_make_ts (src, "a.ts", 300, 15, "bframes=0");
  both = concat_files (src, a, a);
  desc = g_strdup_printf ("filesrc location=%s ! "
      "looprecsink location=%s max-size-time=2000000000", both, dir);
  r = dc_run_launch (desc, 120);
  assert_clean_run (r);

  n = check_closed_segments (r, dir, 2 * SECOND_NS - 5 * MSECOND_NS,
      2 * SECOND_NS + 5 * MSECOND_NS, 5 * MSECOND_NS, 20 * SECOND_NS);
  fail_unless_equals_int (n, 10);
  for (i = 0; i < n; i++) {
    guint64 rt = field_u64 (dc_find_message (r, "looprecsink-segment-closed",
            i), "running-time");

    fail_unless (rt + 5 * MSECOND_NS >= i * 2 * SECOND_NS
        && rt <= i * 2 * SECOND_NS + 5 * MSECOND_NS, "segment %u at %"
        GST_TIME_FORMAT, i, GST_TIME_ARGS (rt));
  }

  /* a gap 3.0-3.5 s into the second recording: its second segment */
  s = dc_find_message (r, "looprecsink-segment-closed", 6);
  hits = segments_for_gap (dir, gst_structure_get_string (s, "run-id"),
      13 * SECOND_NS, 13 * SECOND_NS + 500 * MSECOND_NS);
  name = basename_of (s);
  fail_unless_equals_int (hits->len, 1);
  fail_unless_equals_string (g_ptr_array_index (hits, 0), name);
  g_free (name);
  g_ptr_array_unref (hits);

  dc_run_result_free (r);
  g_free (desc);
  g_free (both);
  g_free (a);
out:
  dc_rm_rf (src);
  dc_rm_rf (dir);
  g_free (src);
  g_free (dir);
}

GST_END_TEST;

typedef struct
{
  GstElement *appsrc;
  guint runs;
  guint frames;
  guint pushed;
} Restarts;

/* Runs a live encoder @ctx->runs times, one after the other, into appsrc
 * (which stamps the buffers with the receiving pipeline's running time, as
 * a network source does): each run's muxer starts its PTS over. */
static gpointer
encoder_restarts (gpointer data)
{
  Restarts *ctx = data;
  guint run;

  for (run = 0; run < ctx->runs; run++) {
    gchar *desc = g_strdup_printf ("videotestsrc is-live=true "
        "num-buffers=%u pattern=ball ! "
        "video/x-raw,format=I420,width=160,height=120,framerate=30/1 ! "
        "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! "
        "h264parse ! mpegtsmux ! appsink name=sink sync=false", ctx->frames);
    GstElement *pipeline = gst_parse_launch (desc, NULL);
    GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
    GstSample *sample;

    fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
        GST_STATE_CHANGE_FAILURE);
    while ((sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink),
                30 * GST_SECOND))) {
      GstBuffer *buf = gst_buffer_copy (gst_sample_get_buffer (sample));

      GST_BUFFER_PTS (buf) = GST_BUFFER_DTS (buf) = GST_CLOCK_TIME_NONE;
      gst_app_src_push_buffer (GST_APP_SRC (ctx->appsrc), buf);
      ctx->pushed++;
      gst_sample_unref (sample);
    }
    gst_element_set_state (pipeline, GST_STATE_NULL);
    gst_object_unref (sink);
    gst_object_unref (pipeline);
    g_free (desc);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (ctx->appsrc));
  return NULL;
}

/* A live pipeline whose encoder (here: the camera's, behind a network
 * source) restarts twice: PTS and PCR start over, running time goes on.
 * Every segment keeps its own duration (before: ~2^64 ns at each restart)
 * and running time (before: the segment before a restart was reported
 * with the next recording's clock, up to a GOP in the future). */
GST_START_TEST (test_encoder_restart_live)
{
  gchar *dir = dc_make_tmpdir (), *desc;
  GstElement *pipeline;
  Restarts ctx = { NULL, 3, 60, 0 };
  GThread *thread;
  DcRunResult *r;
  guint i, n, frames = 0;
  GstClockTime end;

  if (!have_encoder () || !dc_have_elements ("appsrc", "appsink", NULL))
    goto out;
  desc = g_strdup_printf ("appsrc name=src is-live=true do-timestamp=true "
      "format=time caps=video/mpegts,systemstream=true,packetsize=188 ! "
      "looprecsink location=%s max-size-time=1000000000", dir);
  pipeline = gst_parse_launch (desc, NULL);
  ctx.appsrc = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  thread = g_thread_new ("encoder", encoder_restarts, &ctx);
  r = dc_run_pipeline (pipeline, 120);
  g_thread_join (thread);
  assert_clean_run (r);
  fail_unless (ctx.pushed > 0);

  /* 3 x 2 s of video, plus the pauses between the encoder runs */
  n = dc_count_messages (r, "looprecsink-segment-closed");
  end = field_u64 (dc_find_message (r, "looprecsink-segment-closed", n - 1),
      "running-time") + field_u64 (dc_find_message (r,
          "looprecsink-segment-closed", n - 1), "duration");
  fail_unless (end < 60 * SECOND_NS, "recording ends at %" GST_TIME_FORMAT,
      GST_TIME_ARGS (end));
  fail_unless_equals_int (check_closed_segments (r, dir, 400 * MSECOND_NS,
          1100 * MSECOND_NS, 50 * MSECOND_NS, end), n);
  fail_unless (n >= 6);
  for (i = 0; i < n; i++)
    frames += dc_ffprobe_video_frames (gst_structure_get_string
        (dc_find_message (r, "looprecsink-segment-closed", i), "location"));
  fail_unless_equals_int (frames, 180);

  dc_run_result_free (r);
  gst_object_unref (ctx.appsrc);
  gst_object_unref (pipeline);
  g_free (desc);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

static Suite *
looprecsink_robust_suite (void)
{
  Suite *s = suite_create ("looprecsink_robust");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_concatenated_recordings);
  tcase_add_test (tc, test_encoder_restart_live);
  return s;
}

GST_CHECK_MAIN (looprecsink_robust);
