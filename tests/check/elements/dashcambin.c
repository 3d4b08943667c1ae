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
#include <glib/gstdio.h>

#define CAMERA "videotestsrc is-live=true pattern=ball num-buffers=%u ! " \
  "video/x-raw,width=320,height=240,framerate=30/1 ! "

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
  DcIngest *ing;
  DcRunResult *r;
  GPtrArray *segs, *live;
  guint i;

  if (!have_all () || !(ing = dc_ingest_start ()))
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
  dc_ingest_stop (ing);
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

/* gps= adds a KLV data stream; with no gpsd there it carries sets without
 * a position, and the video's end still ends the recording (the GPS source
 * alone would run forever). */
GST_START_TEST (test_gps_without_gpsd)
{
  gchar *dir = dc_make_tmpdir (), *desc, *out = NULL;
  const gchar *argv[] = { "ffprobe", "-v", "error", "-show_entries",
    "stream=codec_type,codec_tag_string", "-of", "csv=p=0", NULL, NULL
  };
  DcRunResult *r;
  GPtrArray *segs;

  if (!have_all () || !dc_have_elements ("gpsklvsrc", NULL))
    goto done;
  /* port 9 (discard) on 127.0.0.1: nothing listens there */
  desc = g_strdup_printf (CAMERA "dashcambin location=%s gps=127.0.0.1:9",
      90, dir);
  r = dc_run_launch (desc, 60);
  fail_if (r->timed_out, "the recording did not end");
  assert_clean (r);
  fail_unless (dc_count_messages (r, "gpsklvsrc-state") >= 1);
  segs = dc_list_files (dir, ".ts");
  fail_unless_equals_int (segs->len, 1);
  fail_unless_equals_int (dc_ffprobe_video_frames (g_ptr_array_index (segs,
              0)), 90);
  argv[7] = g_ptr_array_index (segs, 0);
  fail_unless (g_spawn_sync (NULL, (gchar **) argv, NULL,
          G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL, NULL, NULL));
  fail_unless (strstr (out, "data,KLVA") != NULL, "%s", out);
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
  fail_unless_equals_int (ours, 7);
  g_free (props);
  gst_object_unref (bin);
}

GST_END_TEST;

/* An encoder that does not exist: the state change fails at once, and the
 * error names it and the property. */
GST_START_TEST (test_missing_encoder)
{
  gchar *dir = dc_make_tmpdir (), *desc;
  DcRunResult *r;

  if (!have_all ())
    goto out;
  desc = g_strdup_printf (CAMERA "dashcambin location=%s "
      "encoder=nonexistentenc", 30, dir);
  r = dc_run_launch (desc, 30);
  fail_if (r->timed_out);
  fail_unless (r->errors->len > 0);
  fail_unless (dc_errors_contain (r, "nonexistentenc"));
  fail_unless (dc_errors_contain (r, "\"encoder\""));
  fail_if (r->eos);
  dc_run_result_free (r);
  g_free (desc);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* Links in @dir to the plugin files of these factories. */
static void
link_plugins (const gchar * dir, const gchar * first, ...)
{
  const gchar *name;
  va_list args;

  va_start (args, first);
  for (name = first; name; name = va_arg (args, const gchar *)) {
    GstElementFactory *f = gst_element_factory_find (name);
    GstPlugin *plugin = gst_plugin_feature_get_plugin (GST_PLUGIN_FEATURE (f));
    const gchar *file = gst_plugin_get_filename (plugin);
    gchar *base = g_path_get_basename (file);
    gchar *link = g_build_filename (dir, base, NULL);

    if (!g_file_test (link, G_FILE_TEST_EXISTS))
      fail_unless (symlink (file, link) == 0);
    g_free (link);
    g_free (base);
    gst_object_unref (plugin);
    gst_object_unref (f);
  }
  va_end (args);
}

/* gst-launch-1.0 with a registry that has the camera, the encoder and the
 * parser but no mpegtsmux: dashcambin still links, and the pipeline fails
 * at once with an error naming mpegtsmux (before: "could not link
 * videotestsrc0 to dashcambin0", naming nothing). */
GST_START_TEST (test_missing_muxer)
{
  gchar *dir = dc_make_tmpdir (), *plugins, *registry;
  gchar *out = NULL, *err_out = NULL;
  gchar *location = g_strdup_printf ("location=%s/rec", dir);
  const gchar *argv[] = { "gst-launch-1.0", "videotestsrc", "num-buffers=30",
    "!", "dashcambin", location, NULL
  };
  gchar **envp = g_get_environ ();
  gint status;
  gint64 start;

  if (!have_all ())
    goto out;
  plugins = g_build_filename (dir, "plugins", NULL);
  registry = g_build_filename (dir, "registry.bin", NULL);
  g_mkdir (plugins, 0755);
  link_plugins (plugins, "queue", "videotestsrc", "videoconvert", "x264enc",
      "h264parse", NULL);
  envp = g_environ_setenv (envp, "GST_REGISTRY_1_0", registry, TRUE);
  envp = g_environ_setenv (envp, "GST_PLUGIN_SYSTEM_PATH_1_0", plugins, TRUE);
  start = g_get_monotonic_time ();
  fail_unless (g_spawn_sync (NULL, (gchar **) argv, envp, G_SPAWN_SEARCH_PATH,
          NULL, NULL, &out, &err_out, &status, NULL));
  /* the first run scans the plugins into the registry: allow for that */
  fail_unless (g_get_monotonic_time () - start < 60 * G_USEC_PER_SEC);
  fail_if (g_spawn_check_wait_status (status, NULL));
  fail_unless (strstr (err_out, "No element \"mpegtsmux\"") != NULL,
      "stdout: %s\nstderr: %s", out, err_out);
  fail_if (strstr (err_out, "CRITICAL") != NULL, "%s", err_out);
  g_free (out);
  g_free (err_out);
  g_free (registry);
  g_free (plugins);
out:
  g_strfreev (envp);
  g_free (location);
  dc_rm_rf (dir);
  g_free (dir);
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
  tcase_add_test (tc, test_gps_without_gpsd);
  tcase_add_test (tc, test_missing_encoder);
  tcase_add_test (tc, test_missing_muxer);
  return s;
}

GST_CHECK_MAIN (dashcambin);
