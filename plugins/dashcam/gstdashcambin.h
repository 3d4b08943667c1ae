/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef __GST_DASHCAM_BIN_H__
#define __GST_DASHCAM_BIN_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_DASHCAM_BIN (gst_dashcam_bin_get_type ())
G_DECLARE_FINAL_TYPE (GstDashcamBin, gst_dashcam_bin, GST, DASHCAM_BIN,
    GstBin)

struct _GstDashcamBin
{
  GstBin parent;

  /* settings, under the object lock */
  gchar *encoder_name;
  guint bitrate;
  gchar *gps;                   /* gpsd address, NULL = no GPS */

  /* children, created in init() (the encoder when it is known) */
  GstElement *vqueue;
  GstElement *convert;
  GstElement *rawcaps;
  GstElement *encoder;
  GstElement *h264caps;
  GstElement *parse;
  GstElement *muxqueue;
  GstElement *mux;
  GstElement *tee;
  GstElement *recqueue;
  GstElement *recorder;
  GstElement *upqueue;
  GstElement *uploader;
  gboolean uploader_linked;
  GstElement *gpssrc;           /* gpsklvsrc ! queue ! mux, with a gps */
  GstElement *gpsqueue;
  gchar *missing;               /* a child's factory that is not installed */

  guint gop_frames;             /* streaming thread */
  guint64 frames;
  GstPad *video_pad;
  GstPad *audio_pad;
};

GST_ELEMENT_REGISTER_DECLARE (dashcambin);

G_END_DECLS

#endif /* __GST_DASHCAM_BIN_H__ */
