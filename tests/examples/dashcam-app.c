/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* An application embedding the dashcam:
 *
 *   dashcam-app LOCATION [srt://HOST:PORT]
 *
 * Runs a camera (or a test pattern) into dashcambin, prints every message
 * of the recorder and the uploader on one line, locks the segments around
 * "now" when it receives SIGUSR1 (a stand-in for a G-sensor), prints the
 * uploader's stats every 5 s, and turns Ctrl-C (or SIGTERM) into EOS and a
 * clean stop, so the last segment is complete. */

#include <gst/gst.h>
#include <glib-unix.h>

#include <signal.h>

typedef struct
{
  GMainLoop *loop;
  GstElement *pipeline;
  GstElement *recorder;
  GstElement *uploader;
  gboolean stopping;
} App;

static gboolean
on_bus (GstBus * bus, GstMessage * msg, gpointer data)
{
  App *app = data;
  const GstStructure *s = gst_message_get_structure (msg);

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:
      if (s && (g_str_has_prefix (gst_structure_get_name (s), "looprecsink-")
              || g_str_has_prefix (gst_structure_get_name (s),
                  "srtuploadsink-"))) {
        gchar *line = gst_structure_to_string (s);

        g_print ("%s\n", line);
        g_free (line);
      }
      break;
    case GST_MESSAGE_WARNING:{
      GError *err = NULL;

      gst_message_parse_warning (msg, &err, NULL);
      g_printerr ("warning: %s\n", err->message);
      g_clear_error (&err);
      break;
    }
    case GST_MESSAGE_ERROR:{
      GError *err = NULL;

      gst_message_parse_error (msg, &err, NULL);
      g_printerr ("error: %s\n", err->message);
      g_clear_error (&err);
      g_main_loop_quit (app->loop);
      break;
    }
    case GST_MESSAGE_EOS:
      g_main_loop_quit (app->loop);
      break;
    default:
      break;
  }
  return TRUE;
}

/* The G-sensor: lock lock-pre-time before and lock-post-time after now. */
static gboolean
on_sigusr1 (gpointer data)
{
  App *app = data;

  g_print ("event: locking the segments around now\n");
  g_signal_emit_by_name (app->recorder, "lock", G_MAXUINT64, G_MAXUINT64);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_stop (gpointer data)
{
  App *app = data;

  if (app->stopping) {
    g_main_loop_quit (app->loop);
    return G_SOURCE_CONTINUE;
  }
  g_print ("stopping: EOS\n");
  app->stopping = TRUE;
  gst_element_send_event (app->pipeline, gst_event_new_eos ());
  return G_SOURCE_CONTINUE;
}

static gboolean
print_stats (gpointer data)
{
  App *app = data;
  GstStructure *stats = NULL;
  gchar *str;

  if (app->uploader == NULL)
    return G_SOURCE_CONTINUE;
  g_object_get (app->uploader, "stats", &stats, NULL);
  str = gst_structure_to_string (stats);
  g_print ("%s\n", str);
  g_free (str);
  gst_structure_free (stats);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  App app = { 0, };
  GstElement *bin;
  GError *err = NULL;
  gchar *desc;
  GstBus *bus;

  gst_init (&argc, &argv);
  if (argc < 2) {
    g_printerr ("usage: %s LOCATION [srt://HOST:PORT]\n", argv[0]);
    return 2;
  }
  desc = g_strdup_printf ("%s ! dashcambin name=dashcam location=\"%s\" "
      "segment-duration=2000000000 %s%s%s",
      g_file_test ("/dev/video0", G_FILE_TEST_EXISTS) ?
      "v4l2src ! videoconvert" : "videotestsrc is-live=true pattern=ball ! "
      "video/x-raw,width=640,height=360,framerate=30/1", argv[1],
      argc > 2 ? "uri=\"" : "", argc > 2 ? argv[2] : "", argc > 2 ? "\"" : "");
  app.pipeline = gst_parse_launch (desc, &err);
  g_free (desc);
  if (err) {
    g_printerr ("%s\n", err->message);
    return 1;
  }
  bin = gst_bin_get_by_name (GST_BIN (app.pipeline), "dashcam");
  app.recorder = gst_bin_get_by_name (GST_BIN (bin), "recorder");
  if (argc > 2)
    app.uploader = gst_bin_get_by_name (GST_BIN (bin), "uploader");
  gst_object_unref (bin);

  app.loop = g_main_loop_new (NULL, FALSE);
  bus = gst_element_get_bus (app.pipeline);
  gst_bus_add_watch (bus, on_bus, &app);
  g_unix_signal_add (SIGUSR1, on_sigusr1, &app);
  g_unix_signal_add (SIGINT, on_stop, &app);
  g_unix_signal_add (SIGTERM, on_stop, &app);
  g_timeout_add_seconds (5, print_stats, &app);

  gst_element_set_state (app.pipeline, GST_STATE_PLAYING);
  g_main_loop_run (app.loop);
  gst_element_set_state (app.pipeline, GST_STATE_NULL);

  gst_object_unref (bus);
  gst_clear_object (&app.uploader);
  gst_object_unref (app.recorder);
  gst_object_unref (app.pipeline);
  g_main_loop_unref (app.loop);
  return 0;
}
