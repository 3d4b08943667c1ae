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

#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <glib/gstdio.h>
#include <gst/check/gstharness.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include "dashcamcatalog.h"
#include "dashcambacklog.h"
#include "dashcamts.h"

#define SECOND_NS G_GUINT64_CONSTANT (1000000000)
#define MSECOND_NS G_GUINT64_CONSTANT (1000000)

static gboolean
have_encoder (void)
{
  return dc_have_elements ("videotestsrc", "x264enc", "h264parse",
      "mpegtsmux", NULL) && dc_have_ffmpeg ();
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
    dc_assert_segment_plays (gst_structure_get_string (s, "location"));
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
  dc_assert_clean_run (r);

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
  dc_assert_clean_run (r);
  fail_unless (ctx.pushed > 0);

  /* 3 x 2 s of video, plus the pauses between the encoder runs; running
   * times come from the buffers' arrival, which jitters under load */
  n = dc_count_messages (r, "looprecsink-segment-closed");
  end = field_u64 (dc_find_message (r, "looprecsink-segment-closed", n - 1),
      "running-time") + field_u64 (dc_find_message (r,
          "looprecsink-segment-closed", n - 1), "duration");
  fail_unless (end < 60 * SECOND_NS, "recording ends at %" GST_TIME_FORMAT,
      GST_TIME_ARGS (end));
  fail_unless_equals_int (check_closed_segments (r, dir, 400 * MSECOND_NS,
          1100 * MSECOND_NS, 250 * MSECOND_NS, end), n);
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

/* ------------------------------------------------------------------------ */
/* Flushes */

#define PKT DASHCAM_TS_PACKET_SIZE

/* The packet index of every keyframe (random-access point) in @data. */
static GArray *
key_packets (const guint8 * data, gsize len)
{
  GArray *keys = g_array_new (FALSE, FALSE, sizeof (guint));
  DashcamTsParser parser;
  guint i;

  dashcam_ts_parser_init (&parser);
  for (i = 0; (i + 1) * PKT <= len; i++) {
    DashcamTsPacketInfo info;

    dashcam_ts_parser_parse (&parser, data + i * PKT, &info);
    if (info.is_primary && info.random_access)
      g_array_append_val (keys, i);
  }
  return keys;
}

/* looprecsink in a harness; its messages go to @bus. */
static GstHarness *
harness_new (const gchar * dir, GstBus ** bus)
{
  GstElement *sink = gst_element_factory_make ("looprecsink", NULL);
  GstHarness *h;

  /* the harness wants a synchronous state change */
  g_object_set (sink, "location", dir, "max-size-time", 60 * SECOND_NS,
      "async", FALSE, NULL);
  *bus = gst_bus_new ();
  gst_element_set_bus (sink, *bus);
  h = gst_harness_new_with_element (sink, "sink", NULL);
  gst_object_unref (sink);
  gst_harness_set_src_caps_str (h,
      "video/mpegts,systemstream=true,packetsize=188");
  return h;
}

/* Pushes @len bytes in 4000-byte buffers without timestamps, as filesrc
 * reads them. */
static void
push_bytes (GstHarness * h, const guint8 * data, gsize len)
{
  gsize pos;

  for (pos = 0; pos < len; pos += 4000) {
    gsize n = MIN (4000, len - pos);

    fail_unless_equals_int (gst_harness_push (h,
            gst_buffer_new_memdup (data + pos, n)), GST_FLOW_OK);
  }
}

static void
push_flush (GstHarness * h)
{
  GstSegment segment;

  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
}

/* Every element message posted on @bus so far. */
static GPtrArray *
pop_messages (GstBus * bus)
{
  GPtrArray *found = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_structure_free);
  GstMessage *msg;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    if (gst_message_get_structure (msg))
      g_ptr_array_add (found,
          gst_structure_copy (gst_message_get_structure (msg)));
    gst_message_unref (msg);
  }
  return found;
}

/* The @nth message named @name in @msgs. */
static const GstStructure *
nth_message (GPtrArray * msgs, const gchar * name, guint nth)
{
  guint i;

  for (i = 0; i < msgs->len; i++) {
    const GstStructure *s = g_ptr_array_index (msgs, i);

    if (gst_structure_has_name (s, name) && nth-- == 0)
      return s;
  }
  fail ("no message %s #%u", name, nth);
  return NULL;
}

static guint
count_messages (GPtrArray * msgs, const gchar * name)
{
  guint i, n = 0;

  for (i = 0; i < msgs->len; i++)
    n += gst_structure_has_name (g_ptr_array_index (msgs, i), name);
  return n;
}

static gchar *
read_segment (const GstStructure * s, gsize * len)
{
  gchar *data;

  fail_unless (g_file_get_contents (gst_structure_get_string (s, "location"),
          &data, len, NULL));
  return data;
}

/* A flushing seek while a segment is being written, in the middle of a
 * frame and of a packet: the segment ends with its last whole frame, and
 * the new position starts a new segment at its first keyframe, holding
 * the input from there byte for byte (before: the data went on into the
 * old segment, behind a packet made of the old partial one and new
 * bytes). */
GST_START_TEST (test_flushing_seek)
{
  gchar *src = dc_make_tmpdir (), *dir = dc_make_tmpdir ();
  gchar *path, *data, *seg;
  gsize len, seg_len, cut, resume, key, start;
  const GstStructure *s;
  GPtrArray *msgs;
  GArray *keys;
  GstHarness *h;
  GstBus *bus;

  if (!have_encoder ())
    goto out;
  path = dc_make_ts (src, "a.ts", 300, 15, "bframes=0");
  fail_unless (g_file_get_contents (path, &data, &len, NULL));
  keys = key_packets ((guint8 *) data, len);
  fail_unless_equals_int (keys->len, 20);
  cut = g_array_index (keys, guint, 6) * PKT + 1000 + 57;
  key = g_array_index (keys, guint, 10);
  resume = (key - 2) * PKT;

  h = harness_new (dir, &bus);
  push_bytes (h, (guint8 *) data, cut);
  push_flush (h);
  push_bytes (h, (guint8 *) data + resume, len - resume);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  msgs = pop_messages (bus);

  fail_unless_equals_int (count_messages (msgs, "looprecsink-segment-closed"),
      2);
  fail_unless_equals_string (gst_structure_get_string (nth_message (msgs,
              "looprecsink-segment-closed", 0), "reason"), "flush");
  fail_unless_equals_string (gst_structure_get_string (nth_message (msgs,
              "looprecsink-segment-opened", 1), "reason"), "flush");

  /* the first: the input from its start up to a frame before the cut */
  s = nth_message (msgs, "looprecsink-segment-closed", 0);
  seg = read_segment (s, &seg_len);
  start = g_array_index (keys, guint, 0) * PKT - 2 * PKT;
  fail_unless (seg_len % PKT == 0);
  fail_unless (seg_len > g_array_index (keys, guint, 6) * PKT - start);
  fail_unless (seg_len <= cut - start);
  fail_unless (memcmp (seg + 2 * PKT, data + start + 2 * PKT,
          seg_len - 2 * PKT) == 0);
  dc_assert_segment_plays (gst_structure_get_string (s, "location"));
  fail_unless (dc_ffprobe_video_frames (gst_structure_get_string (s,
              "location")) >= 90);
  g_free (seg);

  /* the second: PAT, PMT, then the input from the keyframe on */
  s = nth_message (msgs, "looprecsink-segment-closed", 1);
  fail_unless_equals_string (gst_structure_get_string (s, "reason"), "eos");
  seg = read_segment (s, &seg_len);
  fail_unless_equals_int (seg_len, 2 * PKT + len - key * PKT);
  fail_unless (memcmp (seg + 2 * PKT, data + key * PKT, len - key * PKT) == 0);
  dc_assert_segment_plays (gst_structure_get_string (s, "location"));
  fail_unless_equals_int (dc_ffprobe_video_frames (gst_structure_get_string
          (s, "location")), 300 - 10 * 15);
  /* running time went on from the frames before the flush (3 s) */
  fail_unless (field_u64 (s, "running-time") >= 3 * SECOND_NS
      && field_u64 (s, "running-time") < 3 * SECOND_NS + 100 * MSECOND_NS);
  g_free (seg);

  g_ptr_array_unref (msgs);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_array_unref (keys);
  g_free (data);
  g_free (path);
out:
  dc_rm_rf (src);
  dc_rm_rf (dir);
  g_free (src);
  g_free (dir);
}

GST_END_TEST;

/* EOS, then a flushing seek back to the start (a player looping a
 * recording): the second pass is recorded whole in a new segment (before:
 * it was dropped until max-size-time had passed since the first pass's
 * start, here all of it). */
GST_START_TEST (test_flush_after_eos)
{
  gchar *src = dc_make_tmpdir (), *dir = dc_make_tmpdir ();
  gchar *path, *data, *seg0, *seg1;
  gsize len, len0, len1;
  GPtrArray *msgs;
  GstHarness *h;
  GstBus *bus;

  if (!have_encoder ())
    goto out;
  path = dc_make_ts (src, "a.ts", 150, 15, "bframes=0");
  fail_unless (g_file_get_contents (path, &data, &len, NULL));

  h = harness_new (dir, &bus);
  push_bytes (h, (guint8 *) data, len);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  push_flush (h);
  push_bytes (h, (guint8 *) data, len);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  msgs = pop_messages (bus);

  fail_unless_equals_int (count_messages (msgs, "looprecsink-segment-closed"),
      2);
  fail_unless_equals_string (gst_structure_get_string (nth_message (msgs,
              "looprecsink-segment-opened", 1), "reason"), "flush");
  seg0 = read_segment (nth_message (msgs, "looprecsink-segment-closed", 0),
      &len0);
  seg1 = read_segment (nth_message (msgs, "looprecsink-segment-closed", 1),
      &len1);
  fail_unless_equals_int (len1, len0);
  fail_unless (memcmp (seg0 + 2 * PKT, seg1 + 2 * PKT, len0 - 2 * PKT) == 0);
  fail_unless_equals_int (dc_ffprobe_video_frames (gst_structure_get_string
          (nth_message (msgs, "looprecsink-segment-closed", 1), "location")),
      150);
  /* and after the first pass in running time */
  fail_unless (field_u64 (nth_message (msgs, "looprecsink-segment-closed", 1),
          "running-time") + MSECOND_NS >= 5 * SECOND_NS);

  g_free (seg0);
  g_free (seg1);
  g_ptr_array_unref (msgs);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (data);
  g_free (path);
out:
  dc_rm_rf (src);
  dc_rm_rf (dir);
  g_free (src);
  g_free (dir);
}

GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* Segments that cannot be opened */

#define ENCODE_CHAIN \
  "videotestsrc num-buffers=%u pattern=ball ! " \
  "video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! " \
  "x264enc key-int-max=15 speed-preset=ultrafast ! h264parse ! mpegtsmux ! "

/* A tmpfs on @dir with room for @files files of ours (plus the root,
 * .dashcam, its journal and lock file), plenty of bytes. */
static gboolean
mount_few_inodes (const gchar * dir, guint files)
{
  gchar *opts = g_strdup_printf ("size=64m,nr_inodes=%u", 4 + files);
  gboolean ok = mount ("tmpfs", dir, "tmpfs", 0, opts) == 0;

  if (!ok)
    g_printerr ("SKIP: cannot mount a tmpfs on %s: %s\n", dir,
        g_strerror (errno));
  g_free (opts);
  return ok;
}

static guint
count_reason (DcRunResult * r, const gchar * name, const gchar * reason)
{
  guint i, n = 0;

  for (i = 0; i < dc_count_messages (r, name); i++)
    n += g_strcmp0 (gst_structure_get_string (dc_find_message (r, name, i),
            "reason"), reason) == 0;
  return n;
}

/* Out of inodes (plenty of bytes): a new segment cannot be created.
 * Retention deletes the oldest and the segment opens (before: video was
 * dropped until the end, with a warning that everything was locked). */
GST_START_TEST (test_open_fails_no_inodes)
{
  gchar *dir = dc_make_tmpdir (), *desc;
  DcRunResult *r;
  GPtrArray *segs;
  guint i;

  if (!have_encoder () || !mount_few_inodes (dir, 3))
    goto out;
  desc = g_strdup_printf (ENCODE_CHAIN "looprecsink location=%s "
      "max-size-time=1000000000", 300, dir);
  r = dc_run_launch (desc, 120);
  dc_assert_clean_run (r);
  fail_if (dc_warnings_contain (r, "Disk full"));
  /* 10 s of video: 10 segments, every one complete */
  fail_unless_equals_int (dc_count_messages (r, "looprecsink-segment-closed"),
      10);
  fail_unless_equals_int (count_reason (r, "looprecsink-segment-closed",
          "split"), 9);
  fail_unless (count_reason (r, "looprecsink-segment-deleted",
          "disk-full") >= 7);
  segs = dc_list_files (dir, ".ts");
  fail_unless (segs->len >= 2);
  for (i = 0; i < segs->len; i++) {
    dc_assert_segment_plays (g_ptr_array_index (segs, i));
    fail_unless_equals_int (dc_ffprobe_video_frames (g_ptr_array_index (segs,
                i)), 30);
  }
  g_ptr_array_unref (segs);
  dc_run_result_free (r);
  g_free (desc);
  umount2 (dir, MNT_DETACH);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

typedef struct
{
  GstElement *sink;
  gchar *spare[2];              /* foreign files to delete, one a warning */
  guint freed;
} FullCtx;

/* Locks everything at the first segment; frees an inode at each "disk
 * full" warning. Streaming thread. */
static GstBusSyncReply
lock_then_free (GstBus * bus, GstMessage * msg, gpointer data)
{
  FullCtx *ctx = data;
  const GstStructure *s = gst_message_get_structure (msg);

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT && s
      && gst_structure_has_name (s, "looprecsink-segment-opened")
      && g_strcmp0 (gst_structure_get_string (s, "reason"), "start") == 0) {
    g_signal_emit_by_name (ctx->sink, "lock", (guint64) 0,
        (guint64) 3600 * SECOND_NS);
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING
      && ctx->freed < G_N_ELEMENTS (ctx->spare)) {
    GError *err = NULL;

    gst_message_parse_warning (msg, &err, NULL);
    if (strstr (err->message, "Disk full"))
      g_unlink (ctx->spare[ctx->freed++]);
    g_error_free (err);
  }
  return GST_BUS_PASS;
}

/* Out of inodes and everything locked: the next segment cannot be opened,
 * video is dropped with a warning. When an inode is free again, the
 * segment that opens is whole when it closes (before: it was taken for
 * torn and cut like a power cut's leftover, losing its last frame). */
GST_START_TEST (test_open_fails_next_not_torn)
{
  gchar *dir = dc_make_tmpdir (), *desc;
  FullCtx ctx = { NULL, {NULL, NULL}, 0 };
  GstElement *pipeline;
  DcRunResult *r;
  GstBus *bus;
  guint i, n;

  if (!have_encoder () || !mount_few_inodes (dir, 4))
    goto out;
  for (i = 0; i < G_N_ELEMENTS (ctx.spare); i++) {
    ctx.spare[i] = g_strdup_printf ("%s/spare%u", dir, i);
    fail_unless (g_file_set_contents (ctx.spare[i], "x", 1, NULL));
  }
  /* lossless noise: frames over 64 KB, whose PES have no length, so that
   * a segment taken for torn loses its last frame */
  desc = g_strdup_printf ("videotestsrc num-buffers=300 pattern=snow ! "
      "video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! "
      "x264enc key-int-max=15 speed-preset=ultrafast pass=quant quantizer=0 ! "
      "h264parse ! mpegtsmux ! looprecsink name=rec location=%s "
      "max-size-time=1000000000", dir);
  pipeline = gst_parse_launch (desc, NULL);
  ctx.sink = gst_bin_get_by_name (GST_BIN (pipeline), "rec");
  bus = gst_element_get_bus (pipeline);
  gst_bus_set_sync_handler (bus, lock_then_free, &ctx, NULL);
  r = dc_run_pipeline (pipeline, 120);
  dc_assert_clean_run (r);

  fail_unless (dc_warnings_contain (r, "Disk full"));
  fail_unless_equals_int (ctx.freed, 2);
  /* two segments, then one after each freed inode */
  fail_unless_equals_int (count_reason (r, "looprecsink-segment-opened",
          "disk-full"), 2);
  n = dc_count_messages (r, "looprecsink-segment-closed");
  fail_unless_equals_int (n, 4);
  for (i = 0; i < n; i++) {
    GstStructure *s = dc_find_message (r, "looprecsink-segment-closed", i);
    const gchar *path = gst_structure_get_string (s, "location");

    fail_unless_equals_string (gst_structure_get_string (s, "reason"),
        "split");
    dc_assert_segment_plays (path);
    fail_unless_equals_int (dc_ffprobe_video_frames (path), 30);
    fail_unless_equals_uint64 (field_u64 (s, "size"), dc_file_size (path));
    fail_unless (field_u64 (s, "duration") >= SECOND_NS - MSECOND_NS);
  }
  fail_unless_equals_int (dc_list_files (dir, ".part")->len, 0);

  dc_run_result_free (r);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gst_object_unref (bus);
  gst_object_unref (ctx.sink);
  gst_object_unref (pipeline);
  g_free (desc);
  for (i = 0; i < G_N_ELEMENTS (ctx.spare); i++)
    g_free (ctx.spare[i]);
  umount2 (dir, MNT_DETACH);
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
  tcase_add_test (tc, test_flushing_seek);
  tcase_add_test (tc, test_flush_after_eos);
  tcase_add_test (tc, test_open_fails_no_inodes);
  tcase_add_test (tc, test_open_fails_next_not_torn);
  return s;
}

GST_CHECK_MAIN (looprecsink_robust);
