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
 * recorded as complete.
 *
 * A damaged journal must not lose footage: a file the catalog does not
 * know but that is named like ours (see dashcam_filename_format_match())
 * and plays is adopted again, so that retention can delete it later
 * instead of letting it fill the card. Other files are reported and never
 * touched, and nothing is followed through a symbolic link (see
 * dashcamcatalog.c).
 */

#include "dashcamrecover.h"
#include "dashcamnaming.h"
#include "dashcamts.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

/* Scans the file open as @fd; with @cut, cuts it to its clean length and
 * syncs it. @what names it in errors. */
static gboolean
recover_fd (gint fd, const gchar * what, gboolean cut, guint64 * size,
    GstClockTime * duration, guint64 * cut_bytes, GError ** error)
{
  GMappedFile *map;
  DashcamTsScan scan;
  GError *err = NULL;
  gsize len;

  map = g_mapped_file_new_from_fd (fd, FALSE, &err);
  if (map == NULL) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_IO,
        "Could not read \"%s\": %s", what, err->message);
    g_clear_error (&err);
    return FALSE;
  }
  len = g_mapped_file_get_length (map);
  dashcam_ts_scan ((const guint8 *) g_mapped_file_get_contents (map), len,
      &scan);
  g_mapped_file_unref (map);

  if (scan.random_access_points == 0)
    scan.clean_length = 0;
  *size = cut ? scan.clean_length : (scan.clean_length ? len : 0);
  *cut_bytes = len - *size;
  *duration = scan.has_time && scan.end_pts > scan.first_pts ?
      scan.end_pts - scan.first_pts : GST_CLOCK_TIME_NONE;

  if (!cut)
    return TRUE;
  if ((len != scan.clean_length && ftruncate (fd, scan.clean_length) < 0)
      || fsync (fd) < 0) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_IO,
        "Could not truncate \"%s\": %s", what, g_strerror (errno));
    return FALSE;
  }
  return TRUE;
}

/**
 * dashcam_recover_file:
 * @path: a TS file that may end in the middle of a packet or frame
 * @size: (out): its size after recovery (0: nothing decodable in it)
 * @duration: (out): its duration, %GST_CLOCK_TIME_NONE if unknown
 * @cut_bytes: (out): how many bytes were cut from its end
 * @error: return location for a #GError
 *
 * Truncates @path to its clean length and syncs it. A symbolic link, or a
 * file with other hard links, is refused.
 *
 * Returns: %TRUE on success
 */
gboolean
dashcam_recover_file (const gchar * path, guint64 * size,
    GstClockTime * duration, guint64 * cut_bytes, GError ** error)
{
  struct stat st;
  gboolean ret;
  gint fd;

  fd = open (path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_IO,
        "Could not open \"%s\": %s", path, g_strerror (errno));
    return FALSE;
  }
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_nlink != 1) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "\"%s\" is not a regular file of its own: not touching it", path);
    close (fd);
    return FALSE;
  }
  ret = recover_fd (fd, path, TRUE, size, duration, cut_bytes, error);
  close (fd);
  return ret;
}

/* Opens @name and scans it; with @cut, cuts it to its clean length. */
static gboolean
scan_segment_file (DashcamCatalog * cat, const gchar * name, gboolean cut,
    guint64 * size, GstClockTime * duration, guint64 * cut_bytes,
    GError ** error)
{
  gchar *what = dashcam_catalog_build_path (cat, name);
  gboolean ret = FALSE;
  gint fd;

  fd = dashcam_catalog_open_file (cat, name, O_RDWR, error);
  if (fd >= 0) {
    ret = recover_fd (fd, what, cut, size, duration, cut_bytes, error);
    if (ret)
      fchmod (fd, dashcam_catalog_get_file_mode (cat));
    close (fd);
  }
  g_free (what);
  return ret;
}

/**
 * dashcam_recover_segment_file:
 * @cat: the catalog of the directory
 * @name: a segment file name (or a partial one) in it
 * @size: (out): its size after recovery (0: nothing decodable in it)
 * @duration: (out): its duration, %GST_CLOCK_TIME_NONE if unknown
 * @cut_bytes: (out): how many bytes were cut from its end
 * @error: return location for a #GError
 *
 * dashcam_recover_file() on a file of the directory, reached through
 * dashcam_catalog_open_file(); the file gets the catalog's file mode.
 *
 * Returns: %TRUE on success
 */
gboolean
dashcam_recover_segment_file (DashcamCatalog * cat, const gchar * name,
    guint64 * size, GstClockTime * duration, guint64 * cut_bytes,
    GError ** error)
{
  return scan_segment_file (cat, name, TRUE, size, duration, cut_bytes,
      error);
}

static void
report (DashcamRecoverFunc func, gpointer user_data, DashcamRecoverResult r,
    const gchar * name, const DashcamSegment * seg, guint64 cut,
    const gchar * detail)
{
  DashcamRecoverEvent ev = { r, name, seg, cut, detail, FALSE };

  if (func)
    func (&ev, user_data);
}

/* Completes one segment that was open when the recorder died. */
static gboolean
recover_segment (DashcamCatalog * cat, DashcamSegment * seg,
    DashcamRecoverFunc func, gpointer user_data, GError ** error)
{
  gchar *name = g_strdup (seg->name);
  gchar *part = g_strconcat (name, DASHCAM_PARTIAL_SUFFIX, NULL);
  const gchar *file = part;
  guint64 size, cut;
  GstClockTime duration;
  GError *err = NULL;
  gboolean ret = FALSE;

  if (!scan_segment_file (cat, part, TRUE, &size, &duration, &cut, &err)) {
    if (!g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_NOT_FOUND)) {
      g_propagate_error (error, err);
      goto out;
    }
    /* died between the rename and the close record (or the close record
     * was lost): the file was synced whole before the rename, keep it */
    g_clear_error (&err);
    file = name;
    if (!scan_segment_file (cat, name, FALSE, &size, &duration, &cut,
            &err)) {
      if (!g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_NOT_FOUND)) {
        g_propagate_error (error, err);
        goto out;
      }
      g_clear_error (&err);
      ret = dashcam_catalog_remove (cat, name, "missing", error);
      report (func, user_data, DASHCAM_RECOVER_MISSING, name, NULL, 0,
          "the partial file is gone");
      goto out;
    }
  }

  if (size == 0) {
    dashcam_catalog_unlink_file (cat, file, NULL);
    ret = dashcam_catalog_remove (cat, name, "empty", error);
    report (func, user_data, DASHCAM_RECOVER_REMOVED, name, NULL, cut,
        "no decodable frame in the partial file");
    goto out;
  }
  if (file == part && !dashcam_catalog_rename_file (cat, part, name, error))
    goto out;
  if (!dashcam_catalog_sync_dir (cat, error))
    goto out;

  seg = dashcam_catalog_lookup (cat, name);
  seg->size = size;
  seg->duration = duration;
  if (!dashcam_catalog_add_close (cat, seg, error))
    goto out;
  report (func, user_data, DASHCAM_RECOVER_RECOVERED, name,
      dashcam_catalog_lookup (cat, name), cut, NULL);
  ret = TRUE;

out:
  g_free (part);
  g_free (name);
  return ret;
}

/* A complete segment of the catalog: its file must still be there, and be
 * a regular file of its own (a link planted under its name would be read
 * by the uploader and followed by nothing else). With @own, it gets the
 * catalog's file mode (segments of an older version were world-readable). */
static gboolean
check_complete (DashcamCatalog * cat, const gchar * name, gboolean own,
    DashcamRecoverFunc func, gpointer user_data, GError ** error)
{
  GError *err = NULL;
  gint fd = dashcam_catalog_open_file (cat, name, O_RDONLY, &err);

  if (fd >= 0) {
    if (own)
      fchmod (fd, dashcam_catalog_get_file_mode (cat));
    close (fd);
    return TRUE;
  }
  if (g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_NOT_FOUND)) {
    report (func, user_data, DASHCAM_RECOVER_MISSING, name, NULL, 0,
        "removed by someone else");
    g_clear_error (&err);
    return dashcam_catalog_remove (cat, name, "missing", error);
  }
  /* forget it: never uploaded, never deleted, left as it is */
  report (func, user_data, DASHCAM_RECOVER_FAILED, name, NULL, 0,
      err->message);
  g_clear_error (&err);
  return dashcam_catalog_remove (cat, name, "not-a-file", error);
}

/* Adopts a file named like ours that the catalog lost: a partial one is
 * completed like after a power cut, a complete one is kept as it is.
 * Returns FALSE (with @detail) if it is left alone. */
static gboolean
adopt_file (DashcamCatalog * cat, const gchar * entry, guint64 index,
    DashcamRecoverFunc func, gpointer user_data, gchar ** detail)
{
  gboolean partial = g_str_has_suffix (entry, DASHCAM_PARTIAL_SUFFIX);
  gchar *name = partial ? g_strndup (entry, strlen (entry) -
      strlen (DASHCAM_PARTIAL_SUFFIX)) : g_strdup (entry);
  gchar *what = dashcam_catalog_build_path (cat, entry);
  DashcamSegment seg = { 0, };
  GError *err = NULL;
  guint64 cut = 0;
  struct stat st;
  gint64 mtime;
  gint fd;

  fd = dashcam_catalog_open_file (cat, entry, O_RDWR, &err);
  if (fd < 0 || fstat (fd, &st) < 0)
    goto failed;
  mtime = st.st_mtime;
  if (!recover_fd (fd, what, partial, &seg.size, &seg.duration, &cut, &err))
    goto failed;
  if (seg.size == 0) {
    *detail = g_strdup ("named like a segment but holds no playable video: "
        "left alone");
    goto out;
  }
  if (partial && fstatat (dashcam_catalog_get_dir_fd (cat), name, &st,
          AT_SYMLINK_NOFOLLOW) == 0) {
    *detail = g_strdup_printf ("\"%s\" exists too: left alone", name);
    goto out;
  }
  if (partial && !dashcam_catalog_rename_file (cat, entry, name, &err))
    goto failed;
  fchmod (fd, dashcam_catalog_get_file_mode (cat));
  if (!dashcam_catalog_sync_dir (cat, &err))
    goto failed;

  seg.name = name;
  seg.index = index;
  seg.running_time = GST_CLOCK_TIME_NONE;
  seg.wall_time = mtime * G_USEC_PER_SEC -
      (GST_CLOCK_TIME_IS_VALID (seg.duration) ? seg.duration / 1000 : 0);
  seg.complete = TRUE;
  if (!dashcam_catalog_adopt (cat, &seg, &err))
    goto failed;
  if (func) {
    DashcamRecoverEvent ev = { DASHCAM_RECOVER_RECOVERED, name,
      dashcam_catalog_lookup (cat, name), cut, "not in the catalog", TRUE
    };

    func (&ev, user_data);
  }
  goto out;

failed:
  *detail = g_strdup (err ? err->message : g_strerror (errno));
  g_clear_error (&err);
out:
  if (fd >= 0)
    close (fd);
  g_free (what);
  g_free (name);
  return *detail == NULL;
}

/* TRUE for NAME.gpx when the catalog knows NAME.ts (its GPX sidecar). */
static gboolean
is_sidecar_of_known (DashcamCatalog * cat, const gchar * name)
{
  gchar *ts;
  gboolean known;

  if (!g_str_has_suffix (name, ".gpx"))
    return FALSE;
  ts = g_strdup_printf ("%.*s.ts", (gint) strlen (name) - 4, name);
  known = dashcam_catalog_lookup (cat, ts) != NULL;
  g_free (ts);
  return known;
}

/* Adopts or reports the files in the directory that the catalog does not
 * know. */
static gboolean
scan_unknown (DashcamCatalog * cat, const gchar * format,
    DashcamRecoverFunc func, gpointer user_data, GError ** error)
{
  GDir *dir = g_dir_open (dashcam_catalog_get_dir (cat), 0, error);
  GPtrArray *entries = g_ptr_array_new_with_free_func (g_free);
  const gchar *entry;
  guint i;

  if (dir == NULL)
    return FALSE;
  /* adopting renames files: list first */
  while ((entry = g_dir_read_name (dir)))
    g_ptr_array_add (entries, g_strdup (entry));
  g_dir_close (dir);

  for (i = 0; i < entries->len; i++) {
    gchar *base, *detail = NULL;
    guint64 index;

    entry = g_ptr_array_index (entries, i);
    if (g_str_equal (entry, DASHCAM_STATE_DIR))
      continue;
    base = g_str_has_suffix (entry, DASHCAM_PARTIAL_SUFFIX) ?
        g_strndup (entry, strlen (entry) - strlen (DASHCAM_PARTIAL_SUFFIX)) :
        g_strdup (entry);
    /* a segment's GPX sidecar goes with its segment */
    if (!is_sidecar_of_known (cat, base)
        && dashcam_catalog_lookup (cat, base) == NULL) {
      if (!dashcam_filename_format_match (format, base, &index))
        detail = g_strdup ("not recorded by gst-dashcam: left alone");
      else
        adopt_file (cat, entry, index, func, user_data, &detail);
      if (detail)
        report (func, user_data, DASHCAM_RECOVER_FOREIGN, entry, NULL, 0,
            detail);
    }
    g_free (detail);
    g_free (base);
  }
  g_ptr_array_unref (entries);
  return TRUE;
}

/**
 * dashcam_recover_directory_full:
 * @cat: the catalog of the directory; the caller holds the recorder lock
 * @format: (nullable): the filename-format: files named like it that the
 *   catalog does not know are adopted, and every segment gets the catalog's
 *   file mode (%NULL: unknown files are only reported, nothing changes
 *   mode)
 * @func: (nullable): called for every file recovered, removed or skipped
 * @user_data: for @func
 * @error: return location for a #GError
 *
 * Completes the segments a crash left open, forgets segments whose files
 * were removed behind our back (or replaced by something that is not a
 * regular file), adopts segments the catalog lost and reports foreign
 * files.
 *
 * Returns: %TRUE on success
 */
gboolean
dashcam_recover_directory_full (DashcamCatalog * cat, const gchar * format,
    DashcamRecoverFunc func, gpointer user_data, GError ** error)
{
  GPtrArray *list, *names;
  gboolean ret = TRUE;
  guint i;

  /* a record the power cut left without its newline is read now, not by
   * the first record appended below, behind this loop's back */
  if (!dashcam_catalog_end_torn_line (cat, error))
    return FALSE;
  list = dashcam_catalog_list (cat);
  names = g_ptr_array_new_with_free_func (g_free);

  /* the list is invalidated by every append: work on names */
  for (i = 0; i < list->len; i++)
    g_ptr_array_add (names,
        g_strdup (((DashcamSegment *) g_ptr_array_index (list, i))->name));
  g_ptr_array_unref (list);

  for (i = 0; ret && i < names->len; i++) {
    const gchar *name = g_ptr_array_index (names, i);
    DashcamSegment *seg = dashcam_catalog_lookup (cat, name);

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
    ret = check_complete (cat, name, format != NULL, func, user_data, error);
  }
  g_ptr_array_unref (names);

  return ret && scan_unknown (cat, format, func, user_data, error);
}

/**
 * dashcam_recover_directory:
 * @cat: the catalog of the directory; the caller holds the recorder lock
 * @func: (nullable): called for every file recovered, removed or skipped
 * @user_data: for @func
 * @error: return location for a #GError
 *
 * dashcam_recover_directory_full() without a format: unknown files are
 * only reported.
 *
 * Returns: %TRUE on success
 */
gboolean
dashcam_recover_directory (DashcamCatalog * cat, DashcamRecoverFunc func,
    gpointer user_data, GError ** error)
{
  return dashcam_recover_directory_full (cat, NULL, func, user_data, error);
}
