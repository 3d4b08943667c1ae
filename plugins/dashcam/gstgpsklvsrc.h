/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef __GST_GPS_KLV_SRC_H__
#define __GST_GPS_KLV_SRC_H__

#include <gst/gst.h>
#include <gst/base/gstpushsrc.h>

#include "dashcamgps.h"

G_BEGIN_DECLS

#define GST_TYPE_GPS_KLV_SRC (gst_gps_klv_src_get_type ())
G_DECLARE_FINAL_TYPE (GstGpsKlvSrc, gst_gps_klv_src, GST, GPS_KLV_SRC,
    GstPushSrc)

typedef struct _GstGpsKlvReader GstGpsKlvReader;

struct _GstGpsKlvSrc
{
  GstPushSrc parent;

  /* settings, under the object lock */
  gchar *server;
  guint64 repeat_interval;

  /* state, under lock; the reader thread fills @pending */
  GMutex lock;
  GCond cond;
  GstGpsKlvReader *reader;
  GQueue pending;               /* GstGpsKlvSample, oldest first */
  DashcamGpsFix last;           /* the latest report, as it was emitted */
  gint64 last_push;             /* monotonic time of the last buffer, us */
  guint64 interval_us;
  GstClockTime last_pts;
  gboolean flushing;
};

GST_ELEMENT_REGISTER_DECLARE (gpsklvsrc);

G_END_DECLS

#endif /* __GST_GPS_KLV_SRC_H__ */
