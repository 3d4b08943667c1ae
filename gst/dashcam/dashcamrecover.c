/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Recovering what a power cut (or SIGKILL) left in a recording directory.
 *
 * Every file a recorder creates is announced in the catalog first, so a
 * partial file is known to be ours. It is cut to the longest prefix of
 * whole packets without a torn frame, synced, renamed to its final name and
 * recorded as complete. Files the catalog does not know are reported and
 * never touched.
 */

#include "dashcamrecover.h"
#include "dashcamnaming.h"
#include "dashcamts.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

/**
 * dashcam_recover_file:
 * @path: a TS file that may end in the middle of a packet or frame
 * @size: (out): its size after recovery (0: nothing decodable in it)
 * @duration: (out): its duration, %GST_CLOCK_TIME_NONE if unknown
 * @cut_bytes: (out): how many bytes were cut from its end
 * @error: return location for a #GError
 *
 * Truncates @path to its clean length and syncs it.
 *
 * Returns: %TRUE on success
 */
gboolean
dashcam_recover_file (const gchar * path, guint64 * size,
    GstClockTime * duration, guint64 * cut_bytes, GError ** error)
{
  GMappedFile *map;
  DashcamTsScan scan;
  gsize len;
  gint fd;

  map = g_mapped_file_new (path, FALSE, error);
  if (map == NULL)
    return FALSE;
  len = g_mapped_file_get_length (map);
  dashcam_ts_scan ((const guint8 *) g_mapped_file_get_contents (map), len,
      &scan);
  g_mapped_file_unref (map);

  if (scan.random_access_points == 0)
    scan.clean_length = 0;
  *size = scan.clean_length;
  *cut_bytes = len - scan.clean_length;
  *duration = scan.has_time && scan.end_pts > scan.first_pts ?
      scan.end_pts - scan.first_pts : GST_CLOCK_TIME_NONE;

  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || (len != scan.clean_length
          && ftruncate (fd, scan.clean_length) < 0) || fsync (fd) < 0) {
    gint err = errno;

    if (fd >= 0)
      close (fd);
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_IO,
        "Could not truncate \"%s\": %s", path, g_strerror (err));
    return FALSE;
  }
  close (fd);
  return TRUE;
}

static void
report (DashcamRecoverFunc func, gpointer user_data, DashcamRecoverResult r,
    const gchar * name, const DashcamSegment * seg, guint64 cut,
    const gchar * detail)
{
  DashcamRecoverEvent ev = { r, name, seg, cut, detail };

  if (func)
    func (&ev, user_data);
}

/* Completes one segment that was open when the recorder died. */
static gboolean
recover_segment (DashcamCatalog * cat, DashcamSegment * seg,
    DashcamRecoverFunc func, gpointer user_data, GError ** error)
{
  gchar *final_path = dashcam_catalog_build_path (cat, seg->name);
  gchar *part_path = g_strconcat (final_path, DASHCAM_PARTIAL_SUFFIX, NULL);
  gchar *name = g_strdup (seg->name);
  const gchar *path = part_path;
  guint64 size, cut;
  GstClockTime duration;
  gboolean ret = FALSE;

  if (!g_file_test (part_path, G_FILE_TEST_IS_REGULAR)) {
    /* died between the rename and the close record */
    path = final_path;
    if (!g_file_test (final_path, G_FILE_TEST_IS_REGULAR)) {
      ret = dashcam_catalog_remove (cat, name, "missing", error);
      report (func, user_data, DASHCAM_RECOVER_MISSING, name, NULL, 0,
          "the partial file is gone");
      goto out;
    }
  }

  if (!dashcam_recover_file (path, &size, &duration, &cut, error))
    goto out;

  if (size == 0) {
    g_unlink (path);
    ret = dashcam_catalog_remove (cat, name, "empty", error);
    report (func, user_data, DASHCAM_RECOVER_REMOVED, name, NULL, cut,
        "no decodable frame in the partial file");
    goto out;
  }
  if (path == part_path && g_rename (part_path, final_path) < 0) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_IO,
        "Could not rename \"%s\": %s", part_path, g_strerror (errno));
    goto out;
  }
  if (!dashcam_fsync_dir (dashcam_catalog_get_dir (cat), error))
    goto out;

  seg->size = size;
  seg->duration = duration;
  if (!dashcam_catalog_add_close (cat, seg, error))
    goto out;
  report (func, user_data, DASHCAM_RECOVER_RECOVERED, name,
      dashcam_catalog_lookup (cat, name), cut, NULL);
  ret = TRUE;

out:
  g_free (name);
  g_free (part_path);
  g_free (final_path);
  return ret;
}

/* Reports files in the directory that the catalog does not know. */
static gboolean
report_foreign (DashcamCatalog * cat, DashcamRecoverFunc func,
    gpointer user_data, GError ** error)
{
  GDir *dir = g_dir_open (dashcam_catalog_get_dir (cat), 0, error);
  const gchar *entry;

  if (dir == NULL)
    return FALSE;
  while ((entry = g_dir_read_name (dir))) {
    gchar *base;

    if (g_str_equal (entry, DASHCAM_STATE_DIR))
      continue;
    base = g_str_has_suffix (entry, DASHCAM_PARTIAL_SUFFIX) ?
        g_strndup (entry, strlen (entry) - strlen (DASHCAM_PARTIAL_SUFFIX)) :
        g_strdup (entry);
    if (dashcam_catalog_lookup (cat, base) == NULL)
      report (func, user_data, DASHCAM_RECOVER_FOREIGN, entry, NULL, 0,
          "not recorded by gst-dashcam: left alone");
    g_free (base);
  }
  g_dir_close (dir);
  return TRUE;
}

/**
 * dashcam_recover_directory:
 * @cat: the catalog of the directory; the caller holds the recorder lock
 * @func: (nullable): called for every file recovered, removed or skipped
 * @user_data: for @func
 * @error: return location for a #GError
 *
 * Completes the segments a crash left open, forgets segments whose files
 * were removed behind our back, and reports foreign files.
 *
 * Returns: %TRUE on success
 */
gboolean
dashcam_recover_directory (DashcamCatalog * cat, DashcamRecoverFunc func,
    gpointer user_data, GError ** error)
{
  GPtrArray *list = dashcam_catalog_list (cat);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  gboolean ret = TRUE;
  guint i;

  /* the list is invalidated by every append: work on names */
  for (i = 0; i < list->len; i++)
    g_ptr_array_add (names,
        g_strdup (((DashcamSegment *) g_ptr_array_index (list, i))->name));
  g_ptr_array_unref (list);

  for (i = 0; ret && i < names->len; i++) {
    const gchar *name = g_ptr_array_index (names, i);
    DashcamSegment *seg = dashcam_catalog_lookup (cat, name);
    gchar *path;

    if (seg == NULL)
      continue;
    if (!seg->complete) {
      GError *err = NULL;

      /* one bad file must not keep the recorder from starting */
      if (!recover_segment (cat, seg, func, user_data, &err)) {
        report (func, user_data, DASHCAM_RECOVER_FAILED, name, NULL, 0,
            err->message);
        g_clear_error (&err);
      }
      continue;
    }
    path = dashcam_catalog_build_path (cat, name);
    if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
      ret = dashcam_catalog_remove (cat, name, "missing", error);
      report (func, user_data, DASHCAM_RECOVER_MISSING, name, NULL, 0,
          "removed by someone else");
    }
    g_free (path);
  }
  g_ptr_array_unref (names);

  return ret && report_foreign (cat, func, user_data, error);
}
