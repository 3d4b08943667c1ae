/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef __DASHCAM_TEMPLATE_H__
#define __DASHCAM_TEMPLATE_H__

#include <glib.h>

G_BEGIN_DECLS

#define DASHCAM_STREAMID_MAX_LENGTH 512

/**
 * DashcamTemplateValues:
 * @device: the device id, for `{device}`
 * @start_us: UTC wall clock, microseconds, for `{start}` (`%Y%m%d-%H%M%S`)
 * @segment: (nullable): segment name without extension, for `{segment}`
 */
typedef struct
{
  const gchar *device;
  gint64 start_us;
  const gchar *segment;
} DashcamTemplateValues;

gboolean dashcam_template_validate (const gchar * tmpl,
    gboolean allow_segment, GError ** error);

gboolean dashcam_template_check (const gchar * tmpl, const gchar * device,
    gboolean allow_segment, GError ** error);

gchar *dashcam_streamid_mask (const gchar * streamid);

gboolean dashcam_device_id_validate (const gchar * device, GError ** error);

gchar *dashcam_template_expand (const gchar * tmpl,
    const DashcamTemplateValues * values, GError ** error);

/**
 * DashcamSrtUri:
 * @host: host name or address (IPv6 without brackets)
 * @port: port
 * @params: (element-type utf8 utf8): decoded query parameters
 */
typedef struct
{
  gchar *host;
  guint16 port;
  GHashTable *params;
} DashcamSrtUri;

DashcamSrtUri *dashcam_srt_uri_parse (const gchar * uri, GError ** error);
void dashcam_srt_uri_free (DashcamSrtUri * uri);

gchar *dashcam_default_device_id (void);

G_END_DECLS

#endif /* __DASHCAM_TEMPLATE_H__ */
