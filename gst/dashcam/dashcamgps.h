/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef __DASHCAM_GPS_H__
#define __DASHCAM_GPS_H__

#include <glib.h>

G_BEGIN_DECLS

/**
 * DashcamGpsQuality:
 * @DASHCAM_GPS_NO_POSITION: no fix seen yet: no position at all
 * @DASHCAM_GPS_STALE: the last fix, repeated while the receiver has none
 * @DASHCAM_GPS_FIX_2D: a current fix without altitude
 * @DASHCAM_GPS_FIX_3D: a current fix with altitude
 */
typedef enum
{
  DASHCAM_GPS_NO_POSITION = 0,
  DASHCAM_GPS_STALE,
  DASHCAM_GPS_FIX_2D,
  DASHCAM_GPS_FIX_3D,
} DashcamGpsQuality;

/**
 * DashcamGpsFix:
 * @time_us: UTC of the fix, microseconds since 1970 (0 = unknown)
 * @latitude: degrees, north positive
 * @longitude: degrees, east positive
 * @altitude: metres above mean sea level (NAN = unknown)
 * @speed: ground speed, metres a second (NAN = unknown)
 * @track: course over ground, degrees true (NAN = unknown)
 * @satellites: satellites used (-1 = unknown)
 * @quality: what the position is worth
 *
 * One position report, as gpsd gives it and as a KLV local set carries it.
 */
typedef struct
{
  gint64 time_us;
  gdouble latitude;
  gdouble longitude;
  gdouble altitude;
  gdouble speed;
  gdouble track;
  gint satellites;
  DashcamGpsQuality quality;
} DashcamGpsFix;

/* The largest local set dashcam_klv_encode_fix() writes. */
#define DASHCAM_KLV_FIX_MAX_SIZE 80

void dashcam_gps_fix_init (DashcamGpsFix * fix);
gboolean dashcam_gps_fix_is_current (const DashcamGpsFix * fix);

gsize dashcam_klv_ber_length_write (gsize len, guint8 * out);
gboolean dashcam_klv_ber_length_read (const guint8 * data, gsize size,
    gsize * len, gsize * consumed);
guint16 dashcam_klv_checksum (const guint8 * data, gsize size);

gsize dashcam_klv_encode_fix (const DashcamGpsFix * fix, guint8 * out);
gboolean dashcam_klv_decode_fix (const guint8 * data, gsize size,
    DashcamGpsFix * fix, gsize * consumed);

gboolean dashcam_nmea_parse_rmc (const gchar * line, DashcamGpsFix * fix);
gchar *dashcam_gpx_write (const DashcamGpsFix * fixes, guint n_fixes,
    const gchar * name);

/**
 * DashcamKlvSet:
 * @fix: what the local set says
 * @has_pts: @pts is valid
 * @pts: the PES timestamp, nanoseconds on the stream clock (unwrapped
 *   within one scan)
 *
 * One local set found in a TS by dashcam_klv_scan_ts().
 */
typedef struct
{
  DashcamGpsFix fix;
  gboolean has_pts;
  guint64 pts;
} DashcamKlvSet;

GArray *dashcam_klv_scan_ts (const guint8 * data, gsize len,
    guint * n_unreadable);
gchar *dashcam_gpx_sidecar_name (const gchar * segment_name);
gboolean dashcam_gpx_write_sidecar (gint dir_fd, const gchar * ts_name,
    const gchar * segment_name, guint * n_points, GError ** error);

gboolean dashcam_gps_server_parse (const gchar * server, gchar ** host,
    gchar ** port);

G_END_DECLS

#endif /* __DASHCAM_GPS_H__ */
