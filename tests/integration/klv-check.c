/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Test helper: reads back the KLV (MISB ST 0601 local sets) of recorded
 * MPEG-TS files and compares them with the NMEA log gpsfake replayed.
 *
 *   klv-check [--nmea LOG [--sent SENT]] [--tolerance-ms 100]
 *             [--track OUT] FILE.ts...
 *
 * The files are read in order as one timeline (looprecsink keeps the
 * stream's timestamps). Every local set must pass its checksum. With
 * --nmea, every fix of the log (RMC with status A) must be found exactly
 * once among the current (not repeated) sets, its position within 1e-6
 * degree, inside the video of its file. With --sent, the times at which
 * gpsfake sent each sentence ("EPOCH_SECONDS ... $GPGGA,..." lines, from
 * gpsfake -l): each fix's timestamp in the stream, less the time its last
 * sentence was sent, must be the same for every fix within the tolerance,
 * i.e. each fix is stamped when it happened, next to the video frames
 * captured at that moment (the clocks' offset cancels out; gpsfake itself
 * drifts from the log's UTC under load, so the log's times cannot serve).
 * --track writes "pts_s lat lon speed quality" lines. Prints a summary;
 * exit status 0 when everything holds.
 */

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dashcamgps.h"
#include "dashcamts.h"

typedef struct
{
  guint64 pts;                  /* ns, unwrapped */
  DashcamGpsFix fix;
  guint file;
} Set;

typedef struct
{
  GArray *sets;                 /* Set */
  GArray *video_first;          /* guint64 per file */
  GArray *video_last;
  guint bad_sets;
} Reader;

/* One file: its local sets (dashcam_klv_scan_ts) and the PTS range of its
 * video, both on the stream clock. */
static gboolean
read_file (Reader * rd, const gchar * path)
{
  gchar *data;
  gsize size, i;
  guint64 first = G_MAXUINT64, last = 0;
  guint file = rd->video_first->len, bad = 0;
  DashcamTsParser parser;
  GArray *found;

  if (!g_file_get_contents (path, &data, &size, NULL)) {
    g_printerr ("cannot read %s\n", path);
    return FALSE;
  }
  dashcam_ts_parser_init (&parser);
  for (i = 0; i + 188 <= size; i += 188) {
    DashcamTsPacketInfo info;

    if (data[i] != 0x47)
      continue;
    dashcam_ts_parser_parse (&parser, (const guint8 *) data + i, &info);
    if (info.is_primary && info.has_pts) {
      first = MIN (first, info.pts);
      last = MAX (last, info.pts);
    }
  }
  g_array_append_val (rd->video_first, first);
  g_array_append_val (rd->video_last, last);

  found = dashcam_klv_scan_ts ((const guint8 *) data, size, &bad);
  rd->bad_sets += bad;
  for (i = 0; i < found->len; i++) {
    DashcamKlvSet *k = &g_array_index (found, DashcamKlvSet, i);
    Set s = { k->pts, k->fix, file };

    if (k->has_pts)
      g_array_append_val (rd->sets, s);
    else
      rd->bad_sets++;
  }
  g_array_unref (found);
  g_free (data);
  return TRUE;
}

static GArray *
read_nmea (const gchar * path)
{
  GArray *fixes = g_array_new (FALSE, FALSE, sizeof (DashcamGpsFix));
  gchar *text, **lines;
  guint i;

  if (!g_file_get_contents (path, &text, NULL, NULL)) {
    g_printerr ("cannot read %s\n", path);
    return fixes;
  }
  lines = g_strsplit (text, "\n", -1);
  for (i = 0; lines[i]; i++) {
    DashcamGpsFix fix;

    g_strchomp (lines[i]);
    if (dashcam_nmea_parse_rmc (lines[i], &fix)
        && dashcam_gps_fix_is_current (&fix))
      g_array_append_val (fixes, fix);
  }
  g_strfreev (lines);
  g_free (text);
  return fixes;
}

/* "hhmmss.ss" -> milliseconds of the day, or -1 */
static gint64
tod_ms (const gchar * f)
{
  if (strlen (f) < 6 || !g_ascii_isdigit (f[0]))
    return -1;
  return ((f[0] - '0') * 10 + f[1] - '0') * 3600000 +
      ((f[2] - '0') * 10 + f[3] - '0') * 60000 +
      (gint64) llround (g_ascii_strtod (f + 4, NULL) * 1000);
}

/* time of day (ms) of each sentence -> when its last sentence was sent,
 * in nanoseconds */
static GHashTable *
read_sent (const gchar * path)
{
  GHashTable *sent = g_hash_table_new_full (g_int64_hash, g_int64_equal,
      g_free, g_free);
  gchar *text, **lines;
  guint i;

  if (!g_file_get_contents (path, &text, NULL, NULL)) {
    g_printerr ("cannot read %s\n", path);
    return sent;
  }
  lines = g_strsplit (text, "\n", -1);
  for (i = 0; lines[i]; i++) {
    const gchar *nmea = strchr (lines[i], '$');
    gchar **f;
    gint64 key, *k, *v;

    if (nmea == NULL)
      continue;
    f = g_strsplit (nmea, ",", 3);
    key = f[0] && f[1] ? tod_ms (f[1]) : -1;
    g_strfreev (f);
    if (key < 0)
      continue;
    k = g_new (gint64, 1);
    v = g_new (gint64, 1);
    *k = key;
    *v = (gint64) llround (g_ascii_strtod (lines[i], NULL) * 1e9);
    g_hash_table_replace (sent, k, v);
  }
  g_strfreev (lines);
  g_free (text);
  return sent;
}

static gint
cmp_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* The --nmea checks; returns the number of failures. */
static guint
check_against_log (Reader * rd, GArray * log, GHashTable * sent,
    gdouble tol_ms)
{
  guint i, j, missing = 0, dup = 0, unknown = 0, outside = 0, failures = 0;
  guint *seen = g_new0 (guint, log->len);
  gdouble max_err = 0, spread = 0;
  GArray *d = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 median = 0;

  for (i = 0; i < rd->sets->len; i++) {
    Set *s = &g_array_index (rd->sets, Set, i);
    gboolean found = FALSE;
    guint64 vf = g_array_index (rd->video_first, guint64, s->file);
    guint64 vl = g_array_index (rd->video_last, guint64, s->file);
    gint64 off;

    if (!dashcam_gps_fix_is_current (&s->fix))
      continue;
    for (j = 0; j < log->len && !found; j++) {
      DashcamGpsFix *f = &g_array_index (log, DashcamGpsFix, j);

      if (f->time_us != s->fix.time_us)
        continue;
      found = TRUE;
      seen[j]++;
      max_err = MAX (max_err, fabs (f->latitude - s->fix.latitude));
      max_err = MAX (max_err, fabs (f->longitude - s->fix.longitude));
    }
    if (!found)
      unknown++;
    if (sent) {
      gint64 key = (s->fix.time_us / 1000) % (24 * 3600 * 1000);
      gint64 *when = g_hash_table_lookup (sent, &key);

      if (when) {
        off = (gint64) s->pts - *when;
        g_array_append_val (d, off);
      } else {
        unknown++;
      }
    }
    if (s->pts + tol_ms * 1e6 < vf || s->pts > vl + tol_ms * 1e6)
      outside++;
  }
  for (j = 0; j < log->len; j++) {
    missing += seen[j] == 0;
    dup += seen[j] > 1;
    if (seen[j] != 1 && missing + dup <= 5)
      g_print ("  log fix %u (UTC us %" G_GINT64_FORMAT ") read back %u "
          "times\n", j, g_array_index (log, DashcamGpsFix, j).time_us,
          seen[j]);
  }
  if (d->len) {
    GArray *sorted = g_array_copy (d);

    g_array_sort (sorted, cmp_gint64);
    median = g_array_index (sorted, gint64, sorted->len / 2);
    g_array_unref (sorted);
    for (i = 0; i < d->len; i++) {
      gdouble dev = (g_array_index (d, gint64, i) - median) / 1e6;

      if (fabs (dev) > tol_ms / 2)
        g_print ("  fix %u of the stream: %+.1f ms from the median\n", i, dev);
      spread = MAX (spread, fabs (dev));
    }
  }
  g_print ("fixes in the log: %u, read back once: %u, missing: %u, "
      "more than once: %u, not in the log: %u\n", log->len,
      log->len - missing - dup, missing, dup, unknown);
  g_print ("largest position error: %.2e degree\n", max_err);
  g_print ("sets outside their file's video: %u\n", outside);
  if (sent)
    g_print ("timestamp minus time sent: %u fixes, largest deviation from "
        "the median %.1f ms\n", d->len, spread);
  failures += missing + dup + unknown + outside;
  failures += max_err > 1e-6;
  failures += spread > tol_ms;
  g_array_unref (d);
  g_free (seen);
  return failures;
}

int
main (int argc, char **argv)
{
  gchar *nmea = NULL, *track = NULL, *sent_path = NULL;
  gdouble tol_ms = 100;
  GOptionEntry entries[] = {
    {"nmea", 0, 0, G_OPTION_ARG_FILENAME, &nmea, "NMEA log to compare with",
        "LOG"},
    {"sent", 0, 0, G_OPTION_ARG_FILENAME, &sent_path,
        "When gpsfake sent each sentence", "SENT"},
    {"tolerance-ms", 0, 0, G_OPTION_ARG_DOUBLE, &tol_ms,
        "Largest timing deviation, ms", "MS"},
    {"track", 0, 0, G_OPTION_ARG_FILENAME, &track, "Write the track", "OUT"},
    {NULL}
  };
  GOptionContext *ctx = g_option_context_new ("FILE.ts...");
  GError *err = NULL;
  Reader rd = { 0 };
  guint i, fixes = 0, stale = 0, none = 0, failures = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &err) || argc < 2) {
    g_printerr ("%s\n", err ? err->message : "no file");
    return 2;
  }
  rd.sets = g_array_new (FALSE, FALSE, sizeof (Set));
  rd.video_first = g_array_new (FALSE, FALSE, sizeof (guint64));
  rd.video_last = g_array_new (FALSE, FALSE, sizeof (guint64));
  for (i = 1; i < (guint) argc; i++)
    if (!read_file (&rd, argv[i]))
      return 2;

  for (i = 0; i < rd.sets->len; i++) {
    Set *s = &g_array_index (rd.sets, Set, i);

    fixes += dashcam_gps_fix_is_current (&s->fix);
    stale += s->fix.quality == DASHCAM_GPS_STALE;
    none += s->fix.quality == DASHCAM_GPS_NO_POSITION;
  }
  g_print ("%u files, %u KLV sets: %u fixes, %u repeated stale, %u without "
      "position; %u sets unreadable\n", argc - 1, rd.sets->len, fixes, stale,
      none, rd.bad_sets);
  failures += rd.bad_sets;
  if (track) {
    FILE *f = fopen (track, "w");

    for (i = 0; f && i < rd.sets->len; i++) {
      Set *s = &g_array_index (rd.sets, Set, i);

      fprintf (f, "%.3f %.7f %.7f %.0f %d\n", s->pts / 1e9, s->fix.latitude,
          s->fix.longitude, s->fix.speed, s->fix.quality);
    }
    if (f)
      fclose (f);
  }
  if (nmea) {
    GArray *log = read_nmea (nmea);
    GHashTable *sent = sent_path ? read_sent (sent_path) : NULL;

    failures += check_against_log (&rd, log, sent, tol_ms);
    g_array_unref (log);
    if (sent)
      g_hash_table_unref (sent);
  }
  g_print ("%s\n", failures ? "KLV CHECK FAILED" : "KLV CHECK OK");
  return failures ? 1 : 0;
}
