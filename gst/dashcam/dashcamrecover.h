/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef __DASHCAM_RECOVER_H__
#define __DASHCAM_RECOVER_H__

#include "dashcamcatalog.h"

G_BEGIN_DECLS

typedef enum
{
  DASHCAM_RECOVER_RECOVERED,    /* partial file cut and completed */
  DASHCAM_RECOVER_REMOVED,      /* partial file held nothing decodable */
  DASHCAM_RECOVER_MISSING,      /* catalog entry without a file */
  DASHCAM_RECOVER_FOREIGN,      /* file that is not ours: left alone */
  DASHCAM_RECOVER_FAILED,       /* could not be recovered: left alone */
} DashcamRecoverResult;

/**
 * DashcamRecoverEvent:
 * @result: what happened
 * @name: file name in the directory
 * @segment: (nullable): the catalog entry (valid during the callback only)
 * @cut_bytes: bytes cut from the end of a partial file
 * @detail: (nullable): human-readable detail
 * @adopted: with %DASHCAM_RECOVER_RECOVERED: a file named like ours that
 *   the catalog had lost (a damaged journal), now recorded again
 */
typedef struct
{
  DashcamRecoverResult result;
  const gchar *name;
  const DashcamSegment *segment;
  guint64 cut_bytes;
  const gchar *detail;
  gboolean adopted;
} DashcamRecoverEvent;

typedef void (*DashcamRecoverFunc) (const DashcamRecoverEvent * event,
    gpointer user_data);

gboolean dashcam_recover_directory (DashcamCatalog * cat,
    DashcamRecoverFunc func, gpointer user_data, GError ** error);

gboolean dashcam_recover_directory_full (DashcamCatalog * cat,
    const gchar * format, DashcamRecoverFunc func, gpointer user_data,
    GError ** error);

gboolean dashcam_recover_segment_file (DashcamCatalog * cat,
    const gchar * name, guint64 * size, GstClockTime * duration,
    guint64 * cut_bytes, GError ** error);

gboolean dashcam_recover_file (const gchar * path, guint64 * size,
    GstClockTime * duration, guint64 * cut_bytes, GError ** error);

G_END_DECLS

#endif /* __DASHCAM_RECOVER_H__ */
