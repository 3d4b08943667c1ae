/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* objstore-upload: one upload through dashcamobjstore, timed, for
 * bench/objstore-bench.sh. Prints one line:
 *   result=done bytes=N seconds=S mbit=R parts=P
 * The secret comes from the environment (AWS_SECRET_ACCESS_KEY), never
 * from the command line. */

#include "dashcamobjstore.h"

#include <gst/gst.h>
#include <stdlib.h>

int
main (int argc, char **argv)
{
  gchar *endpoint = NULL, *ca = NULL;
  gint64 bitrate = 0, part_size = 0;
  GOptionEntry entries[] = {
    {"endpoint", 0, 0, G_OPTION_ARG_STRING, &endpoint, "s3 endpoint", "URL"},
    {"ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca, "CA file", "FILE"},
    {"bitrate", 0, 0, G_OPTION_ARG_INT64, &bitrate, "bits per second", "B"},
    {"part-size", 0, 0, G_OPTION_ARG_INT64, &part_size, "bytes", "N"},
    {NULL}
  };
  GOptionContext *ctx = g_option_context_new ("URI FILE KEY");
  DashcamObjstoreConfig cfg = { 0, };
  DashcamObjstoreOutcome o;
  DashcamObjstoreResult res;
  DashcamObjstore *s;
  GError *err = NULL;
  gint64 t0;
  gdouble secs;

  gst_init (NULL, NULL);
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &err) || argc != 4) {
    g_printerr ("usage: objstore-upload [OPTION...] URI FILE KEY\n");
    return 2;
  }
  cfg.uri = argv[1];
  cfg.endpoint = endpoint;
  cfg.ca_file = ca;
  cfg.max_bitrate = bitrate;
  cfg.part_size = part_size;
  s = dashcam_objstore_new (&cfg, &err);
  if (s == NULL) {
    g_printerr ("%s\n", err->message);
    return 2;
  }
  t0 = g_get_monotonic_time ();
  res = dashcam_objstore_upload (s, argv[2], argv[3], NULL, NULL, NULL, &o);
  secs = (g_get_monotonic_time () - t0) / 1e6;
  g_print ("result=%s bytes=%" G_GUINT64_FORMAT " seconds=%.2f mbit=%.3f "
      "parts=%u reason=\"%s\"\n", dashcam_objstore_result_name (o.result),
      o.bytes_sent, secs, o.bytes_sent * 8 / secs / 1e6, o.parts_done,
      o.reason ? o.reason : "");
  dashcam_objstore_outcome_clear (&o);
  dashcam_objstore_free (s);
  return res == DASHCAM_OBJSTORE_DONE ? 0 : 1;
}
