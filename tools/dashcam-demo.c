/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The dashcam demo: the real client (dashcambin: camera or test pattern,
 * x264, AAC, MPEG-TS, loop recorder, SRT uploader) streaming to the
 * reference receiver on 127.0.0.1, with a tunnel in the middle: the
 * receiver is stopped for about 15 s and started again. Prints a live
 * status line, then a report computed from the files — what was recorded,
 * what reached the server live, what came through the backlog, and whether
 * every recorded second is on the server — and draws a timeline (SVG) next
 * to the recordings. Exits 1 if anything recorded is missing on the
 * server. With --gps-log, gpsfake replays an NMEA log into a gpsd of its
 * own, dashcambin records the positions as KLV, and the status line shows
 * the position and speed the stream carries. */

#include <gst/gst.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <glib-unix.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dashcamgps.h"

#define SAMPLE_MS 250
#define OUTAGE_S 15
#define SEGMENT_S 5

typedef struct
{
  gdouble t;
  gint state;                   /* 0 down, 1 connecting, 2 up */
  guint64 bytes_sent;
  guint64 backlog_bytes;
  guint64 uploaded_bytes;
} Sample;

typedef struct
{
  /* options */
  gchar *uri;
  gchar *device_id;
  gchar *location;
  gint duration;
  gboolean no_outage;
  gchar *ingest_path;
  gchar *gps_log;

  /* gpsfake, with --gps-log */
  GPid gpsfake_pid;
  guint gps_port;
  GMutex gps_lock;
  DashcamGpsFix gps_fix;        /* the last set the stream carried */
  gboolean gps_seen;

  /* the receiver we run, when no --uri */
  gchar *server_root;
  GPid ingest_pid;
  guint port;

  GMainLoop *loop;
  GstElement *pipeline;
  GstElement *uploader;
  gint64 start_us;
  gboolean eos_sent;
  gboolean failed;
  gint outage_state;            /* 0 before, 1 during, 2 after */
  gdouble outage_start, outage_end;

  GArray *samples;
  GHashTable *durations;        /* segment name -> seconds */
  gchar *current_segment;
  guint recorded;
  gchar *link_state;
  guint64 last_sent;
  guint64 total_sent;
  gdouble last_t;
  gboolean tty;
  gint64 last_line_us;
} Demo;

static gdouble
elapsed (Demo * d)
{
  return (g_get_monotonic_time () - d->start_us) / 1e6;
}

/* ------------------------------------------------------------------------ */
/* The reference receiver */

static gboolean
start_ingest (Demo * d)
{
  gchar *port = g_strdup_printf ("--port=%u", d->port);
  gchar *root = g_strdup_printf ("--root=%s", d->server_root);
  gchar *argv[] = { d->ingest_path, port, root, (gchar *) "--quiet", NULL };
  GError *err = NULL;
  gint out_fd;
  GIOChannel *ch;
  gchar *line = NULL;

  if (!g_spawn_async_with_pipes (NULL, argv, NULL, G_SPAWN_SEARCH_PATH |
          G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &d->ingest_pid, NULL,
          &out_fd, NULL, &err)) {
    g_printerr ("cannot start %s: %s\n", d->ingest_path, err->message);
    g_clear_error (&err);
    g_free (port);
    g_free (root);
    return FALSE;
  }
  ch = g_io_channel_unix_new (out_fd);
  g_io_channel_set_close_on_unref (ch, TRUE);
  g_io_channel_read_line (ch, &line, NULL, NULL, NULL);
  if (line && g_str_has_prefix (line, "listening on "))
    d->port = atoi (strrchr (line, ':') + 1);
  g_free (line);
  g_io_channel_unref (ch);
  g_free (port);
  g_free (root);
  return d->port != 0;
}

static void
stop_ingest (Demo * d, gint sig)
{
  if (d->ingest_pid <= 0)
    return;
  kill (d->ingest_pid, sig);
  waitpid (d->ingest_pid, NULL, 0);
  g_spawn_close_pid (d->ingest_pid);
  d->ingest_pid = 0;
}

/* ------------------------------------------------------------------------ */
/* gpsfake, with --gps-log */

static guint
free_tcp_port (void)
{
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, NULL);
  GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *addr = g_inet_socket_address_new (lo, 0), *bound = NULL;
  guint port = 0;

  if (s && g_socket_bind (s, addr, FALSE, NULL))
    bound = g_socket_get_local_address (s, NULL);
  if (bound)
    port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_clear_object (&bound);
  g_object_unref (addr);
  g_object_unref (lo);
  g_clear_object (&s);
  return port;
}

/* gpsfake replays the log in a loop, 5 fixes a second (2 sentences each). */
static gboolean
start_gpsfake (Demo * d)
{
  gchar *port;
  gchar *argv[] = { (gchar *) "gpsfake", (gchar *) "-q", (gchar *) "-c",
    (gchar *) "0.1", (gchar *) "-P", NULL, d->gps_log, NULL
  };
  GError *err = NULL;

  d->gps_port = free_tcp_port ();
  port = g_strdup_printf ("%u", d->gps_port);
  argv[5] = port;
  if (!g_spawn_async (NULL, argv, NULL, G_SPAWN_SEARCH_PATH |
          G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
          G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &d->gpsfake_pid, &err)) {
    g_printerr ("cannot start gpsfake (Debian package gpsd-clients): %s\n",
        err->message);
    g_clear_error (&err);
    g_free (port);
    return FALSE;
  }
  g_free (port);
  return TRUE;
}

/* SIGINT: gpsfake then stops the gpsd it started. */
static void
stop_gpsfake (Demo * d)
{
  gint i;

  if (d->gpsfake_pid <= 0)
    return;
  kill (d->gpsfake_pid, SIGINT);
  for (i = 0; i < 50 && waitpid (d->gpsfake_pid, NULL, WNOHANG) == 0; i++)
    g_usleep (100 * 1000);
  if (i == 50) {
    kill (d->gpsfake_pid, SIGKILL);
    waitpid (d->gpsfake_pid, NULL, 0);
  }
  g_spawn_close_pid (d->gpsfake_pid);
  d->gpsfake_pid = 0;
}

/* Streaming thread of the GPS source: keeps the last set for the status. */
static GstPadProbeReturn
on_gps_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Demo *d = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstMapInfo map;
  DashcamGpsFix fix;
  gsize used;

  if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
    if (dashcam_klv_decode_fix (map.data, map.size, &fix, &used)) {
      g_mutex_lock (&d->gps_lock);
      d->gps_fix = fix;
      d->gps_seen = TRUE;
      g_mutex_unlock (&d->gps_lock);
    }
    gst_buffer_unmap (buf, &map);
  }
  return GST_PAD_PROBE_OK;
}

/* " | GPS ..." for the status line, or "" without --gps-log. */
static gchar *
gps_status (Demo * d)
{
  DashcamGpsFix f;
  gboolean seen;

  if (d->gps_log == NULL)
    return g_strdup ("");
  g_mutex_lock (&d->gps_lock);
  f = d->gps_fix;
  seen = d->gps_seen;
  g_mutex_unlock (&d->gps_lock);
  if (!seen || f.quality == DASHCAM_GPS_NO_POSITION)
    return g_strdup (" | GPS no fix");
  return g_strdup_printf (" | GPS %.5f,%.5f %3.0f km/h%s", f.latitude,
      f.longitude, f.speed * 3.6,
      f.quality == DASHCAM_GPS_STALE ? " (no fix, last)" : "");
}

/* ------------------------------------------------------------------------ */
/* Status */

static void
sample (Demo * d)
{
  GstStructure *st = NULL;
  Sample s = { elapsed (d), 0, 0, 0, 0 };
  const gchar *state;
  gchar *uploading = NULL;
  gdouble progress = 0;
  guint pending = 0;

  if (d->uploader)
    g_object_get (d->uploader, "stats", &st, NULL);
  if (st) {
    state = gst_structure_get_string (st, "state");
    s.state = !g_strcmp0 (state, "up") ? 2 :
        !g_strcmp0 (state, "connecting") ? 1 : 0;
    gst_structure_get_uint64 (st, "bytes-sent", &s.bytes_sent);
    gst_structure_get_uint64 (st, "backlog-pending-bytes", &s.backlog_bytes);
    gst_structure_get_uint64 (st, "uploaded-bytes", &s.uploaded_bytes);
    gst_structure_get_uint (st, "backlog-pending", &pending);
    gst_structure_get_double (st, "upload-progress", &progress);
    if (*gst_structure_get_string (st, "uploading"))
      uploading = g_strdup_printf (", uploading %.0f %%", progress * 100);
    /* bytes-sent restarts with each connection */
    if (s.bytes_sent < d->last_sent)
      d->last_sent = 0;
    d->total_sent += s.bytes_sent - d->last_sent;
    gst_structure_free (st);
  }
  g_array_append_val (d->samples, s);

  if (d->tty || g_get_monotonic_time () - d->last_line_us > 5 * G_USEC_PER_SEC) {
    gdouble rate = s.t > d->last_t ?
        (s.bytes_sent - d->last_sent) * 8 / (s.t - d->last_t) / 1e6 : 0;

    gchar *gps = gps_status (d);

    g_print ("%s[%5.1f s] link %-10s %4.1f Mbit/s, sent %.1f MB | segment %s "
        "| recorded %u | backlog %u (%.1f MB%s), uploaded %.1f MB%s%s",
        d->tty ? "\r" : "", s.t, s.state == 2 ? "up" : s.state == 1 ?
        "connecting" : "down", rate, d->total_sent / 1e6,
        d->current_segment ? d->current_segment : "-", d->recorded, pending,
        s.backlog_bytes / 1e6, uploading ? uploading : "",
        s.uploaded_bytes / 1e6, gps, d->tty ? "   " : "\n");
    g_free (gps);
    d->last_line_us = g_get_monotonic_time ();
  }
  d->last_sent = s.bytes_sent;
  d->last_t = s.t;
  g_free (uploading);
}

static gboolean
backlog_pending (Demo * d)
{
  GstStructure *st = NULL;
  guint pending = 0;

  if (d->uploader == NULL)
    return FALSE;
  g_object_get (d->uploader, "stats", &st, NULL);
  if (st) {
    gst_structure_get_uint (st, "backlog-pending", &pending);
    gst_structure_free (st);
  }
  return pending > 0;
}

static gboolean
on_tick (gpointer data)
{
  Demo *d = data;
  gdouble t = elapsed (d);

  sample (d);
  if (!d->no_outage && d->ingest_pid && d->outage_state == 0
      && t >= d->duration * 0.3) {
    g_print ("%s>>> %.1f s: entering a tunnel (stopping the receiver for "
        "%d s)\n", d->tty ? "\n" : "", t, OUTAGE_S);
    stop_ingest (d, SIGKILL);
    d->outage_state = 1;
    d->outage_start = t;
  } else if (d->outage_state == 1 && t >= d->outage_start + OUTAGE_S) {
    g_print ("%s>>> %.1f s: out of the tunnel (receiver back)\n",
        d->tty ? "\n" : "", t);
    if (!start_ingest (d))
      d->failed = TRUE;
    d->outage_state = 2;
    d->outage_end = t;
  }
  /* stop at the end, once the backlog is uploaded (a minute at most) */
  if (!d->eos_sent && t >= d->duration && (!backlog_pending (d)
          || t >= d->duration + 60)) {
    g_print ("%s>>> %.1f s: stopping\n", d->tty ? "\n" : "", t);
    gst_element_send_event (d->pipeline, gst_event_new_eos ());
    d->eos_sent = TRUE;
  }
  return G_SOURCE_CONTINUE;
}

static void
print_message (Demo * d, const GstStructure * s)
{
  const gchar *name = gst_structure_get_name (s);

  if (g_str_equal (name, "looprecsink-segment-closed")) {
    const gchar *loc = gst_structure_get_string (s, "location");
    guint64 dur = 0;

    gst_structure_get_uint64 (s, "duration", &dur);
    g_hash_table_insert (d->durations, g_path_get_basename (loc),
        g_memdup2 (&(gdouble) { dur / 1e9 }, sizeof (gdouble)));
    d->recorded++;
  } else if (g_str_equal (name, "looprecsink-segment-opened")) {
    g_free (d->current_segment);
    d->current_segment = g_path_get_basename (gst_structure_get_string (s,
            "location"));
  } else if (g_str_equal (name, "srtuploadsink-link")) {
    g_print ("%s    link %s (%s) %s\n", d->tty ? "\n" : "",
        gst_structure_get_string (s, "state"),
        gst_structure_get_string (s, "reason"),
        gst_structure_get_string (s, "streamid"));
  } else if (g_str_equal (name, "srtuploadsink-backlog")) {
    const gchar *state = gst_structure_get_string (s, "state");

    if (!g_str_equal (state, "started"))
      g_print ("%s    backlog %s %s\n", d->tty ? "\n" : "", state,
          gst_structure_get_string (s, "segment"));
  }
}

static gboolean
on_bus (GstBus * bus, GstMessage * msg, gpointer data)
{
  Demo *d = data;
  GError *err = NULL;
  gchar *dbg = NULL;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:
      if (gst_message_get_structure (msg))
        print_message (d, gst_message_get_structure (msg));
      break;
    case GST_MESSAGE_WARNING:
      gst_message_parse_warning (msg, &err, &dbg);
      g_printerr ("%swarning: %s\n", d->tty ? "\n" : "", err->message);
      break;
    case GST_MESSAGE_ERROR:
      gst_message_parse_error (msg, &err, &dbg);
      g_printerr ("%serror: %s (%s)\n", d->tty ? "\n" : "", err->message,
          dbg ? dbg : "");
      d->failed = TRUE;
      g_main_loop_quit (d->loop);
      break;
    case GST_MESSAGE_EOS:
      g_main_loop_quit (d->loop);
      break;
    default:
      break;
  }
  g_clear_error (&err);
  g_free (dbg);
  return TRUE;
}

static gboolean
on_sigint (gpointer data)
{
  Demo *d = data;

  if (!d->eos_sent) {
    g_print ("\n>>> interrupted: stopping\n");
    gst_element_send_event (d->pipeline, gst_event_new_eos ());
    d->eos_sent = TRUE;
  } else {
    g_main_loop_quit (d->loop);
  }
  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------------ */
/* Report */

static GPtrArray *
read_files (const gchar * dir, gboolean live_only)
{
  GPtrArray *files = g_ptr_array_new_with_free_func ((GDestroyNotify)
      g_bytes_unref);
  GDir *dd = g_dir_open (dir, 0, NULL);
  const gchar *name;

  while (dd && (name = g_dir_read_name (dd))) {
    gchar *path = g_build_filename (dir, name, NULL);
    gchar *data;
    gsize len;

    /* live sessions are named YYYYmmdd-HHMMSS, segments ...T...Z-N */
    if ((!live_only || !strchr (name, 'T'))
        && g_file_get_contents (path, &data, &len, NULL))
      g_ptr_array_add (files, g_bytes_new_take (data, len));
    g_free (path);
  }
  if (dd)
    g_dir_close (dd);
  return files;
}

/* How the server has @name: 2 through the backlog, 1 live, 0 not. */
static gint
server_has (Demo * d, const gchar * name, GPtrArray * lives)
{
  gchar *path = g_build_filename (d->location, name, NULL);
  gchar *stem = g_strndup (name, strlen (name) - 3);
  gchar *dir = g_build_filename (d->server_root, d->device_id, NULL);
  gchar *data, *copy;
  gsize len, clen, skip;
  gint has = 0;
  guint i;

  if (!g_file_get_contents (path, &data, &len, NULL))
    goto out;
  for (i = 0; i < 10 && has == 0; i++) {
    gchar *cname = i ? g_strdup_printf ("%s.%u.ts", stem, i) :
        g_strdup_printf ("%s.ts", stem);
    gchar *cpath = g_build_filename (dir, cname, NULL);

    if (g_file_get_contents (cpath, &copy, &clen, NULL)) {
      if (clen == len && memcmp (copy, data, len) == 0)
        has = 2;
      g_free (copy);
    }
    g_free (cpath);
    g_free (cname);
  }
  /* the recorder may have re-inserted PAT and PMT at the start */
  skip = len > 376 ? 376 : 0;
  for (i = 0; i < lives->len && has == 0; i++) {
    gsize llen;
    const gchar *live = g_bytes_get_data (g_ptr_array_index (lives, i), &llen);

    if (memmem (live, llen, data + skip, len - skip))
      has = 1;
  }
  g_free (data);
out:
  g_free (dir);
  g_free (stem);
  g_free (path);
  return has;
}

static void
write_svg (Demo * d, const gchar * path)
{
  GString *svg = g_string_new (NULL);
  gdouble tmax = 1, rmax = 1, bmax = 1;
  guint i;

  for (i = 1; i < d->samples->len; i++) {
    Sample *s = &g_array_index (d->samples, Sample, i);
    Sample *p = &g_array_index (d->samples, Sample, i - 1);
    gdouble rate = s->bytes_sent >= p->bytes_sent ?
        (s->bytes_sent - p->bytes_sent) * 8 / (s->t - p->t) / 1e6 : 0;

    tmax = MAX (tmax, s->t);
    rmax = MAX (rmax, rate);
    bmax = MAX (bmax, s->backlog_bytes / 1e6);
  }
#define X(t) (60 + (t) / tmax * 900)
  g_string_append_printf (svg, "<svg xmlns='http://www.w3.org/2000/svg' "
      "width='1000' height='400' font-family='sans-serif' font-size='12'>\n"
      "<rect width='1000' height='400' fill='white'/>\n"
      "<text x='500' y='18' text-anchor='middle' font-size='14'>gst-dashcam "
      "demo: link, live bitrate, backlog</text>\n"
      "<text x='5' y='55'>link</text><text x='5' y='165'>live Mbit/s</text>"
      "<text x='5' y='305'>backlog MB</text>\n");
  for (i = 1; i < d->samples->len; i++) {
    Sample *s = &g_array_index (d->samples, Sample, i);
    Sample *p = &g_array_index (d->samples, Sample, i - 1);

    g_string_append_printf (svg, "<rect x='%.1f' y='40' width='%.1f' "
        "height='25' fill='%s'/>\n", X (p->t), X (s->t) - X (p->t) + 0.5,
        p->state == 2 ? "#3a3" : p->state == 1 ? "#e90" : "#d33");
  }
  g_string_append (svg, "<polyline fill='none' stroke='#36c' "
      "stroke-width='1.5' points='");
  for (i = 1; i < d->samples->len; i++) {
    Sample *s = &g_array_index (d->samples, Sample, i);
    Sample *p = &g_array_index (d->samples, Sample, i - 1);
    gdouble rate = s->bytes_sent >= p->bytes_sent ?
        (s->bytes_sent - p->bytes_sent) * 8 / (s->t - p->t) / 1e6 : 0;

    g_string_append_printf (svg, "%.1f,%.1f ", X (s->t),
        230 - rate / rmax * 120);
  }
  g_string_append (svg, "'/>\n<polyline fill='none' stroke='#939' "
      "stroke-width='1.5' points='");
  for (i = 0; i < d->samples->len; i++) {
    Sample *s = &g_array_index (d->samples, Sample, i);

    g_string_append_printf (svg, "%.1f,%.1f ", X (s->t),
        370 - s->backlog_bytes / 1e6 / bmax * 120);
  }
  g_string_append_printf (svg, "'/>\n"
      "<text x='55' y='115' text-anchor='end'>%.1f</text>"
      "<text x='55' y='255' text-anchor='end'>%.1f</text>"
      "<line x1='60' y1='370' x2='960' y2='370' stroke='#888'/>"
      "<text x='60' y='390'>0 s</text>"
      "<text x='960' y='390' text-anchor='end'>%.0f s</text>\n</svg>\n",
      rmax, bmax, tmax);
#undef X
  g_file_set_contents (path, svg->str, svg->len, NULL);
  g_string_free (svg, TRUE);
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar **) a, *(const gchar **) b);
}

static gint
report (Demo * d)
{
  gchar *live_dir = g_build_filename (d->server_root, d->device_id, NULL);
  GPtrArray *lives = read_files (live_dir, TRUE);
  GDir *dir = g_dir_open (d->location, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  gdouble total = 0, live = 0, backlog = 0, missing = 0;
  guint n_live = 0, n_backlog = 0, n_missing = 0, i;
  const gchar *name;
  gchar *svg;
  gint ret;

  while (dir && (name = g_dir_read_name (dir)))
    if (g_str_has_suffix (name, ".ts"))
      g_ptr_array_add (names, g_strdup (name));
  if (dir)
    g_dir_close (dir);
  g_ptr_array_sort (names, compare_names);

  g_print ("\n\n== report ==\n");
  for (i = 0; i < names->len; i++) {
    const gchar *n = g_ptr_array_index (names, i);
    gdouble *dur = g_hash_table_lookup (d->durations, n);
    gdouble secs = dur ? *dur : SEGMENT_S;
    gint has = server_has (d, n, lives);

    total += secs;
    if (has == 2) {
      backlog += secs;
      n_backlog++;
    } else if (has == 1) {
      live += secs;
      n_live++;
    } else {
      missing += secs;
      n_missing++;
    }
    g_print ("  %s  %5.2f s  %s\n", n, secs, has == 2 ? "backlog" : has == 1 ?
        "live" : "MISSING");
  }
  /* next to the recordings, not among them */
  svg = g_strconcat (d->location, ".timeline.svg", NULL);
  write_svg (d, svg);

  g_print ("\nsegments recorded:          %u (%.1f s)\n", names->len, total);
  g_print ("streamed live:              %.1f s (%u segments)\n", live, n_live);
  g_print ("recovered through backlog:  %.1f s (%u segments)\n", backlog,
      n_backlog);
  if (d->outage_state == 2)
    g_print ("link cut:                   %.1f s to %.1f s\n",
        d->outage_start, d->outage_end);
  g_print ("missing on the server:      %.1f s (%u segments)\n", missing,
      n_missing);
  g_print ("every recorded second is on the server: %s\n",
      n_missing == 0 && names->len > 0 ? "YES" : "NO");
  g_print ("recordings: %s\nserver:     %s\ntimeline:   %s\n", d->location,
      d->server_root, svg);

  ret = n_missing == 0 && names->len > 0 ? 0 : 1;
  g_free (svg);
  g_ptr_array_unref (names);
  g_ptr_array_unref (lives);
  g_free (live_dir);
  return ret;
}

/* ------------------------------------------------------------------------ */

static gchar *
pipeline_description (Demo * d)
{
  const gchar *camera = g_file_test ("/dev/video0", G_FILE_TEST_EXISTS) ?
      "v4l2src device=/dev/video0 ! videoconvert ! videoscale ! videorate ! "
      "video/x-raw,width=1280,height=720,framerate=30/1" :
      "videotestsrc is-live=true pattern=ball motion=wavy ! "
      "video/x-raw,width=1280,height=720,framerate=30/1";

  gchar *gps = d->gps_port ?
      g_strdup_printf (" gps=127.0.0.1:%u", d->gps_port) : g_strdup ("");
  gchar *desc = g_strdup_printf ("%s ! d.video "
      "audiotestsrc is-live=true wave=ticks ! d.audio "
      "dashcambin name=d location=\"%s\" uri=\"%s\" device-id=\"%s\" "
      "bitrate=2000 segment-duration=%" G_GUINT64_FORMAT "%s "
      "uploader::reconnect-max-interval=1000000000", camera, d->location,
      d->uri, d->device_id, (guint64) SEGMENT_S * GST_SECOND, gps);

  g_free (gps);
  return desc;
}

int
main (int argc, char **argv)
{
  Demo d = { 0, };
  GOptionEntry entries[] = {
    {"uri", 0, 0, G_OPTION_ARG_STRING, &d.uri,
        "SRT server (default: a reference receiver started here)", "URI"},
    {"device-id", 0, 0, G_OPTION_ARG_STRING, &d.device_id,
        "Device id (default car42)", "ID"},
    {"location", 0, 0, G_OPTION_ARG_FILENAME, &d.location,
        "Recording directory (default ./recordings)", "DIR"},
    {"duration", 0, 0, G_OPTION_ARG_INT, &d.duration,
        "Seconds to record (default 60)", "S"},
    {"no-outage", 0, 0, G_OPTION_ARG_NONE, &d.no_outage,
        "Do not cut the link", NULL},
    {"ingest", 0, 0, G_OPTION_ARG_FILENAME, &d.ingest_path,
        "The reference receiver (default: dashcam-ingest in PATH)", "PATH"},
    {"gps-log", 0, 0, G_OPTION_ARG_FILENAME, &d.gps_log,
        "NMEA log that gpsfake replays as the car's GPS", "FILE"},
    {NULL}
  };
  GOptionContext *ctx = g_option_context_new ("- the gst-dashcam demo");
  GError *err = NULL;
  gchar *desc;
  GstBus *bus;
  gint ret;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    g_printerr ("%s\n", err->message);
    return 2;
  }
  g_option_context_free (ctx);

  if (d.duration <= 0)
    d.duration = 60;
  if (d.device_id == NULL)
    d.device_id = g_strdup ("car42");
  if (d.location == NULL)
    d.location = g_strdup ("recordings");
  if (!g_path_is_absolute (d.location)) {
    gchar *cwd = g_get_current_dir ();
    gchar *abs = g_build_filename (cwd, d.location, NULL);

    g_free (d.location);
    d.location = abs;
    g_free (cwd);
  }
  if (d.ingest_path == NULL)
    d.ingest_path = g_strdup ("dashcam-ingest");
  d.tty = isatty (STDOUT_FILENO);
  d.samples = g_array_new (FALSE, FALSE, sizeof (Sample));
  d.durations = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);

  if (d.uri == NULL) {
    d.server_root = g_strconcat (d.location, ".server", NULL);
    g_mkdir_with_parents (d.server_root, 0755);
    if (!start_ingest (&d))
      return 2;
    d.uri = g_strdup_printf ("srt://127.0.0.1:%u", d.port);
    g_print ("server: reference receiver on %s, recording into %s\n", d.uri,
        d.server_root);
  } else {
    d.no_outage = TRUE;
    d.server_root = g_strdup ("");
  }

  g_mutex_init (&d.gps_lock);
  if (d.gps_log && !start_gpsfake (&d)) {
    stop_ingest (&d, SIGTERM);
    return 2;
  }
  if (d.gps_log)
    g_print ("gps: gpsfake replays %s on 127.0.0.1:%u\n", d.gps_log,
        d.gps_port);

  desc = pipeline_description (&d);
  g_print ("pipeline: %s\n\n", desc);
  d.pipeline = gst_parse_launch (desc, &err);
  g_free (desc);
  if (err) {
    g_printerr ("cannot build the pipeline: %s\n", err->message);
    stop_ingest (&d, SIGTERM);
    stop_gpsfake (&d);
    return 2;
  }
  {
    GstElement *bin = gst_bin_get_by_name (GST_BIN (d.pipeline), "d");
    GstElement *gps = NULL;

    d.uploader = gst_bin_get_by_name (GST_BIN (bin), "uploader");
    if (d.gps_port) {
      /* the bin adds its GPS source at the first state change */
      gst_element_set_state (d.pipeline, GST_STATE_READY);
      gps = gst_bin_get_by_name (GST_BIN (bin), "gps");
      if (gps) {
        GstPad *pad = gst_element_get_static_pad (gps, "src");

        gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_gps_buffer, &d,
            NULL);
        gst_object_unref (pad);
        gst_object_unref (gps);
      }
    }
    gst_object_unref (bin);
  }

  d.loop = g_main_loop_new (NULL, FALSE);
  bus = gst_element_get_bus (d.pipeline);
  gst_bus_add_watch (bus, on_bus, &d);
  g_unix_signal_add (SIGINT, on_sigint, &d);
  g_timeout_add (SAMPLE_MS, on_tick, &d);

  d.start_us = g_get_monotonic_time ();
  gst_element_set_state (d.pipeline, GST_STATE_PLAYING);
  g_main_loop_run (d.loop);
  gst_element_set_state (d.pipeline, GST_STATE_NULL);

  stop_ingest (&d, SIGTERM);
  stop_gpsfake (&d);
  if (g_str_has_prefix (d.uri, "srt://127.0.0.1:") && *d.server_root)
    ret = report (&d) || d.failed;
  else
    ret = d.failed;

  gst_object_unref (bus);
  gst_clear_object (&d.uploader);
  gst_object_unref (d.pipeline);
  g_main_loop_unref (d.loop);
  g_array_unref (d.samples);
  g_hash_table_unref (d.durations);
  g_free (d.current_segment);
  g_free (d.link_state);
  g_free (d.server_root);
  g_free (d.ingest_path);
  g_free (d.location);
  g_free (d.device_id);
  g_free (d.uri);
  return ret;
}
