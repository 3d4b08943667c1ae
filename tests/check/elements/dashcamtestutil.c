/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Helpers shared by the element tests: temporary directories, running a
 * pipeline to EOS while collecting its messages, and asking ffmpeg/ffprobe
 * what a file really holds. */

#include "dashcamtestutil.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

gchar *
dc_make_tmpdir (void)
{
  GError *err = NULL;
  gchar *dir = g_dir_make_tmp ("dashcam-test-XXXXXX", &err);

  g_assert_no_error (err);
  return dir;
}

void
dc_rm_rf (const gchar * path)
{
  gchar *argv[] = { (gchar *) "rm", (gchar *) "-rf", (gchar *) path, NULL };

  if (path)
    g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
        NULL, NULL, NULL);
}

gboolean
dc_have_elements (const gchar * first, ...)
{
  const gchar *name = first;
  gboolean ok = TRUE;
  va_list args;

  va_start (args, first);
  for (; name; name = va_arg (args, const gchar *)) {
    GstElementFactory *f = gst_element_factory_find (name);

    if (f == NULL) {
      g_printerr ("SKIP: element %s is not installed\n", name);
      ok = FALSE;
    } else {
      gst_object_unref (f);
    }
  }
  va_end (args);
  return ok;
}

gboolean
dc_have_ffmpeg (void)
{
  gchar *p1 = g_find_program_in_path ("ffmpeg");
  gchar *p2 = g_find_program_in_path ("ffprobe");
  gboolean ok = p1 && p2;

  if (!ok)
    g_printerr ("SKIP: ffmpeg/ffprobe not installed\n");
  g_free (p1);
  g_free (p2);
  return ok;
}

static gchar *
describe (GError * err, const gchar * debug)
{
  return g_strdup_printf ("%s | %s", err ? err->message : "",
      debug ? debug : "");
}

DcRunResult *
dc_run_pipeline (GstElement * pipeline, guint timeout_s)
{
  DcRunResult *r = g_new0 (DcRunResult, 1);
  GstBus *bus = gst_element_get_bus (pipeline);
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
  gboolean done = FALSE;

  r->elements = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_structure_free);
  r->warnings = g_ptr_array_new_with_free_func (g_free);
  r->errors = g_ptr_array_new_with_free_func (g_free);

  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE)
    done = TRUE;

  while (!done || gst_bus_have_pending (bus)) {
    gint64 left = deadline - g_get_monotonic_time ();
    GstMessage *msg;
    GError *err = NULL;
    gchar *debug = NULL;

    if (left <= 0 && !done) {
      r->timed_out = TRUE;
      break;
    }
    msg = gst_bus_timed_pop (bus, done ? 0 : left * GST_USECOND);
    if (msg == NULL)
      continue;
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_ELEMENT:
        if (gst_message_get_structure (msg))
          g_ptr_array_add (r->elements,
              gst_structure_copy (gst_message_get_structure (msg)));
        break;
      case GST_MESSAGE_WARNING:
        gst_message_parse_warning (msg, &err, &debug);
        g_ptr_array_add (r->warnings, describe (err, debug));
        break;
      case GST_MESSAGE_ERROR:
        gst_message_parse_error (msg, &err, &debug);
        g_ptr_array_add (r->errors, describe (err, debug));
        done = TRUE;
        break;
      case GST_MESSAGE_EOS:
        r->eos = TRUE;
        done = TRUE;
        break;
      default:
        break;
    }
    g_clear_error (&err);
    g_free (debug);
    gst_message_unref (msg);
  }

  gst_element_set_state (pipeline, GST_STATE_NULL);
  /* messages posted while stopping (a segment closed at stop, a thread's
   * last warning) */
  while (gst_bus_have_pending (bus)) {
    GstMessage *msg = gst_bus_pop (bus);

    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT
        && gst_message_get_structure (msg)) {
      g_ptr_array_add (r->elements,
          gst_structure_copy (gst_message_get_structure (msg)));
    } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING) {
      GError *err = NULL;
      gchar *debug = NULL;

      gst_message_parse_warning (msg, &err, &debug);
      g_ptr_array_add (r->warnings, describe (err, debug));
      g_clear_error (&err);
      g_free (debug);
    }
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
  return r;
}

DcRunResult *
dc_run_launch (const gchar * description, guint timeout_s)
{
  GError *err = NULL;
  GstElement *pipeline = gst_parse_launch (description, &err);
  DcRunResult *r;

  if (err) {
    r = g_new0 (DcRunResult, 1);
    r->elements = g_ptr_array_new ();
    r->warnings = g_ptr_array_new_with_free_func (g_free);
    r->errors = g_ptr_array_new_with_free_func (g_free);
    g_ptr_array_add (r->errors, describe (err, "gst_parse_launch"));
    g_clear_error (&err);
    if (pipeline)
      gst_object_unref (pipeline);
    return r;
  }
  r = dc_run_pipeline (pipeline, timeout_s);
  gst_object_unref (pipeline);
  return r;
}

void
dc_run_result_free (DcRunResult * r)
{
  g_ptr_array_unref (r->elements);
  g_ptr_array_unref (r->warnings);
  g_ptr_array_unref (r->errors);
  g_free (r);
}

guint
dc_count_messages (DcRunResult * r, const gchar * name)
{
  guint i, n = 0;

  for (i = 0; i < r->elements->len; i++) {
    if (gst_structure_has_name (g_ptr_array_index (r->elements, i), name))
      n++;
  }
  return n;
}

GstStructure *
dc_find_message (DcRunResult * r, const gchar * name, guint nth)
{
  guint i;

  for (i = 0; i < r->elements->len; i++) {
    GstStructure *s = g_ptr_array_index (r->elements, i);

    if (gst_structure_has_name (s, name) && nth-- == 0)
      return s;
  }
  return NULL;
}

static gboolean
strings_contain (GPtrArray * a, const gchar * text)
{
  guint i;

  for (i = 0; i < a->len; i++) {
    if (strstr (g_ptr_array_index (a, i), text))
      return TRUE;
  }
  return FALSE;
}

gboolean
dc_errors_contain (DcRunResult * r, const gchar * text)
{
  return strings_contain (r->errors, text);
}

gboolean
dc_warnings_contain (DcRunResult * r, const gchar * text)
{
  return strings_contain (r->warnings, text);
}

static gint
compare_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar **) a, *(const gchar **) b);
}

/* Full paths of the regular files in @dir ending in @suffix, sorted. */
GPtrArray *
dc_list_files (const gchar * dir, const gchar * suffix)
{
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  GDir *d = g_dir_open (dir, 0, NULL);
  const gchar *name;

  if (d == NULL)
    return files;
  while ((name = g_dir_read_name (d))) {
    gchar *path = g_build_filename (dir, name, NULL);

    if (g_str_has_suffix (name, suffix)
        && g_file_test (path, G_FILE_TEST_IS_REGULAR))
      g_ptr_array_add (files, path);
    else
      g_free (path);
  }
  g_dir_close (d);
  g_ptr_array_sort (files, compare_str);
  return files;
}

gchar *
dc_make_ts (const gchar * dir, const gchar * name, guint frames,
    guint key_int, const gchar * encoder_options)
{
  gchar *path = g_build_filename (dir, name, NULL);
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=%u pattern=ball ! "
      "video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! "
      "x264enc key-int-max=%u %s ! h264parse ! mpegtsmux ! "
      "filesink location=%s", frames, key_int,
      encoder_options ? encoder_options : "", path);
  DcRunResult *r = dc_run_launch (desc, 120);

  fail_unless (r->eos, "making %s failed: %s", path,
      r->errors->len ? (gchar *) g_ptr_array_index (r->errors, 0) : "timeout");
  dc_run_result_free (r);
  g_free (desc);
  return path;
}

static gchar *
run_capture (const gchar * const *argv, gint * status)
{
  gchar *out = NULL;
  GError *err = NULL;

  if (!g_spawn_sync (NULL, (gchar **) argv, NULL,
          G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
          NULL, status, &err)) {
    g_printerr ("could not run %s: %s\n", argv[0], err->message);
    g_clear_error (&err);
    *status = -1;
  }
  return out;
}

gint
dc_ffprobe_video_frames (const gchar * path)
{
  const gchar *argv[] = { "ffprobe", "-v", "error", "-select_streams", "v:0",
    "-count_packets", "-show_entries", "stream=nb_read_packets", "-of",
    "csv=p=0", path, NULL
  };
  gint status;
  gchar *out = run_capture (argv, &status);
  gint n = out && *out ? atoi (out) : -1;

  g_free (out);
  return status == 0 ? n : -1;
}

gboolean
dc_ffprobe_starts_with_keyframe (const gchar * path)
{
  const gchar *argv[] = { "ffprobe", "-v", "error", "-select_streams", "v:0",
    "-read_intervals", "%+#1", "-show_entries", "packet=flags", "-of",
    "csv=p=0", path, NULL
  };
  gint status;
  gchar *out = run_capture (argv, &status);
  gboolean ok = status == 0 && out && out[0] == 'K';

  g_free (out);
  return ok;
}

gboolean
dc_ffmpeg_decodes (const gchar * path)
{
  const gchar *argv[] = { "ffmpeg", "-nostdin", "-v", "error", "-xerror",
    "-i", path, "-map", "0:v", "-f", "null", "-", NULL
  };
  gint status;
  gchar *out = run_capture (argv, &status);

  g_free (out);
  return status == 0;
}

static gint
compare_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : (x > y ? 1 : 0);
}

/* Video packet PTS in 90 kHz ticks, in presentation order. */
GArray *
dc_ffprobe_video_pts (const gchar * path)
{
  const gchar *argv[] = { "ffprobe", "-v", "error", "-select_streams", "v:0",
    "-show_entries", "packet=pts", "-of", "csv=p=0", path, NULL
  };
  GArray *pts = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint status;
  gchar *out = run_capture (argv, &status);
  gchar **lines = g_strsplit (out ? out : "", "\n", -1);
  guint i;

  for (i = 0; lines[i]; i++) {
    gchar *l = g_strstrip (lines[i]);
    gint64 v;

    if (*l == '\0')
      continue;
    v = g_ascii_strtoll (l, NULL, 10);
    g_array_append_val (pts, v);
  }
  g_array_sort (pts, compare_i64);
  g_strfreev (lines);
  g_free (out);
  return pts;
}

/* From the first frame's start to the last frame's end, in seconds. */
gdouble
dc_ffprobe_video_duration (const gchar * path)
{
  GArray *pts = dc_ffprobe_video_pts (path);
  gint64 frame = G_MAXINT64, first, last;
  guint i;

  if (pts->len < 2) {
    g_array_unref (pts);
    return 0;
  }
  for (i = 1; i < pts->len; i++) {
    gint64 d = g_array_index (pts, gint64, i) - g_array_index (pts, gint64,
        i - 1);
    if (d > 0 && d < frame)
      frame = d;
  }
  first = g_array_index (pts, gint64, 0);
  last = g_array_index (pts, gint64, pts->len - 1);
  g_array_unref (pts);
  return (last - first + frame) / 90000.0;
}

guint64
dc_file_size (const gchar * path)
{
  GStatBuf st;

  if (g_stat (path, &st) < 0)
    return 0;
  return st.st_size;
}

gboolean
dc_mount_tmpfs (const gchar * dir, const gchar * size)
{
  gchar *opts = g_strdup_printf ("size=%s", size);
  gboolean ok = mount ("tmpfs", dir, "tmpfs", 0, opts) == 0;

  if (!ok)
    g_printerr ("SKIP: cannot mount a tmpfs on %s: %s\n", dir,
        g_strerror (errno));
  g_free (opts);
  return ok;
}

void
dc_umount (const gchar * dir)
{
  umount2 (dir, MNT_DETACH);
}

/* Starts the reference receiver on a free port; NULL (and a SKIP line) if
 * it is not built. */
DcIngest *
dc_ingest_start (void)
{
  const gchar *bin = g_getenv ("DASHCAM_INGEST");
  DcIngest *ing;
  gchar *argv[5];
  gint out_fd;
  GError *err = NULL;
  GIOChannel *ch;
  gchar *line = NULL;

  if (bin == NULL || !g_file_test (bin, G_FILE_TEST_IS_EXECUTABLE)) {
    g_printerr ("SKIP: no dashcam-ingest (DASHCAM_INGEST)\n");
    return NULL;
  }
  ing = g_new0 (DcIngest, 1);
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

/* Stops the receiver (SIGTERM, then SIGKILL) and removes what it wrote. */
void
dc_ingest_stop (DcIngest * ing)
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
