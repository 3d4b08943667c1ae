/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef __DASHCAM_CATALOG_H__
#define __DASHCAM_CATALOG_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#define DASHCAM_ERROR (dashcam_error_quark ())
GQuark dashcam_error_quark (void);

typedef enum
{
  DASHCAM_ERROR_FAILED,
  DASHCAM_ERROR_BUSY,
  DASHCAM_ERROR_INVALID,
  DASHCAM_ERROR_IO,
  DASHCAM_ERROR_NOT_FOUND,
} DashcamError;

/* Files of ours inside a recording directory */
#define DASHCAM_STATE_DIR ".dashcam"
#define DASHCAM_JOURNAL_NAME "journal"
#define DASHCAM_RECORDER_LOCK_NAME "recorder.lock"
#define DASHCAM_PARTIAL_SUFFIX ".part"

/* Files of ours are readable by the owner and the group only: they are
 * video of people in and around the car */
#define DASHCAM_DEFAULT_FILE_MODE 0640

/**
 * DashcamSegment:
 * @name: file name inside the recording directory
 * @index: unique, increasing segment number
 * @run_id: the pipeline run that recorded it
 * @running_time: running time of its first frame in that run
 * @duration: nanoseconds, %GST_CLOCK_TIME_NONE while unknown
 * @size: bytes
 * @wall_time: UTC wall clock when it was opened, microseconds since the
 *   epoch (as good as the device clock was)
 * @complete: closed (or recovered) and renamed to @name
 * @locked: protected from retention
 * @uploaded: confirmed received by the server
 *
 * What the recording directory knows about one segment.
 */
typedef struct
{
  gchar *name;
  guint64 index;
  gchar *run_id;
  GstClockTime running_time;
  GstClockTime duration;
  guint64 size;
  gint64 wall_time;
  gboolean complete;
  gboolean locked;
  gboolean uploaded;
} DashcamSegment;

typedef struct _DashcamCatalog DashcamCatalog;

DashcamCatalog *dashcam_catalog_open (const gchar * dir, GError ** error);
DashcamCatalog *dashcam_catalog_open_full (const gchar * dir, guint file_mode,
    GError ** error);
void dashcam_catalog_free (DashcamCatalog * cat);

const gchar *dashcam_catalog_get_dir (DashcamCatalog * cat);

gchar *dashcam_catalog_set_aside_state_dir (const gchar * dir,
    GError ** error);

gboolean dashcam_catalog_lock_recorder (DashcamCatalog * cat, GError ** error);

gboolean dashcam_catalog_refresh (DashcamCatalog * cat, GError ** error);

gboolean dashcam_catalog_end_torn_line (DashcamCatalog * cat,
    GError ** error);

gboolean dashcam_catalog_compact (DashcamCatalog * cat, GError ** error);

GPtrArray *dashcam_catalog_list (DashcamCatalog * cat);
DashcamSegment *dashcam_catalog_lookup (DashcamCatalog * cat,
    const gchar * name);
guint64 dashcam_catalog_next_index (DashcamCatalog * cat);
guint dashcam_catalog_n_corrupt_records (DashcamCatalog * cat);

gboolean dashcam_catalog_add_open (DashcamCatalog * cat,
    const DashcamSegment * segment, GError ** error);
gboolean dashcam_catalog_add_close (DashcamCatalog * cat,
    const DashcamSegment * segment, GError ** error);
gboolean dashcam_catalog_adopt (DashcamCatalog * cat,
    const DashcamSegment * segment, GError ** error);
gboolean dashcam_catalog_set_locked (DashcamCatalog * cat, const gchar * name,
    gboolean locked, GError ** error);
gboolean dashcam_catalog_set_uploaded (DashcamCatalog * cat,
    const gchar * name, GError ** error);
gboolean dashcam_catalog_remove (DashcamCatalog * cat, const gchar * name,
    const gchar * reason, GError ** error);

gchar *dashcam_catalog_build_path (DashcamCatalog * cat, const gchar * name);

guint dashcam_catalog_get_file_mode (DashcamCatalog * cat);
gint dashcam_catalog_get_dir_fd (DashcamCatalog * cat);
gint dashcam_catalog_open_file (DashcamCatalog * cat, const gchar * name,
    gint flags, GError ** error);
gboolean dashcam_catalog_unlink_file (DashcamCatalog * cat,
    const gchar * name, GError ** error);
gboolean dashcam_catalog_rename_file (DashcamCatalog * cat,
    const gchar * from, const gchar * to, GError ** error);
gboolean dashcam_catalog_sync_dir (DashcamCatalog * cat, GError ** error);

guint dashcam_dir_mode_for (guint file_mode);
gboolean dashcam_make_dir (const gchar * path, guint file_mode,
    GError ** error);

gboolean dashcam_fsync_dir (const gchar * dir, GError ** error);

G_END_DECLS

#endif /* __DASHCAM_CATALOG_H__ */
