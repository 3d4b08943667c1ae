/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* dashcambin: the whole client as one element, against the reference
 * receiver. */

#include "dashcamtestutil.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CAMERA "videotestsrc is-live=true pattern=ball num-buffers=%u ! " \
  "video/x-raw,width=320,height=240,framerate=30/1 ! "

typedef struct
{
  GPid pid;
  gchar *root;
  guint port;
} Ingest;

/* Starts the reference receiver on a free port; NULL (and a SKIP) if it
 * is not built. */
static Ingest *
ingest_start (void)
{
  const gchar *bin = g_getenv ("DASHCAM_INGEST");
  Ingest *ing;
  gchar *argv[6];
  gint out_fd;
  GError *err = NULL;
  GIOChannel *ch;
  gchar *line = NULL;

  if (bin == NULL || !g_file_test (bin, G_FILE_TEST_IS_EXECUTABLE)) {
    g_printerr ("SKIP: no dashcam-ingest (DASHCAM_INGEST)\n");
    return NULL;
  }
  ing = g_new0 (Ingest, 1);
  ing->root = dc_make_tmpdir ();
  argv[0] = (gchar *) bin;
  argv[1] = (gchar *) "--port=0";
  argv[2] = g_strdup_printf ("--root=%s", ing->root);
  argv[3] = (gchar *) "--quiet";
  argv[4] = NULL;
  fail_unless (g_spawn_async_with_pipes (NULL, argv, NULL,
          G_SPAWN_DEFAULT, NULL, NULL, &ing->pid, NULL, &out_fd, NULL, &err));
  g_free (argv[2]);
  ch = g_io_channel_unix_new (out_fd);
  g_io_channel_read_line (ch, &line, NULL, NULL, NULL);
  fail_unless (line && g_str_has_prefix (line, "listening on "), "%s", line);
  ing->port = atoi (strrchr (line, ':') + 1);
  g_free (line);
  g_io_channel_unref (ch);
  return ing;
}

static void
ingest_stop (Ingest * ing)
{
  if (ing == NULL)
    return;
  kill (ing->pid, SIGTERM);
  g_usleep (300 * 1000);
  kill (ing->pid, SIGKILL);
  g_spawn_close_pid (ing->pid);
  dc_rm_rf (ing->root);
  g_free (ing->root);
  g_free (ing);
}

static gboolean
have_all (void)
{
  return dc_have_elements ("videotestsrc", "x264enc", "mpegtsmux",
      "h264parse", "dashcambin", NULL) && dc_have_ffmpeg ();
}

static void
assert_clean (DcRunResult * r)
{
  fail_unless (r->errors->len == 0, "%s",
      r->errors->len ? (gchar *) g_ptr_array_index (r->errors, 0) : "");
  fail_unless (r->eos && !r->timed_out);
}

/* gst-launch-1.0 -e videotestsrc is-live=true ! dashcambin location=D
 * uri=srt://127.0.0.1:PORT records and streams. */
GST_START_TEST (test_records_and_streams)
{
  gchar *dir = dc_make_tmpdir (), *desc, *live_dir;
  Ingest *ing;
  DcRunResult *r;
  GPtrArray *segs, *live;
  guint i;

  if (!have_all () || !(ing = ingest_start ()))
    goto out;
  desc = g_strdup_printf (CAMERA "dashcambin location=%s "
      "uri=srt://127.0.0.1:%u device-id=car9 segment-duration=1000000000",
      120, dir, ing->port);
  r = dc_run_launch (desc, 60);
  assert_clean (r);

  /* the children's messages reach the application unchanged */
  fail_unless (dc_count_messages (r, "looprecsink-segment-closed") >= 3);
  fail_unless (dc_count_messages (r, "srtuploadsink-link") >= 1);
  fail_unless_equals_string (gst_structure_get_string (dc_find_message (r,
              "srtuploadsink-link", 1), "state"), "up");

  segs = dc_list_files (dir, ".ts");
  fail_unless (segs->len >= 3);
  for (i = 0; i < segs->len; i++) {
    fail_unless (dc_ffprobe_starts_with_keyframe (g_ptr_array_index (segs,
                i)));
    fail_unless (dc_ffmpeg_decodes (g_ptr_array_index (segs, i)));
  }
  g_usleep (500 * 1000);
  live_dir = g_build_filename (ing->root, "car9", NULL);
  live = dc_list_files (live_dir, ".ts");
  fail_unless_equals_int (live->len, 1);
  fail_unless (dc_ffprobe_starts_with_keyframe (g_ptr_array_index (live, 0)));
  fail_unless (dc_ffprobe_video_frames (g_ptr_array_index (live, 0)) >= 90);

  g_ptr_array_unref (live);
  g_ptr_array_unref (segs);
  g_free (live_dir);
  dc_run_result_free (r);
  g_free (desc);
  ingest_stop (ing);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* recorder::max-files=2 is honoured; without uri it records only. */
GST_START_TEST (test_child_property)
{
  gchar *dir = dc_make_tmpdir (), *desc;
  DcRunResult *r;

  if (!have_all ())
    goto out;
  desc = g_strdup_printf (CAMERA "dashcambin location=%s "
      "segment-duration=1000000000 recorder::max-files=2", 150, dir);
  r = dc_run_launch (desc, 60);
  assert_clean (r);
  fail_unless (dc_count_messages (r, "looprecsink-segment-deleted") >= 2);
  fail_unless_equals_int (dc_count_messages (r, "srtuploadsink-link"), 0);
  fail_unless_equals_int (dc_list_files (dir, ".ts")->len, 2);
  dc_run_result_free (r);
  g_free (desc);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* An invalid child property is a clear error. */
GST_START_TEST (test_invalid_child_property)
{
  GError *err = NULL;
  GstElement *p;

  if (!have_all ())
    return;
  p = gst_parse_launch ("videotestsrc ! dashcambin location=/tmp/x "
      "recorder::no-such-thing=1", &err);
  fail_unless (err != NULL);
  fail_unless (strstr (err->message, "recorder::no-such-thing") != NULL, "%s",
      err->message);
  g_clear_error (&err);
  gst_clear_object (&p);

  /* a value of the wrong type for a real property */
  p = gst_parse_launch ("videotestsrc ! dashcambin location=/tmp/x "
      "recorder::max-files=many", &err);
  fail_unless (err != NULL);
  fail_unless (strstr (err->message, "max-files") != NULL, "%s",
      err->message);
  g_clear_error (&err);
  gst_clear_object (&p);
}

GST_END_TEST;

/* The audio request pad adds AAC next to H.264 (8-bit 4:2:0). */
GST_START_TEST (test_audio_and_video)
{
  gchar *dir = dc_make_tmpdir (), *desc, *out = NULL;
  const gchar *argv[] = { "ffprobe", "-v", "error", "-show_entries",
    "stream=codec_name,profile,pix_fmt", "-of", "csv=p=0", NULL, NULL
  };
  DcRunResult *r;
  GPtrArray *segs;

  if (!have_all ())
    goto done;
  desc = g_strdup_printf (CAMERA "d.video audiotestsrc is-live=true "
      "num-buffers=150 ! d.audio dashcambin name=d location=%s", 90, dir);
  r = dc_run_launch (desc, 60);
  assert_clean (r);
  segs = dc_list_files (dir, ".ts");
  fail_unless_equals_int (segs->len, 1);
  argv[7] = g_ptr_array_index (segs, 0);
  fail_unless (g_spawn_sync (NULL, (gchar **) argv, NULL,
          G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL, NULL, NULL));
  fail_unless (strstr (out, "h264,High,yuv420p") != NULL, "%s", out);
  fail_unless (strstr (out, "aac") != NULL, "%s", out);
  g_free (out);
  g_ptr_array_unref (segs);
  dc_run_result_free (r);
  g_free (desc);
done:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* gst-inspect-1.0 dashcambin documents every property with its unit. */
GST_START_TEST (test_property_docs)
{
  GstElement *bin = gst_element_factory_make ("dashcambin", NULL);
  GParamSpec **props;
  guint n, i, ours = 0;

  fail_unless (bin != NULL);
  props = g_object_class_list_properties (G_OBJECT_GET_CLASS (bin), &n);
  for (i = 0; i < n; i++) {
    const gchar *name = g_param_spec_get_name (props[i]);
    const gchar *blurb = g_param_spec_get_blurb (props[i]);

    if (props[i]->owner_type != G_OBJECT_TYPE (bin))
      continue;
    ours++;
    fail_unless (blurb && strlen (blurb) > 15, "%s", name);
    if (g_str_equal (name, "segment-duration"))
      fail_unless (strstr (blurb, "nanoseconds") != NULL);
    if (g_str_equal (name, "bitrate"))
      fail_unless (strstr (blurb, "kbit/s") != NULL);
  }
  fail_unless_equals_int (ours, 6);
  g_free (props);
  gst_object_unref (bin);
}

GST_END_TEST;

static Suite *
dashcambin_suite (void)
{
  Suite *s = suite_create ("dashcambin");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_records_and_streams);
  tcase_add_test (tc, test_child_property);
  tcase_add_test (tc, test_invalid_child_property);
  tcase_add_test (tc, test_audio_and_video);
  tcase_add_test (tc, test_property_docs);
  return s;
}

GST_CHECK_MAIN (dashcambin);
