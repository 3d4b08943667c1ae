/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef __DASHCAM_NAMING_H__
#define __DASHCAM_NAMING_H__

#include <glib.h>

G_BEGIN_DECLS

#define DASHCAM_DEFAULT_FILENAME_FORMAT "%Y%m%dT%H%M%SZ-{index}.ts"
#define DASHCAM_MAX_NAME_LENGTH 200

gboolean dashcam_filename_format_validate (const gchar * format,
    GError ** error);

gchar *dashcam_filename_format_expand (const gchar * format,
    gint64 wall_time_us, guint64 index, GError ** error);

gboolean dashcam_name_is_safe (const gchar * name);

gboolean dashcam_filename_format_match (const gchar * format,
    const gchar * name, guint64 * index);

gint64 dashcam_wall_clock_now (void);

gchar *dashcam_format_utc (gint64 wall_time_us, const gchar * strftime_fmt);

G_END_DECLS

#endif /* __DASHCAM_NAMING_H__ */
