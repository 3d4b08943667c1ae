/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Positions as MISB ST 0601 KLV, and the NMEA a test compares them with.
 *
 * One fix is one UAS Datalink Local Set: the 16-byte universal key, a BER
 * length and tag-length-value items, the checksum last. We write the items
 * a dashcam has: Precision Time Stamp (2), LS version (65), Sensor Latitude
 * and Longitude (13, 14; the same as the platform's for a dashcam), True
 * Altitude (15), Platform Ground Speed (56, whole metres a second as ST 0601
 * defines it), Platform Heading (5), Number of NAVSATs (123) and Positioning
 * Method Source (124): GPS (0x02) for a current fix, 0 for a repeated, stale
 * one. A set without a position carries the standard's error indicator
 * (0x80000000) as latitude and longitude. Only the tags written here are
 * read back; others are skipped.
 */

#include "dashcamgps.h"
#include "dashcamts.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <math.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#define TAG_CHECKSUM 1
#define TAG_HEADING 5
#define TAG_TIME 2
#define TAG_LATITUDE 13
#define TAG_LONGITUDE 14
#define TAG_ALTITUDE 15
#define TAG_SPEED 56
#define TAG_VERSION 65
#define TAG_SATELLITES 123
#define TAG_POSITIONING 124

#define LS_VERSION 19
#define POSITIONING_GPS 0x02
#define INT32_ERROR 0x80000000u
#define INT32_SPAN 2147483647.0  /* 2^31 - 1 */
#define ALT_MIN -900.0
#define ALT_RANGE 19900.0

static const guint8 uas_ls_key[16] = {
  0x06, 0x0e, 0x2b, 0x34, 0x02, 0x0b, 0x01, 0x01,
  0x0e, 0x01, 0x03, 0x01, 0x01, 0x00, 0x00, 0x00
};

void
dashcam_gps_fix_init (DashcamGpsFix * fix)
{
  memset (fix, 0, sizeof (*fix));
  fix->altitude = NAN;
  fix->speed = NAN;
  fix->track = NAN;
  fix->satellites = -1;
  fix->quality = DASHCAM_GPS_NO_POSITION;
}

/* TRUE for a fix the receiver has now (not a repeat, not nothing). */
gboolean
dashcam_gps_fix_is_current (const DashcamGpsFix * fix)
{
  return fix->quality == DASHCAM_GPS_FIX_2D
      || fix->quality == DASHCAM_GPS_FIX_3D;
}

/* Writes @len as a BER length (short form below 128, else long form) into
 * @out (at least 9 bytes); returns the bytes written. */
gsize
dashcam_klv_ber_length_write (gsize len, guint8 * out)
{
  guint n = 0, i;
  guint64 v = len;

  if (len < 128) {
    out[0] = len;
    return 1;
  }
  while (v) {
    n++;
    v >>= 8;
  }
  out[0] = 0x80 | n;
  for (i = 0; i < n; i++)
    out[1 + i] = (guint64) len >> (8 * (n - 1 - i));
  return 1 + n;
}

/* Reads a BER length; FALSE when @data is too short or the length does not
 * fit in a gsize. */
gboolean
dashcam_klv_ber_length_read (const guint8 * data, gsize size, gsize * len,
    gsize * consumed)
{
  guint n, i;
  guint64 v = 0;

  if (size < 1)
    return FALSE;
  if (!(data[0] & 0x80)) {
    *len = data[0];
    *consumed = 1;
    return TRUE;
  }
  n = data[0] & 0x7f;
  if (n == 0 || n > sizeof (gsize) || size < 1 + (gsize) n)
    return FALSE;
  for (i = 0; i < n; i++)
    v = (v << 8) | data[1 + i];
  *len = v;
  *consumed = 1 + n;
  return TRUE;
}

/* ST 0601's 16-bit running sum: bytes at even offsets are the high byte. */
guint16
dashcam_klv_checksum (const guint8 * data, gsize size)
{
  guint16 bcc = 0;
  gsize i;

  for (i = 0; i < size; i++)
    bcc += (guint16) (data[i] << (8 * ((i + 1) % 2)));
  return bcc;
}

static guint8 *
put_item (guint8 * p, guint8 tag, guint64 value, guint len)
{
  guint i;

  *p++ = tag;
  *p++ = len;
  for (i = 0; i < len; i++)
    *p++ = value >> (8 * (len - 1 - i));
  return p;
}

static guint32
map_signed (gdouble deg, gdouble range)
{
  gdouble v = round (deg / range * INT32_SPAN);

  return (guint32) (gint32) CLAMP (v, -INT32_SPAN, INT32_SPAN);
}

static guint64
map_unsigned (gdouble v, gdouble min, gdouble range, gdouble max_int)
{
  return (guint64) round (CLAMP ((v - min) / range, 0.0, 1.0) * max_int);
}

/* Encodes @fix as one local set into @out (at least
 * DASHCAM_KLV_FIX_MAX_SIZE bytes); returns its size. */
gsize
dashcam_klv_encode_fix (const DashcamGpsFix * fix, guint8 * out)
{
  guint8 *p = out + sizeof (uas_ls_key) + 1, *value = p;
  gboolean has_pos = fix->quality != DASHCAM_GPS_NO_POSITION;

  memcpy (out, uas_ls_key, sizeof (uas_ls_key));
  p = put_item (p, TAG_TIME, (guint64) MAX (fix->time_us, 0), 8);
  p = put_item (p, TAG_VERSION, LS_VERSION, 1);
  p = put_item (p, TAG_LATITUDE,
      has_pos ? map_signed (fix->latitude, 90.0) : INT32_ERROR, 4);
  p = put_item (p, TAG_LONGITUDE,
      has_pos ? map_signed (fix->longitude, 180.0) : INT32_ERROR, 4);
  if (has_pos && fix->quality != DASHCAM_GPS_FIX_2D && !isnan (fix->altitude))
    p = put_item (p, TAG_ALTITUDE,
        map_unsigned (fix->altitude, ALT_MIN, ALT_RANGE, 65535.0), 2);
  if (has_pos && !isnan (fix->speed))
    p = put_item (p, TAG_SPEED, map_unsigned (fix->speed, 0, 255.0, 255.0),
        1);
  if (has_pos && !isnan (fix->track))
    p = put_item (p, TAG_HEADING,
        map_unsigned (fmod (fix->track + 360.0, 360.0), 0, 360.0, 65535.0),
        2);
  if (fix->satellites >= 0)
    p = put_item (p, TAG_SATELLITES, MIN (fix->satellites, 255), 1);
  p = put_item (p, TAG_POSITIONING,
      dashcam_gps_fix_is_current (fix) ? POSITIONING_GPS : 0, 1);
  *p++ = TAG_CHECKSUM;
  *p++ = 2;
  out[sizeof (uas_ls_key)] = p + 2 - value;
  p = put_item (p - 2, TAG_CHECKSUM, dashcam_klv_checksum (out, p - out), 2);
  return p - out;
}

static guint64
get_uint (const guint8 * v, gsize len)
{
  guint64 r = 0;
  gsize i;

  for (i = 0; i < len; i++)
    r = (r << 8) | v[i];
  return r;
}

/* Applies one item to @fix; FALSE if its length is wrong for its tag. */
static gboolean
decode_item (guint tag, const guint8 * v, gsize len, DashcamGpsFix * fix,
    gboolean * lat_ok, guint * positioning)
{
  guint64 u = len <= 8 ? get_uint (v, len) : 0;

  switch (tag) {
    case TAG_TIME:
      fix->time_us = u;
      return len == 8;
    case TAG_LATITUDE:
      *lat_ok = u != INT32_ERROR;
      fix->latitude = (gint32) (guint32) u * 90.0 / INT32_SPAN;
      return len == 4;
    case TAG_LONGITUDE:
      fix->longitude = (gint32) (guint32) u * 180.0 / INT32_SPAN;
      return len == 4;
    case TAG_ALTITUDE:
      fix->altitude = ALT_MIN + u * ALT_RANGE / 65535.0;
      return len == 2;
    case TAG_SPEED:
      fix->speed = u;
      return len == 1;
    case TAG_HEADING:
      fix->track = u * 360.0 / 65535.0;
      return len == 2;
    case TAG_SATELLITES:
      fix->satellites = u;
      return len == 1;
    case TAG_POSITIONING:
      *positioning = u;
      return len == 1;
    default:
      return TRUE;
  }
}

/* Decodes one local set at the start of @data into @fix; FALSE if it is
 * not a UAS local set, is cut short or fails its checksum. @consumed gets
 * the set's size. */
gboolean
dashcam_klv_decode_fix (const guint8 * data, gsize size, DashcamGpsFix * fix,
    gsize * consumed)
{
  gsize len, n, pos, end;
  gboolean lat_ok = FALSE, has_checksum = FALSE;
  guint positioning = 0;

  dashcam_gps_fix_init (fix);
  if (size < sizeof (uas_ls_key)
      || memcmp (data, uas_ls_key, sizeof (uas_ls_key)) != 0)
    return FALSE;
  pos = sizeof (uas_ls_key);
  if (!dashcam_klv_ber_length_read (data + pos, size - pos, &len, &n)
      || len > size - pos - n)
    return FALSE;
  pos += n;
  end = pos + len;
  while (pos < end) {
    guint tag = data[pos++];
    gsize ilen;

    if (tag & 0x80)             /* BER-OID tags: none of ours */
      while (pos < end && (data[pos++] & 0x80));
    if (pos >= end || !dashcam_klv_ber_length_read (data + pos, end - pos,
            &ilen, &n) || ilen > end - pos - n)
      return FALSE;
    pos += n;
    if (tag == TAG_CHECKSUM) {
      if (ilen != 2 || pos + 2 != end
          || get_uint (data + pos, 2) != dashcam_klv_checksum (data, pos))
        return FALSE;
      has_checksum = TRUE;
    } else if (!decode_item (tag, data + pos, ilen, fix, &lat_ok,
            &positioning)) {
      return FALSE;
    }
    pos += ilen;
  }
  if (!has_checksum)
    return FALSE;
  if (!lat_ok)
    fix->quality = DASHCAM_GPS_NO_POSITION;
  else if (!(positioning & POSITIONING_GPS))
    fix->quality = DASHCAM_GPS_STALE;
  else
    fix->quality = isnan (fix->altitude) ? DASHCAM_GPS_FIX_2D :
        DASHCAM_GPS_FIX_3D;
  *consumed = end;
  return TRUE;
}

/* ddmm.mmmm + hemisphere -> degrees; FALSE on an empty or bad field. */
static gboolean
nmea_degrees (const gchar * field, const gchar * hemi, gdouble * out)
{
  gchar *end;
  gdouble v = g_ascii_strtod (field, &end);
  gdouble deg;

  if (end == field || (*hemi != 'N' && *hemi != 'S' && *hemi != 'E'
          && *hemi != 'W'))
    return FALSE;
  deg = floor (v / 100.0);
  v = deg + (v - deg * 100.0) / 60.0;
  *out = (*hemi == 'S' || *hemi == 'W') ? -v : v;
  return TRUE;
}

static gboolean
two_digits (const gchar * s, gint * out)
{
  if (!g_ascii_isdigit (s[0]) || !g_ascii_isdigit (s[1]))
    return FALSE;
  *out = (s[0] - '0') * 10 + (s[1] - '0');
  return TRUE;
}

static gboolean
nmea_checksum_ok (const gchar * line, gsize * body_len)
{
  const gchar *star = strchr (line, '*');
  guint8 cs = 0;
  const gchar *p;

  if (line[0] != '$' || star == NULL || !g_ascii_isxdigit (star[1])
      || !g_ascii_isxdigit (star[2]))
    return FALSE;
  for (p = line + 1; p < star; p++)
    cs ^= (guint8) * p;
  *body_len = star - line;
  return cs == (g_ascii_xdigit_value (star[1]) << 4 |
      g_ascii_xdigit_value (star[2]));
}

/* Parses an RMC sentence (any talker) with a valid checksum into @fix:
 * status A gives a 2D fix (RMC has no altitude), V a fix without position.
 * FALSE for anything else. */
gboolean
dashcam_nmea_parse_rmc (const gchar * line, DashcamGpsFix * fix)
{
  gsize body_len;
  gchar *body, **f;
  gboolean ok = FALSE;
  gint hh, mi, dd, mo, yy;
  gdouble ss;
  GDateTime *dt;

  dashcam_gps_fix_init (fix);
  if (!nmea_checksum_ok (line, &body_len))
    return FALSE;
  body = g_strndup (line + 1, body_len - 1);
  f = g_strsplit (body, ",", -1);
  if (g_strv_length (f) < 10 || strlen (f[0]) != 5
      || strcmp (f[0] + 2, "RMC") != 0
      || !two_digits (f[1], &hh) || !two_digits (f[1] + 2, &mi)
      || !two_digits (f[9], &dd) || !two_digits (f[9] + 2, &mo)
      || !two_digits (f[9] + 4, &yy))
    goto done;
  ss = g_ascii_strtod (f[1] + 4, NULL);   /* locale-independent */
  /* two-digit years: 1980 to 2079 */
  dt = g_date_time_new_utc (yy < 80 ? 2000 + yy : 1900 + yy, mo, dd, hh, mi, 0);
  if (dt == NULL)
    goto done;
  fix->time_us = g_date_time_to_unix (dt) * G_USEC_PER_SEC
      + (gint64) llround (ss * G_USEC_PER_SEC);
  g_date_time_unref (dt);
  ok = TRUE;
  if (strcmp (f[2], "A") != 0)
    goto done;
  if (!nmea_degrees (f[3], f[4], &fix->latitude)
      || !nmea_degrees (f[5], f[6], &fix->longitude)) {
    ok = FALSE;
    goto done;
  }
  if (*f[7])
    fix->speed = g_ascii_strtod (f[7], NULL) * 1852.0 / 3600.0;
  if (*f[8])
    fix->track = g_ascii_strtod (f[8], NULL);
  fix->quality = DASHCAM_GPS_FIX_2D;
done:
  g_strfreev (f);
  g_free (body);
  return ok;
}

/* Splits a gpsd address "host[:port]" or "[v6]:port" (port 2947 when
 * absent); FALSE when the host is empty or the port is not a number from
 * 1 to 65535. */
gboolean
dashcam_gps_server_parse (const gchar * server, gchar ** host, gchar ** port)
{
  const gchar *colon;
  gchar *h;
  const gchar *p = "2947";
  guint64 n;

  if (server == NULL || *server == '\0')
    return FALSE;
  if (server[0] == '[') {
    const gchar *close = strchr (server, ']');

    if (close == NULL || close == server + 1)
      return FALSE;
    h = g_strndup (server + 1, close - server - 1);
    if (close[1] == ':')
      p = close + 2;
    else if (close[1] != '\0')
      goto bad;
  } else {
    colon = strrchr (server, ':');
    if (colon && strchr (server, ':') != colon)
      colon = NULL;             /* a bare IPv6 address */
    h = colon ? g_strndup (server, colon - server) : g_strdup (server);
    if (colon)
      p = colon + 1;
    if (*h == '\0')
      goto bad;
  }
  if (!g_ascii_string_to_unsigned (p, 10, 1, 65535, &n, NULL))
    goto bad;
  *host = h;
  *port = g_strdup (p);
  return TRUE;
bad:
  g_free (h);
  return FALSE;
}

static void
append_double (GString * out, const gchar * format, gdouble v)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (out, g_ascii_formatd (buf, sizeof (buf), format, v));
}

static void
append_trkpt (GString * out, const DashcamGpsFix * f)
{
  GDateTime *dt = g_date_time_new_from_unix_utc (f->time_us / G_USEC_PER_SEC);
  gchar *stamp = dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S") : NULL;

  g_string_append (out, "      <trkpt lat=\"");
  append_double (out, "%.7f", f->latitude);
  g_string_append (out, "\" lon=\"");
  append_double (out, "%.7f", f->longitude);
  g_string_append (out, "\">");
  if (!isnan (f->altitude)) {
    g_string_append (out, "<ele>");
    append_double (out, "%.1f", f->altitude);
    g_string_append (out, "</ele>");
  }
  if (stamp)
    g_string_append_printf (out, "<time>%s.%03dZ</time>", stamp,
        (gint) (f->time_us % G_USEC_PER_SEC / 1000));
  g_string_append_printf (out, "<fix>%s</fix>",
      f->quality == DASHCAM_GPS_FIX_3D ? "3d" : "2d");
  if (f->satellites >= 0)
    g_string_append_printf (out, "<sat>%d</sat>", f->satellites);
  if (!isnan (f->speed) || !isnan (f->track)) {
    g_string_append (out, "<extensions><gpxtpx:TrackPointExtension>");
    if (!isnan (f->speed)) {
      g_string_append (out, "<gpxtpx:speed>");
      append_double (out, "%.2f", f->speed);
      g_string_append (out, "</gpxtpx:speed>");
    }
    if (!isnan (f->track)) {
      g_string_append (out, "<gpxtpx:course>");
      append_double (out, "%.1f", f->track);
      g_string_append (out, "</gpxtpx:course>");
    }
    g_string_append (out, "</gpxtpx:TrackPointExtension></extensions>");
  }
  g_string_append (out, "</trkpt>\n");
  g_free (stamp);
  if (dt)
    g_date_time_unref (dt);
}

/* A GPX 1.1 document of one track named @name: a track point (time,
 * position, elevation of 3D fixes, fix type, satellites, and speed and
 * course in Garmin's TrackPointExtension v2, which GPX 1.1 admits in
 * <extensions>) per current fix of @fixes; a set without a current fix
 * (stale, none) ends the track segment, so that a gap is not drawn as a
 * straight line. */
gchar *
dashcam_gpx_write (const DashcamGpsFix * fixes, guint n_fixes,
    const gchar * name)
{
  GString *out = g_string_new (NULL);
  gchar *ename = g_markup_escape_text (name ? name : "", -1);
  gboolean in_seg = FALSE;
  guint i;

  g_string_append_printf (out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<gpx version=\"1.1\" creator=\"gst-dashcam\"\n"
      "  xmlns=\"http://www.topografix.com/GPX/1/1\"\n"
      "  xmlns:gpxtpx=\"http://www.garmin.com/xmlschemas/"
      "TrackPointExtension/v2\">\n"
      "  <trk>\n    <name>%s</name>\n", ename);
  for (i = 0; i < n_fixes; i++) {
    if (!dashcam_gps_fix_is_current (&fixes[i])) {
      if (in_seg)
        g_string_append (out, "    </trkseg>\n");
      in_seg = FALSE;
      continue;
    }
    if (!in_seg)
      g_string_append (out, "    <trkseg>\n");
    in_seg = TRUE;
    append_trkpt (out, &fixes[i]);
  }
  if (in_seg)
    g_string_append (out, "    </trkseg>\n");
  g_string_append (out, "  </trk>\n</gpx>\n");
  g_free (ename);
  return g_string_free (out, FALSE);
}

/* A PES packet being collected: its bytes and timestamp. */
typedef struct
{
  GByteArray *bytes;
  gboolean has_pts;
  guint64 pts;
} Pes;

static void
pes_free (Pes * pes)
{
  g_byte_array_unref (pes->bytes);
  g_free (pes);
}

/* Decodes the local sets of one complete PES packet (private stream 1, as
 * mpegtsmux writes KLV) into @out; counts a set that does not decode. */
static void
scan_pes (Pes * pes, GArray * out, guint * n_unreadable)
{
  const guint8 *d = pes->bytes->data;
  gsize len = pes->bytes->len, pos, used;

  if (len < 9 || d[0] != 0 || d[1] != 0 || d[2] != 1 || d[3] != 0xbd)
    return;
  pos = 9 + d[8];
  while (pos < len) {
    DashcamKlvSet set;

    if (!dashcam_klv_decode_fix (d + pos, len - pos, &set.fix, &used)) {
      (*n_unreadable)++;
      return;
    }
    set.has_pts = pes->has_pts;
    set.pts = pes->pts;
    g_array_append_val (out, set);
    pos += used;
  }
}

/* Every MISB ST 0601 local set carried in the TS @data, in stream order, a
 * DashcamKlvSet each. @n_unreadable (nullable) gets the number of KLV PES
 * packets whose sets did not decode. */
GArray *
dashcam_klv_scan_ts (const guint8 * data, gsize len, guint * n_unreadable)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (DashcamKlvSet));
  GHashTable *pes = g_hash_table_new_full (NULL, NULL, NULL,
      (GDestroyNotify) pes_free);
  guint unreadable = 0;
  DashcamTsParser parser;
  GHashTableIter iter;
  gpointer value;
  gsize i;

  dashcam_ts_parser_init (&parser);
  for (i = 0; i + DASHCAM_TS_PACKET_SIZE <= len; i += DASHCAM_TS_PACKET_SIZE) {
    const guint8 *p = data + i;
    DashcamTsPacketInfo info;
    Pes *buf;
    gsize off = 4;

    if (p[0] != DASHCAM_TS_SYNC_BYTE)
      continue;
    dashcam_ts_parser_parse (&parser, p, &info);
    if (info.is_primary || info.is_pat || info.is_pmt
        || info.pid == DASHCAM_TS_PID_NULL)
      continue;
    if (p[3] & 0x20)
      off += 1 + p[4];
    if (!(p[3] & 0x10) || off >= DASHCAM_TS_PACKET_SIZE)
      continue;
    buf = g_hash_table_lookup (pes, GUINT_TO_POINTER (info.pid));
    if (info.pusi) {
      if (buf)
        scan_pes (buf, out, &unreadable);
      buf = g_new0 (Pes, 1);
      buf->bytes = g_byte_array_new ();
      buf->has_pts = info.has_pts;
      buf->pts = info.pts;
      g_hash_table_replace (pes, GUINT_TO_POINTER (info.pid), buf);
    }
    if (buf)
      g_byte_array_append (buf->bytes, p + off, DASHCAM_TS_PACKET_SIZE - off);
  }
  g_hash_table_iter_init (&iter, pes);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    scan_pes (value, out, &unreadable);
  g_hash_table_unref (pes);
  if (n_unreadable)
    *n_unreadable = unreadable;
  return out;
}

/* NAME.ts -> NAME.gpx; another name gets .gpx appended. */
gchar *
dashcam_gpx_sidecar_name (const gchar * segment_name)
{
  if (g_str_has_suffix (segment_name, ".ts"))
    return g_strdup_printf ("%.*s.gpx",
        (gint) strlen (segment_name) - 3, segment_name);
  return g_strconcat (segment_name, ".gpx", NULL);
}

static gboolean
write_all (gint fd, const gchar * data, gsize len)
{
  while (len > 0) {
    gssize n = write (fd, data, len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return FALSE;
    data += n;
    len -= n;
  }
  return TRUE;
}

/* Reads the segment @ts_name in @dir_fd (the segment's file as it is now:
 * NAME or NAME.part) and, if it carries fixes, writes the GPX sidecar of
 * @segment_name the way segments are written: NAME.gpx.part, synced,
 * renamed, the directory synced. A segment without a fix gets none (and
 * loses a stale one). @n_points gets the track points written. */
gboolean
dashcam_gpx_write_sidecar (gint dir_fd, const gchar * ts_name,
    const gchar * segment_name, guint * n_points, GError ** error)
{
  gchar *gpx_name = dashcam_gpx_sidecar_name (segment_name);
  gchar *part = g_strconcat (gpx_name, ".part", NULL);
  GArray *sets = NULL, *fixes = NULL;
  gchar *text = NULL;
  gboolean ok = FALSE;
  struct stat st;
  gpointer map;
  guint i, n = 0;
  gint fd;

  fd = openat (dir_fd, ts_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &st) < 0)
    goto failed;
  if (st.st_size > 0) {
    map = mmap (NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
      goto failed;
    sets = dashcam_klv_scan_ts (map, st.st_size, NULL);
    munmap (map, st.st_size);
    fixes = g_array_sized_new (FALSE, FALSE, sizeof (DashcamGpsFix),
        sets->len);
    for (i = 0; i < sets->len; i++)
      g_array_append_val (fixes, g_array_index (sets, DashcamKlvSet, i).fix);
  }
  close (fd);
  fd = -1;
  for (i = 0; fixes && i < fixes->len; i++)
    n += dashcam_gps_fix_is_current (&g_array_index (fixes, DashcamGpsFix,
            i));
  if (n == 0) {
    if (unlinkat (dir_fd, gpx_name, 0) < 0 && errno != ENOENT)
      goto failed;
    ok = TRUE;
    goto out;
  }
  text = dashcam_gpx_write ((DashcamGpsFix *) fixes->data, fixes->len,
      segment_name);
  fd = openat (dir_fd, part, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
      O_CLOEXEC, 0640);
  if (fd < 0 || !write_all (fd, text, strlen (text)) || fdatasync (fd) < 0)
    goto failed;
  close (fd);
  fd = -1;
  if (renameat (dir_fd, part, dir_fd, gpx_name) < 0 || fsync (dir_fd) < 0)
    goto failed;
  ok = TRUE;
  goto out;

failed:
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
      "GPX sidecar of %s: %s", segment_name, g_strerror (errno));
  if (fd >= 0)
    close (fd);
  unlinkat (dir_fd, part, 0);
out:
  if (n_points)
    *n_points = ok ? n : 0;
  if (fixes)
    g_array_unref (fixes);
  if (sets)
    g_array_unref (sets);
  g_free (text);
  g_free (part);
  g_free (gpx_name);
  return ok;
}
