/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* MISB ST 0601 local sets, BER lengths, the checksum, NMEA RMC and gpsd
 * addresses. */

#include <gst/check/gstcheck.h>

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <unistd.h>

#include "dashcamgps.h"
#include "dashcamts.h"

GST_START_TEST (test_ber_length)
{
  guint8 buf[9];
  gsize sizes[] = { 0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 24 };
  gsize expect_bytes[] = { 1, 1, 1, 2, 2, 3, 3, 4, 5 };
  gsize i, len, n;

  for (i = 0; i < G_N_ELEMENTS (sizes); i++) {
    gsize w = dashcam_klv_ber_length_write (sizes[i], buf);

    fail_unless_equals_int (w, expect_bytes[i]);
    fail_unless (dashcam_klv_ber_length_read (buf, w, &len, &n));
    fail_unless_equals_int (n, w);
    fail_unless_equals_uint64 (len, sizes[i]);
    /* cut short */
    fail_if (dashcam_klv_ber_length_read (buf, w - 1, &len, &n));
  }
  buf[0] = 0x80;                /* indefinite form: not in KLV */
  fail_if (dashcam_klv_ber_length_read (buf, 9, &len, &n));
}

GST_END_TEST;

/* The worked example of MISB ST 0601 (060E 2B34 0200 81BB gives B4FD),
 * and a hand-made odd-sized one. */
GST_START_TEST (test_checksum)
{
  static const guint8 sample[] = {
    0x06, 0x0e, 0x2b, 0x34, 0x02, 0x00, 0x81, 0xbb
  };
  guint8 bytes[] = { 0x01, 0x02, 0x03 };

  /* 0x0100 + 0x02 + 0x0300 */
  fail_unless_equals_int (dashcam_klv_checksum (bytes, 3), 0x0402);
  fail_unless_equals_int (dashcam_klv_checksum (sample, sizeof (sample)),
      0xb4fd);
}

GST_END_TEST;

static void
make_fix (DashcamGpsFix * fix)
{
  dashcam_gps_fix_init (fix);
  fix->time_us = G_GINT64_CONSTANT (1778747405200000);
  fix->latitude = 52.5163123;
  fix->longitude = -13.3777456;
  fix->altitude = 34.4;
  fix->speed = 13.6;
  fix->track = 271.5;
  fix->satellites = 9;
  fix->quality = DASHCAM_GPS_FIX_3D;
}

GST_START_TEST (test_fix_round_trip)
{
  DashcamGpsFix fix, back;
  guint8 buf[DASHCAM_KLV_FIX_MAX_SIZE + 8];
  gsize len, consumed;
  guint16 sum;

  make_fix (&fix);
  len = dashcam_klv_encode_fix (&fix, buf);
  fail_unless (len <= DASHCAM_KLV_FIX_MAX_SIZE);
  /* key, a short-form length covering the rest, checksum last */
  fail_unless_equals_int (buf[0], 0x06);
  fail_unless_equals_int (buf[16], len - 17);
  fail_unless_equals_int (buf[len - 4], 1);
  fail_unless_equals_int (buf[len - 3], 2);
  sum = dashcam_klv_checksum (buf, len - 2);
  fail_unless_equals_int (buf[len - 2] << 8 | buf[len - 1], sum);

  fail_unless (dashcam_klv_decode_fix (buf, len, &back, &consumed));
  fail_unless_equals_int (consumed, len);
  fail_unless_equals_int64 (back.time_us, fix.time_us);
  fail_unless (fabs (back.latitude - fix.latitude) < 1e-7);
  fail_unless (fabs (back.longitude - fix.longitude) < 1e-7);
  fail_unless (fabs (back.altitude - fix.altitude) < 0.31);
  fail_unless (fabs (back.speed - 14.0) < 1e-9);    /* whole m/s */
  fail_unless (fabs (back.track - fix.track) < 0.01);
  fail_unless_equals_int (back.satellites, 9);
  fail_unless_equals_int (back.quality, DASHCAM_GPS_FIX_3D);

  /* two sets back to back: the first one's size */
  memcpy (buf + len, buf, 8);
  fail_unless (dashcam_klv_decode_fix (buf, len + 8, &back, &consumed));
  fail_unless_equals_int (consumed, len);
}

GST_END_TEST;

GST_START_TEST (test_fix_qualities)
{
  DashcamGpsFix fix, back;
  guint8 buf[DASHCAM_KLV_FIX_MAX_SIZE];
  gsize len, consumed;

  make_fix (&fix);
  fix.quality = DASHCAM_GPS_FIX_2D;
  len = dashcam_klv_encode_fix (&fix, buf);
  fail_unless (dashcam_klv_decode_fix (buf, len, &back, &consumed));
  fail_unless_equals_int (back.quality, DASHCAM_GPS_FIX_2D);
  fail_unless (isnan (back.altitude));

  fix.quality = DASHCAM_GPS_STALE;
  len = dashcam_klv_encode_fix (&fix, buf);
  fail_unless (dashcam_klv_decode_fix (buf, len, &back, &consumed));
  fail_unless_equals_int (back.quality, DASHCAM_GPS_STALE);
  fail_unless (fabs (back.latitude - fix.latitude) < 1e-7);

  fix.quality = DASHCAM_GPS_NO_POSITION;
  len = dashcam_klv_encode_fix (&fix, buf);
  fail_unless (dashcam_klv_decode_fix (buf, len, &back, &consumed));
  fail_unless_equals_int (back.quality, DASHCAM_GPS_NO_POSITION);
  fail_unless_equals_int64 (back.time_us, fix.time_us);

  /* the extremes of the mappings */
  make_fix (&fix);
  fix.latitude = -90.0;
  fix.longitude = 180.0;
  fix.speed = 400.0;
  len = dashcam_klv_encode_fix (&fix, buf);
  fail_unless (dashcam_klv_decode_fix (buf, len, &back, &consumed));
  fail_unless (fabs (back.latitude + 90.0) < 1e-7);
  fail_unless (fabs (back.longitude - 180.0) < 1e-7);
  fail_unless (fabs (back.speed - 255.0) < 1e-9);
}

GST_END_TEST;

GST_START_TEST (test_decode_refuses)
{
  DashcamGpsFix fix, back;
  guint8 buf[DASHCAM_KLV_FIX_MAX_SIZE];
  gsize len, consumed, i;

  make_fix (&fix);
  len = dashcam_klv_encode_fix (&fix, buf);
  /* every cut */
  for (i = 0; i < len; i++)
    fail_if (dashcam_klv_decode_fix (buf, i, &back, &consumed), "cut %u",
        (guint) i);
  /* every flipped byte: wrong key, length, item or checksum */
  for (i = 0; i < len; i++) {
    buf[i] ^= 0x10;
    fail_if (dashcam_klv_decode_fix (buf, len, &back, &consumed),
        "flipped byte %u", (guint) i);
    buf[i] ^= 0x10;
  }
  fail_unless (dashcam_klv_decode_fix (buf, len, &back, &consumed));
}

GST_END_TEST;

GST_START_TEST (test_nmea_rmc)
{
  DashcamGpsFix fix;

  /* a sentence from tests/data/drive.nmea */
  fail_unless (dashcam_nmea_parse_rmc
      ("$GPRMC,083004.20,A,5230.978000,N,01322.672428,E,5.987,90.00,140526"
          ",,,A*50\r\n", &fix));
  fail_unless (fabs (fix.latitude - (52 + 30.978 / 60)) < 1e-9);
  fail_unless (fabs (fix.longitude - (13 + 22.672428 / 60)) < 1e-9);
  /* 2026-05-14 08:30:04.2 UTC */
  fail_unless_equals_int64 (fix.time_us, G_GINT64_CONSTANT (1778747404200000));

  fail_unless (dashcam_nmea_parse_rmc
      ("$GNRMC,123519.50,A,4807.038000,S,01131.000000,W,22.4,84.4,230394"
          ",003.1,W*50", &fix));
  fail_unless_equals_int (fix.quality, DASHCAM_GPS_FIX_2D);
  fail_unless (fabs (fix.latitude + (48 + 7.038 / 60)) < 1e-9);
  fail_unless (fabs (fix.longitude + (11 + 31.0 / 60)) < 1e-9);
  fail_unless (fabs (fix.speed - 22.4 * 1852 / 3600) < 1e-9);
  fail_unless (fabs (fix.track - 84.4) < 1e-9);
  /* 1994-03-23 12:35:19.5 UTC */
  fail_unless_equals_int64 (fix.time_us, G_GINT64_CONSTANT (764426119500000));

  fail_unless (dashcam_nmea_parse_rmc
      ("$GPRMC,083040.00,V,,,,,,,140526,,,N*76", &fix));
  fail_unless_equals_int (fix.quality, DASHCAM_GPS_NO_POSITION);

  /* wrong checksum, other sentence, garbage */
  fail_if (dashcam_nmea_parse_rmc
      ("$GPRMC,083040.00,V,,,,,,,140526,,,N*77", &fix));
  fail_if (dashcam_nmea_parse_rmc
      ("$GPGGA,083040.00,,,,,0,00,99.9,,,,,,*50", &fix));
  fail_if (dashcam_nmea_parse_rmc ("# a comment", &fix));
  fail_if (dashcam_nmea_parse_rmc ("", &fix));
}

GST_END_TEST;

GST_START_TEST (test_server_parse)
{
  gchar *host = NULL, *port = NULL;

  fail_unless (dashcam_gps_server_parse ("localhost:2947", &host, &port));
  fail_unless_equals_string (host, "localhost");
  fail_unless_equals_string (port, "2947");
  g_free (host);
  g_free (port);
  fail_unless (dashcam_gps_server_parse ("192.168.1.5", &host, &port));
  fail_unless_equals_string (host, "192.168.1.5");
  fail_unless_equals_string (port, "2947");
  g_free (host);
  g_free (port);
  fail_unless (dashcam_gps_server_parse ("[::1]:40000", &host, &port));
  fail_unless_equals_string (host, "::1");
  fail_unless_equals_string (port, "40000");
  g_free (host);
  g_free (port);
  fail_unless (dashcam_gps_server_parse ("::1", &host, &port));
  fail_unless_equals_string (host, "::1");
  g_free (host);
  g_free (port);

  fail_if (dashcam_gps_server_parse ("", &host, &port));
  fail_if (dashcam_gps_server_parse (NULL, &host, &port));
  fail_if (dashcam_gps_server_parse (":2947", &host, &port));
  fail_if (dashcam_gps_server_parse ("host:0", &host, &port));
  fail_if (dashcam_gps_server_parse ("host:70000", &host, &port));
  fail_if (dashcam_gps_server_parse ("host:http", &host, &port));
  fail_if (dashcam_gps_server_parse ("[::1]x", &host, &port));
}

GST_END_TEST;

static guint
count (const gchar * haystack, const gchar * needle)
{
  guint n = 0;

  while ((haystack = strstr (haystack, needle))) {
    n++;
    haystack++;
  }
  return n;
}

/* Track points of current fixes, segments broken at gaps, locale-proof
 * numbers; well-formed for xmllint and, when DASHCAM_GPX_XSD names the GPX
 * 1.1 schema (gpx.xsd, not shipped by any Debian package), valid. */
GST_START_TEST (test_gpx)
{
  DashcamGpsFix fixes[5];
  gchar *gpx, *dir, *path, *out = NULL;
  const gchar *xsd = g_getenv ("DASHCAM_GPX_XSD");
  gint status = -1;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (fixes); i++) {
    make_fix (&fixes[i]);
    fixes[i].time_us += i * 200000;
    fixes[i].latitude += i * 1e-5;
  }
  fixes[2].quality = DASHCAM_GPS_STALE;
  fixes[4].quality = DASHCAM_GPS_FIX_2D;
  fixes[4].altitude = NAN;
  gpx = dashcam_gpx_write (fixes, G_N_ELEMENTS (fixes), "seg <1> & co");

  fail_unless (g_str_has_prefix (gpx, "<?xml version=\"1.0\""));
  fail_unless (strstr (gpx, "<name>seg &lt;1&gt; &amp; co</name>"));
  fail_unless_equals_int (count (gpx, "<trkpt "), 4);
  fail_unless_equals_int (count (gpx, "<trkseg>"), 2);
  fail_unless (strstr (gpx, "<trkpt lat=\"52.5163123\" lon=\"-13.3777456\">"
          "<ele>34.4</ele><time>2026-05-14T08:30:05.200Z</time><fix>3d</fix>"
          "<sat>9</sat><extensions><gpxtpx:TrackPointExtension>"
          "<gpxtpx:speed>13.60</gpxtpx:speed><gpxtpx:course>271.5"
          "</gpxtpx:course></gpxtpx:TrackPointExtension></extensions>"
          "</trkpt>"), "%s", gpx);
  fail_unless (strstr (gpx, "<fix>2d</fix>"));

  dir = g_dir_make_tmp ("gpx-XXXXXX", NULL);
  path = g_build_filename (dir, "t.gpx", NULL);
  fail_unless (g_file_set_contents (path, gpx, -1, NULL));
  {
    const gchar *argv[] = { "xmllint", "--noout", NULL, NULL, NULL, NULL };

    if (xsd) {
      argv[2] = "--schema";
      argv[3] = xsd;
      argv[4] = path;
    } else {
      argv[2] = path;
      g_printerr ("DASHCAM_GPX_XSD unset: well-formedness only\n");
    }
    if (g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
            NULL, NULL, &out, &status, NULL))
      fail_unless (g_spawn_check_wait_status (status, NULL), "%s", out);
    else
      g_printerr ("SKIP: xmllint (libxml2-utils) is not installed\n");
  }
  g_unlink (path);
  g_rmdir (dir);
  g_free (out);
  g_free (path);
  g_free (dir);
  g_free (gpx);
}

GST_END_TEST;

/* One TS packet on @pid carrying a PES (private stream 1, with a PTS) of
 * the local set of @fix, stuffed with an adaptation field. */
static void
klv_packet (guint8 * pkt, guint16 pid, const DashcamGpsFix * fix)
{
  guint8 set[DASHCAM_KLV_FIX_MAX_SIZE], pes[128];
  gsize len = dashcam_klv_encode_fix (fix, set), pes_len, stuff;
  static const guint8 head[] = { 0x00, 0x00, 0x01, 0xbd, 0, 0, 0x84, 0x80,
    0x05, 0x21, 0x00, 0x01, 0x00, 0x01
  };

  memcpy (pes, head, sizeof (head));
  memcpy (pes + sizeof (head), set, len);
  pes_len = sizeof (head) + len;
  pes[4] = (pes_len - 6) >> 8;
  pes[5] = (pes_len - 6) & 0xff;
  stuff = 184 - pes_len;        /* adaptation field: length byte + rest */
  pkt[0] = 0x47;
  pkt[1] = 0x40 | (pid >> 8);
  pkt[2] = pid & 0xff;
  pkt[3] = 0x30;
  pkt[4] = stuff - 1;
  if (stuff > 1) {
    pkt[5] = 0;
    memset (pkt + 6, 0xff, stuff - 2);
  }
  memcpy (pkt + 4 + stuff, pes, pes_len);
}

/* The local sets of a TS are found in order; the sidecar of a segment
 * with fixes is written (NAME.ts -> NAME.gpx, no .part left), and one
 * without any gets none (a stale one is removed). */
GST_START_TEST (test_scan_and_sidecar)
{
  guint8 ts[4 * 188];
  DashcamGpsFix fix;
  GArray *found;
  gchar *dir, *path, *text;
  gint dir_fd;
  guint n = 99;

  make_fix (&fix);
  klv_packet (ts, 0x102, &fix);
  memset (ts + 188, 0xff, 188);         /* a packet of another stream */
  ts[188] = 0x47;
  ts[189] = 0x01;
  ts[190] = 0x00;
  ts[191] = 0x10;
  fix.quality = DASHCAM_GPS_STALE;
  klv_packet (ts + 376, 0x102, &fix);
  fix.quality = DASHCAM_GPS_FIX_3D;
  fix.time_us += 200000;
  klv_packet (ts + 564, 0x102, &fix);

  found = dashcam_klv_scan_ts (ts, sizeof (ts), &n);
  fail_unless_equals_int (n, 0);
  fail_unless_equals_int (found->len, 3);
  fail_unless_equals_int (g_array_index (found, DashcamKlvSet,
          1).fix.quality, DASHCAM_GPS_STALE);
  fail_unless_equals_int64 (g_array_index (found, DashcamKlvSet,
          2).fix.time_us, fix.time_us);
  /* the PES timestamp (the same in each packet klv_packet builds) */
  fail_unless (g_array_index (found, DashcamKlvSet, 0).has_pts);
  fail_unless (g_array_index (found, DashcamKlvSet, 2).has_pts);
  fail_unless_equals_uint64 (g_array_index (found, DashcamKlvSet, 0).pts,
      g_array_index (found, DashcamKlvSet, 2).pts);
  g_array_unref (found);
  /* a set with a broken checksum is counted, not returned */
  ts[564 + 184 - 1] ^= 1;
  found = dashcam_klv_scan_ts (ts, sizeof (ts), &n);
  fail_unless_equals_int (found->len, 2);
  fail_unless_equals_int (n, 1);
  g_array_unref (found);
  ts[564 + 184 - 1] ^= 1;

  path = dashcam_gpx_sidecar_name ("20260514T083000Z-000001.ts");
  fail_unless_equals_string (path, "20260514T083000Z-000001.gpx");
  g_free (path);

  dir = g_dir_make_tmp ("sidecar-XXXXXX", NULL);
  dir_fd = open (dir, O_RDONLY | O_DIRECTORY);
  path = g_build_filename (dir, "a.ts.part", NULL);
  fail_unless (g_file_set_contents (path, (gchar *) ts, sizeof (ts), NULL));
  g_free (path);
  fail_unless (dashcam_gpx_write_sidecar (dir_fd, "a.ts.part", "a.ts", &n,
          NULL));
  fail_unless_equals_int (n, 2);
  path = g_build_filename (dir, "a.gpx", NULL);
  fail_unless (g_file_get_contents (path, &text, NULL, NULL));
  fail_unless_equals_int (count (text, "<trkpt "), 2);
  fail_unless_equals_int (count (text, "<trkseg>"), 2);
  g_free (text);
  fail_if (g_file_test (path, G_FILE_TEST_EXISTS) == FALSE);
  g_free (path);
  path = g_build_filename (dir, "a.gpx.part", NULL);
  fail_if (g_file_test (path, G_FILE_TEST_EXISTS));
  g_free (path);

  /* the same name now without fixes: its sidecar goes */
  path = g_build_filename (dir, "a.ts.part", NULL);
  fail_unless (g_file_set_contents (path, (gchar *) ts + 188, 188, NULL));
  g_free (path);
  fail_unless (dashcam_gpx_write_sidecar (dir_fd, "a.ts.part", "a.ts", &n,
          NULL));
  fail_unless_equals_int (n, 0);
  path = g_build_filename (dir, "a.gpx", NULL);
  fail_if (g_file_test (path, G_FILE_TEST_EXISTS));
  g_free (path);
  /* a missing segment is an error naming it */
  {
    GError *err = NULL;

    fail_if (dashcam_gpx_write_sidecar (dir_fd, "gone.ts", "gone.ts", &n,
            &err));
    fail_unless (strstr (err->message, "gone.ts") != NULL);
    g_clear_error (&err);
  }
  close (dir_fd);
  path = g_build_filename (dir, "a.ts.part", NULL);
  g_unlink (path);
  g_free (path);
  g_rmdir (dir);
  g_free (dir);
}

GST_END_TEST;

static Suite *
gps_suite (void)
{
  Suite *s = suite_create ("gps");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_ber_length);
  tcase_add_test (tc, test_checksum);
  tcase_add_test (tc, test_fix_round_trip);
  tcase_add_test (tc, test_fix_qualities);
  tcase_add_test (tc, test_decode_refuses);
  tcase_add_test (tc, test_nmea_rmc);
  tcase_add_test (tc, test_server_parse);
  tcase_add_test (tc, test_gpx);
  tcase_add_test (tc, test_scan_and_sidecar);
  return s;
}

GST_CHECK_MAIN (gps);
