/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The recording directory as hostile input, without a pipeline: forged
 * journal names, links, hard links and fifos under our names, a journal
 * deleted or cut short under an open catalog, recognising our own names. */

#include <gst/check/gstcheck.h>

#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "dashcamcatalog.h"
#include "dashcamnaming.h"
#include "dashcamrecover.h"

static gchar *
make_tmpdir (void)
{
  GError *err = NULL;
  gchar *dir = g_dir_make_tmp ("dashcam-recdir-XXXXXX", &err);

  g_assert_no_error (err);
  return dir;
}

/* rm(1) never follows the links these tests plant */
static void
rm_rf (const gchar * path)
{
  const gchar *argv[] = { "rm", "-rf", path, NULL };

  g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
      NULL, NULL, NULL, NULL);
}

static guint32
crc32 (const gchar * data, gsize len)
{
  guint32 c = 0xffffffffu;
  gsize i;
  gint k;

  for (i = 0; i < len; i++) {
    c ^= (guint8) data[i];
    for (k = 0; k < 8; k++)
      c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xffffffffu;
}

static void
append_forged (const gchar * dir, const gchar * body)
{
  gchar *path = g_build_filename (dir, ".dashcam", "journal", NULL);
  gchar *line = g_strdup_printf ("%08x %s\n", crc32 (body, strlen (body)),
      body);
  gchar *old = NULL, *all;
  gsize len = 0;

  g_file_get_contents (path, &old, &len, NULL);
  all = g_strconcat (old ? old : "", line, NULL);
  fail_unless (g_file_set_contents (path, all, -1, NULL));
  g_free (all);
  g_free (old);
  g_free (line);
  g_free (path);
}

static DashcamCatalog *
open_catalog (const gchar * dir)
{
  GError *err = NULL;
  DashcamCatalog *cat = dashcam_catalog_open (dir, &err);

  g_assert_no_error (err);
  return cat;
}

static void
add_segment (DashcamCatalog * cat, const gchar * name, guint64 index)
{
  DashcamSegment s = { 0, };
  GError *err = NULL;

  s.name = (gchar *) name;
  s.index = index;
  s.run_id = (gchar *) "run";
  s.running_time = GST_CLOCK_TIME_NONE;
  s.duration = GST_SECOND;
  s.size = 100;
  fail_unless (dashcam_catalog_add_open (cat, &s, &err));
  fail_unless (dashcam_catalog_add_close (cat, &s, &err));
  g_assert_no_error (err);
}

/* Journal records with a valid CRC naming something that is not a plain
 * file name are rejected like corrupt ones. */
GST_START_TEST (test_forged_names)
{
  const gchar *bad[] = { "..%2F..%2Fetc%2Fpasswd", "a%2Fb.ts", ".hidden.ts",
    "..", "x%01.ts", "x.ts.part", "x%7F.ts", "%2Fetc%2Fpasswd", "a%5Cb.ts",
  };
  gchar *dir = make_tmpdir ();
  DashcamCatalog *cat = open_catalog (dir);
  GPtrArray *list;
  guint i;

  dashcam_catalog_free (cat);
  for (i = 0; i < G_N_ELEMENTS (bad); i++) {
    gchar *body = g_strdup_printf ("close name=%s index=%u size=5", bad[i],
        i + 10);
    gchar *lock = g_strdup_printf ("lock name=%s", bad[i]);

    append_forged (dir, body);
    append_forged (dir, lock);
    g_free (lock);
    g_free (body);
  }
  append_forged (dir, "close name=good.ts index=1 size=5");

  cat = open_catalog (dir);
  list = dashcam_catalog_list (cat);
  fail_unless_equals_int (list->len, 1);
  fail_unless_equals_string (((DashcamSegment *) g_ptr_array_index (list,
              0))->name, "good.ts");
  fail_unless_equals_int (dashcam_catalog_n_corrupt_records (cat),
      2 * G_N_ELEMENTS (bad));
  /* nor do they reach the index */
  fail_unless_equals_uint64 (dashcam_catalog_next_index (cat), 2);
  g_ptr_array_unref (list);
  dashcam_catalog_free (cat);
  rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

static void
write_file (const gchar * dir, const gchar * name, const gchar * text)
{
  gchar *path = g_build_filename (dir, name, NULL);

  fail_unless (g_file_set_contents (path, text, -1, NULL));
  g_free (path);
}

static void
check_refused (DashcamCatalog * cat, const gchar * name, gint code,
    const gchar * why)
{
  GError *err = NULL;
  gint fd = dashcam_catalog_open_file (cat, name, O_RDONLY, &err);

  fail_unless (fd < 0, "%s opened", name);
  fail_unless (g_error_matches (err, DASHCAM_ERROR, code), "%s: %s", name,
      err->message);
  fail_unless (strstr (err->message, why) != NULL, "%s: %s", name,
      err->message);
  g_clear_error (&err);
}

/* Links, hard links, fifos and directories under our names are never
 * opened, truncated, renamed or deleted; nor is a name leaving the
 * directory. */
GST_START_TEST (test_files_refused)
{
  gchar *dir = make_tmpdir (), *out = make_tmpdir ();
  gchar *target = g_build_filename (out, "secret", NULL);
  gchar *path, *text = NULL;
  DashcamCatalog *cat = open_catalog (dir);
  GError *err = NULL;
  guint64 size, cut;
  GstClockTime duration;
  gint fd;

  fail_unless (g_file_set_contents (target, "secret bytes", -1, NULL));
  write_file (dir, "ok.ts", "ours");
  path = g_build_filename (dir, "link.ts", NULL);
  fail_unless_equals_int (symlink (target, path), 0);
  g_free (path);
  path = g_build_filename (dir, "link.ts.part", NULL);
  fail_unless_equals_int (symlink (target, path), 0);
  g_free (path);
  path = g_build_filename (dir, "hard.ts", NULL);
  fail_unless_equals_int (link (target, path), 0);
  g_free (path);
  path = g_build_filename (dir, "fifo.ts", NULL);
  fail_unless_equals_int (mkfifo (path, 0600), 0);
  g_free (path);
  path = g_build_filename (dir, "sub.ts", NULL);
  fail_unless_equals_int (g_mkdir (path, 0700), 0);
  g_free (path);

  fd = dashcam_catalog_open_file (cat, "ok.ts", O_RDONLY, &err);
  g_assert_no_error (err);
  fail_unless (fd >= 0);
  close (fd);
  check_refused (cat, "link.ts", DASHCAM_ERROR_INVALID, "symbolic link");
  check_refused (cat, "link.ts.part", DASHCAM_ERROR_INVALID, "symbolic link");
  check_refused (cat, "hard.ts", DASHCAM_ERROR_INVALID, "hard links");
  check_refused (cat, "fifo.ts", DASHCAM_ERROR_INVALID, "not a regular file");
  check_refused (cat, "sub.ts", DASHCAM_ERROR_INVALID, "not a regular file");
  check_refused (cat, "missing.ts", DASHCAM_ERROR_NOT_FOUND, "missing.ts");
  check_refused (cat, "../out/secret", DASHCAM_ERROR_INVALID,
      "not a plain file name");
  check_refused (cat, ".dashcam", DASHCAM_ERROR_INVALID,
      "not a plain file name");

  /* creating never goes through a link either */
  fd = dashcam_catalog_open_file (cat, "link.ts.part",
      O_WRONLY | O_CREAT | O_EXCL, &err);
  fail_unless (fd < 0);
  g_clear_error (&err);

  fail_if (dashcam_recover_segment_file (cat, "link.ts.part", &size,
          &duration, &cut, &err));
  g_clear_error (&err);
  fail_if (dashcam_recover_segment_file (cat, "hard.ts", &size, &duration,
          &cut, &err));
  g_clear_error (&err);
  fail_if (dashcam_catalog_unlink_file (cat, "link.ts", &err));
  fail_unless (g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_INVALID));
  g_clear_error (&err);
  fail_if (dashcam_catalog_rename_file (cat, "link.ts.part", "new.ts", &err));
  g_clear_error (&err);
  fail_if (dashcam_catalog_unlink_file (cat, "../out/secret", &err));
  g_clear_error (&err);

  path = g_build_filename (dir, "link.ts", NULL);
  fail_unless (g_file_test (path, G_FILE_TEST_IS_SYMLINK));
  g_free (path);
  fail_unless (g_file_get_contents (target, &text, NULL, NULL));
  fail_unless_equals_string (text, "secret bytes");

  /* a plain file of ours is deleted */
  fail_unless (dashcam_catalog_unlink_file (cat, "ok.ts", &err));
  g_assert_no_error (err);

  g_free (text);
  dashcam_catalog_free (cat);
  rm_rf (out);
  rm_rf (dir);
  g_free (target);
  g_free (out);
  g_free (dir);
}

GST_END_TEST;

static void
check_four (DashcamCatalog * cat)
{
  GPtrArray *list = dashcam_catalog_list (cat);

  fail_unless_equals_int (list->len, 4);
  g_ptr_array_unref (list);
  fail_unless (dashcam_catalog_lookup (cat, "b.ts")->locked);
  fail_if (dashcam_catalog_lookup (cat, "a.ts")->locked);
  fail_unless_equals_uint64 (dashcam_catalog_next_index (cat), 4);
}

/* A journal deleted or cut short under two open catalogs is written again
 * from what they read: nothing known is lost, a lock included. */
GST_START_TEST (test_journal_rewritten)
{
  gchar *dir = make_tmpdir ();
  gchar *journal = g_build_filename (dir, ".dashcam", "journal", NULL);
  DashcamCatalog *a = open_catalog (dir), *b = open_catalog (dir), *c;
  GError *err = NULL;

  add_segment (a, "a.ts", 0);
  add_segment (a, "b.ts", 1);
  add_segment (a, "c.ts", 2);
  fail_unless (dashcam_catalog_set_locked (a, "b.ts", TRUE, &err));

  /* deleted: b has not read the lock yet, it reads it from the old file */
  fail_unless_equals_int (g_unlink (journal), 0);
  fail_unless (dashcam_catalog_refresh (b, &err));
  g_assert_no_error (err);
  fail_unless (g_file_test (journal, G_FILE_TEST_IS_REGULAR));
  add_segment (a, "d.ts", 3);
  fail_unless (dashcam_catalog_refresh (b, &err));
  check_four (a);
  check_four (b);
  c = open_catalog (dir);
  check_four (c);
  dashcam_catalog_free (c);

  /* cut short in place */
  fail_unless_equals_int (truncate (journal, 20), 0);
  fail_unless (dashcam_catalog_set_uploaded (b, "a.ts", &err));
  g_assert_no_error (err);
  fail_unless (dashcam_catalog_refresh (a, &err));
  check_four (a);
  fail_unless (dashcam_catalog_lookup (a, "a.ts")->uploaded);
  c = open_catalog (dir);
  check_four (c);
  fail_unless (dashcam_catalog_lookup (c, "a.ts")->uploaded);
  dashcam_catalog_free (c);

  dashcam_catalog_free (a);
  dashcam_catalog_free (b);
  rm_rf (dir);
  g_free (journal);
  g_free (dir);
}

GST_END_TEST;

/* A lock record whose segment's records were lost applies when the file
 * is adopted again. */
GST_START_TEST (test_orphan_lock)
{
  gchar *dir = make_tmpdir ();
  DashcamCatalog *cat = open_catalog (dir);
  DashcamSegment s = { 0, };
  GError *err = NULL;

  dashcam_catalog_free (cat);
  append_forged (dir, "lock name=x.ts");
  append_forged (dir, "uploaded name=y.ts");
  append_forged (dir, "lock name=z.ts");
  append_forged (dir, "unlock name=z.ts");
  cat = open_catalog (dir);
  fail_unless (dashcam_catalog_lookup (cat, "x.ts") == NULL);

  s.running_time = GST_CLOCK_TIME_NONE;
  s.duration = GST_SECOND;
  s.complete = TRUE;
  s.name = (gchar *) "x.ts";
  s.index = 7;
  fail_unless (dashcam_catalog_adopt (cat, &s, &err));
  s.name = (gchar *) "y.ts";
  s.index = 8;
  fail_unless (dashcam_catalog_adopt (cat, &s, &err));
  s.name = (gchar *) "z.ts";
  s.index = 9;
  fail_unless (dashcam_catalog_adopt (cat, &s, &err));
  g_assert_no_error (err);
  fail_unless (dashcam_catalog_lookup (cat, "x.ts")->locked);
  fail_unless (dashcam_catalog_lookup (cat, "x.ts")->complete);
  fail_if (dashcam_catalog_lookup (cat, "y.ts")->locked);
  fail_unless (dashcam_catalog_lookup (cat, "y.ts")->uploaded);
  fail_if (dashcam_catalog_lookup (cat, "z.ts")->locked);
  fail_unless_equals_uint64 (dashcam_catalog_next_index (cat), 10);
  dashcam_catalog_free (cat);
  rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

static void
on_recover_event (const DashcamRecoverEvent * ev, gpointer user_data)
{
  g_ptr_array_add (user_data, g_strdup_printf ("%d %s", ev->result,
          ev->name));
}

/* A power cut after a record's body but before its newline reached the
 * card: recovery reads that record before it looks at the catalog, not
 * when its own first record (here: a segment whose file is gone) ends the
 * line behind its back. Found by fuzz-recover. */
GST_START_TEST (test_torn_valid_last_line)
{
  gchar *dir = make_tmpdir ();
  gchar *path = g_build_filename (dir, ".dashcam", "journal", NULL);
  const gchar *body = "open name=b.ts index=2 run=r rt=0 duration=0 size=0";
  DashcamCatalog *cat = open_catalog (dir);
  GPtrArray *events = g_ptr_array_new_with_free_func (g_free);
  GError *err = NULL;
  gchar *old, *all;

  add_segment (cat, "a.ts", 1);
  dashcam_catalog_free (cat);
  /* a.ts has no file; b.ts is opened, its line cut before the newline */
  fail_unless (g_file_get_contents (path, &old, NULL, NULL));
  all = g_strdup_printf ("%s%08x %s", old, crc32 (body, strlen (body)), body);
  fail_unless (g_file_set_contents (path, all, -1, NULL));

  cat = open_catalog (dir);
  fail_unless (dashcam_catalog_lookup (cat, "b.ts") == NULL);
  fail_unless (dashcam_recover_directory (cat, on_recover_event, events,
          &err));
  g_assert_no_error (err);
  fail_unless (dashcam_catalog_lookup (cat, "a.ts") == NULL);
  /* b.ts was read, and recovered like any open segment: its file is gone */
  fail_unless (dashcam_catalog_lookup (cat, "b.ts") == NULL);
  fail_unless_equals_int (events->len, 2);
  g_free (all);
  all = g_strdup_printf ("%d b.ts", DASHCAM_RECOVER_MISSING);
  fail_unless_equals_string (g_ptr_array_index (events, 1), all);
  dashcam_catalog_free (cat);

  /* the journal ends with a newline, and reopens the same */
  g_free (old);
  fail_unless (g_file_get_contents (path, &old, NULL, NULL));
  fail_unless (g_str_has_suffix (old, "\n"));
  cat = open_catalog (dir);
  fail_unless (dashcam_catalog_lookup (cat, "b.ts") == NULL);
  fail_unless (dashcam_catalog_lookup (cat, "a.ts") == NULL);
  dashcam_catalog_free (cat);

  g_ptr_array_unref (events);
  g_free (all);
  g_free (old);
  g_free (path);
  rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

static void
check_round_trip (const gchar * format, guint64 index)
{
  GError *err = NULL;
  gchar *name = dashcam_filename_format_expand (format,
      G_GINT64_CONSTANT (1795000000) * G_USEC_PER_SEC + 123, index, &err);
  guint64 got = 0;

  g_assert_no_error (err);
  fail_unless (dashcam_filename_format_match (format, name, &got), "%s: %s",
      format, name);
  fail_unless_equals_uint64 (got, index);
  g_free (name);
}

/* Names our formats give are recognised, with their index; others not. */
GST_START_TEST (test_format_match)
{
  const gchar *formats[] = { DASHCAM_DEFAULT_FILENAME_FORMAT, "{index}",
    "cam-{index}-%Y-%m-%d_%H.%M.%S.ts", "%F-{index}.ts", "%s.{index}.mts",
    "%b %a %e-{index}.ts", "%_H-{index}.ts", "100%%-{index}.ts",
  };
  const gchar *d = DASHCAM_DEFAULT_FILENAME_FORMAT;
  guint64 index;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (formats); i++) {
    check_round_trip (formats[i], 0);
    check_round_trip (formats[i], 123456789);
  }
  fail_unless (dashcam_filename_format_match (d,
          "20261122T000000Z-000001.ts", &index));
  fail_unless_equals_uint64 (index, 1);
  fail_if (dashcam_filename_format_match (d, "other-000001.ts", NULL));
  fail_if (dashcam_filename_format_match (d, "20261122T000000Z-1.ts", NULL));
  fail_if (dashcam_filename_format_match (d, "20261122T000000Z-000001.mp4",
          NULL));
  fail_if (dashcam_filename_format_match (d, "20261122T000000Z-000001.ts.part",
          NULL));
  fail_if (dashcam_filename_format_match (d, "notes.txt", NULL));
  fail_if (dashcam_filename_format_match ("{index}", "../000001", NULL));
  fail_if (dashcam_filename_format_match ("{index}", ".000001", NULL));
  fail_if (dashcam_filename_format_match ("{index}.ts",
          "99999999999999999999999.ts", NULL));
}

GST_END_TEST;

static Suite *
recdir_suite (void)
{
  Suite *s = suite_create ("recdir");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_forged_names);
  tcase_add_test (tc, test_files_refused);
  tcase_add_test (tc, test_journal_rewritten);
  tcase_add_test (tc, test_orphan_lock);
  tcase_add_test (tc, test_torn_valid_last_line);
  tcase_add_test (tc, test_format_match);
  return s;
}

GST_CHECK_MAIN (recdir);
