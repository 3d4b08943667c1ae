/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The segment catalog in a real directory: records, reopening, several
 * instances at once, the recorder lock, damaged journals and compaction. */

#include <gst/check/gstcheck.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "dashcamcatalog.h"

#define WALL0 G_GINT64_CONSTANT (1795000000000000)

#define SEG_NAME(list, i) \
  (((DashcamSegment *) g_ptr_array_index ((list), (i)))->name)

static gchar *
make_tmpdir (void)
{
  GError *err = NULL;
  gchar *dir = g_dir_make_tmp ("dashcam-catalog-XXXXXX", &err);

  g_assert_no_error (err);
  return dir;
}

static void
rm_rf (const gchar * path)
{
  GDir *dir = g_dir_open (path, 0, NULL);

  if (dir) {
    const gchar *entry;

    while ((entry = g_dir_read_name (dir))) {
      gchar *child = g_build_filename (path, entry, NULL);

      rm_rf (child);
      g_free (child);
    }
    g_dir_close (dir);
  }
  g_remove (path);
}

static gchar *
journal_path (const gchar * dir)
{
  return g_build_filename (dir, DASHCAM_STATE_DIR, DASHCAM_JOURNAL_NAME, NULL);
}

static gchar *
read_journal (const gchar * dir, gsize * len)
{
  gchar *path = journal_path (dir), *contents = NULL;
  GError *err = NULL;

  g_file_get_contents (path, &contents, len, &err);
  g_assert_no_error (err);
  g_free (path);
  return contents;
}

static void
write_journal (const gchar * dir, const gchar * contents, gssize len)
{
  gchar *path = journal_path (dir);
  GError *err = NULL;

  g_file_set_contents (path, contents, len, &err);
  g_assert_no_error (err);
  g_free (path);
}

static void
append_journal (const gchar * dir, const gchar * text)
{
  gchar *path = journal_path (dir);
  FILE *f = fopen (path, "ab");

  fail_unless (f != NULL);
  fail_unless_equals_int (fwrite (text, 1, strlen (text), f), strlen (text));
  fclose (f);
  g_free (path);
}

static guint
count_lines (const gchar * text)
{
  guint n = 0;

  for (; *text; text++)
    n += *text == '\n';
  return n;
}

/* CRC-32 (IEEE 802.3), as the journal uses, to write valid records of our
 * own */
static guint32
crc32_ieee (const gchar * data)
{
  guint32 c = 0xffffffffu;
  guint k;

  for (; *data; data++) {
    c ^= (guint8) * data;
    for (k = 0; k < 8; k++)
      c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xffffffffu;
}

static gchar *
valid_line (const gchar * body)
{
  return g_strdup_printf ("%08x %s\n", crc32_ieee (body), body);
}

static DashcamCatalog *
open_catalog (const gchar * dir)
{
  GError *err = NULL;
  DashcamCatalog *cat = dashcam_catalog_open (dir, &err);

  g_assert_no_error (err);
  fail_unless (cat != NULL);
  return cat;
}

static DashcamSegment
make_segment (const gchar * name, guint64 index)
{
  DashcamSegment s = { 0, };

  s.name = (gchar *) name;
  s.index = index;
  s.run_id = (gchar *) "0b7e5b36-run";
  s.running_time = index * 2 * GST_SECOND;
  s.duration = GST_CLOCK_TIME_NONE;
  s.size = 0;
  s.wall_time = WALL0 + index * 2 * G_USEC_PER_SEC;
  return s;
}

static void
add_open (DashcamCatalog * cat, const DashcamSegment * s)
{
  GError *err = NULL;

  fail_unless (dashcam_catalog_add_open (cat, s, &err));
  g_assert_no_error (err);
}

/* opens and closes @name with a size and duration derived from @index */
static void
add_segment (DashcamCatalog * cat, const gchar * name, guint64 index)
{
  DashcamSegment s = make_segment (name, index);
  GError *err = NULL;

  add_open (cat, &s);
  s.size = 1000 + index;
  s.duration = 2 * GST_SECOND + index;
  fail_unless (dashcam_catalog_add_close (cat, &s, &err));
  g_assert_no_error (err);
}

static void
set_locked (DashcamCatalog * cat, const gchar * name, gboolean locked)
{
  GError *err = NULL;

  fail_unless (dashcam_catalog_set_locked (cat, name, locked, &err));
  g_assert_no_error (err);
}

static void
set_uploaded (DashcamCatalog * cat, const gchar * name)
{
  GError *err = NULL;

  fail_unless (dashcam_catalog_set_uploaded (cat, name, &err));
  g_assert_no_error (err);
}

static void
remove_segment (DashcamCatalog * cat, const gchar * name)
{
  GError *err = NULL;

  fail_unless (dashcam_catalog_remove (cat, name, "max-files", &err));
  g_assert_no_error (err);
}

static void
refresh (DashcamCatalog * cat)
{
  GError *err = NULL;

  fail_unless (dashcam_catalog_refresh (cat, &err));
  g_assert_no_error (err);
}

static void
check_segment_equal (const DashcamSegment * a, const DashcamSegment * b)
{
  fail_unless_equals_string (a->name, b->name);
  fail_unless_equals_uint64 (a->index, b->index);
  fail_unless_equals_string (a->run_id, b->run_id);
  fail_unless_equals_uint64 (a->running_time, b->running_time);
  fail_unless_equals_uint64 (a->duration, b->duration);
  fail_unless_equals_uint64 (a->size, b->size);
  fail_unless_equals_int64 (a->wall_time, b->wall_time);
  fail_unless_equals_int (a->complete, b->complete);
  fail_unless_equals_int (a->locked, b->locked);
  fail_unless_equals_int (a->uploaded, b->uploaded);
}

/* A deep copy of what a catalog knows, to compare with later. */
typedef struct
{
  GArray *segments;             /* DashcamSegment, strings owned */
  guint64 next_index;
} State;

static void
segment_clear (DashcamSegment * s)
{
  g_free (s->name);
  g_free (s->run_id);
}

static State *
state_copy (DashcamCatalog * cat)
{
  State *st = g_new0 (State, 1);
  GPtrArray *list = dashcam_catalog_list (cat);
  guint i;

  st->segments = g_array_new (FALSE, FALSE, sizeof (DashcamSegment));
  g_array_set_clear_func (st->segments, (GDestroyNotify) segment_clear);
  for (i = 0; i < list->len; i++) {
    DashcamSegment s = *(DashcamSegment *) g_ptr_array_index (list, i);

    s.name = g_strdup (s.name);
    s.run_id = g_strdup (s.run_id);
    g_array_append_val (st->segments, s);
  }
  st->next_index = dashcam_catalog_next_index (cat);
  g_ptr_array_unref (list);
  return st;
}

static void
state_free (State * st)
{
  g_array_unref (st->segments);
  g_free (st);
}

static void
check_state (DashcamCatalog * cat, const State * st)
{
  GPtrArray *list = dashcam_catalog_list (cat);
  guint i;

  fail_unless_equals_int (list->len, st->segments->len);
  for (i = 0; i < list->len; i++)
    check_segment_equal (g_ptr_array_index (list, i),
        &g_array_index (st->segments, DashcamSegment, i));
  fail_unless_equals_uint64 (dashcam_catalog_next_index (cat), st->next_index);
  g_ptr_array_unref (list);
}

GST_START_TEST (test_records_survive_reopen)
{
  gchar *dir = make_tmpdir ();
  DashcamCatalog *cat, *cat2;
  DashcamSegment s, *got;
  GPtrArray *list;
  GError *err = NULL;
  gchar *path;
  State *st;

  cat = open_catalog (dir);
  fail_unless_equals_string (dashcam_catalog_get_dir (cat), dir);
  list = dashcam_catalog_list (cat);
  fail_unless_equals_int (list->len, 0);
  g_ptr_array_unref (list);
  fail_unless_equals_uint64 (dashcam_catalog_next_index (cat), 0);
  fail_unless_equals_int (dashcam_catalog_n_corrupt_records (cat), 0);

  path = dashcam_catalog_build_path (cat, "a.ts");
  fail_unless (g_str_has_prefix (path, dir));
  fail_unless (g_str_has_suffix (path, G_DIR_SEPARATOR_S "a.ts"));
  g_free (path);

  /* open: known, incomplete; values that need escaping survive */
  s = make_segment ("20261122T143000Z-000005.ts", 5);
  s.run_id = (gchar *) "run 1/%=x\ny";
  s.running_time = 3 * GST_SECOND;
  s.wall_time = -1;
  add_open (cat, &s);
  got = dashcam_catalog_lookup (cat, s.name);
  fail_unless (got != NULL);
  fail_unless_equals_string (got->name, "20261122T143000Z-000005.ts");
  fail_unless_equals_uint64 (got->index, 5);
  fail_unless_equals_string (got->run_id, "run 1/%=x\ny");
  fail_unless_equals_uint64 (got->running_time, 3 * GST_SECOND);
  fail_unless_equals_uint64 (got->duration, GST_CLOCK_TIME_NONE);
  fail_unless_equals_uint64 (got->size, 0);
  fail_unless_equals_int64 (got->wall_time, -1);
  fail_if (got->complete);
  fail_if (got->locked);
  fail_if (got->uploaded);
  fail_unless_equals_uint64 (dashcam_catalog_next_index (cat), 6);

  /* close: complete, with its size and duration */
  s.size = 123456789012;
  s.duration = 60 * GST_SECOND + 1;
  fail_unless (dashcam_catalog_add_close (cat, &s, &err));
  g_assert_no_error (err);
  got = dashcam_catalog_lookup (cat, s.name);
  fail_unless (got->complete);
  fail_unless_equals_uint64 (got->size, 123456789012);
  fail_unless_equals_uint64 (got->duration, 60 * GST_SECOND + 1);

  add_segment (cat, "b.ts", 6);
  add_segment (cat, "c.ts", 7);
  s = make_segment ("d.ts", 8);
  add_open (cat, &s);
  add_segment (cat, "gone.ts", 4);

  set_locked (cat, "20261122T143000Z-000005.ts", TRUE);
  set_uploaded (cat, "b.ts");
  set_locked (cat, "c.ts", TRUE);
  set_locked (cat, "c.ts", FALSE);
  remove_segment (cat, "gone.ts");
  /* records about unknown segments change nothing */
  set_uploaded (cat, "never-there.ts");
  set_locked (cat, "never-there.ts", TRUE);

  fail_unless (dashcam_catalog_lookup (cat, "gone.ts") == NULL);
  fail_unless (dashcam_catalog_lookup (cat, "never-there.ts") == NULL);
  fail_unless (dashcam_catalog_lookup (cat,
          "20261122T143000Z-000005.ts")->locked);
  fail_unless (dashcam_catalog_lookup (cat, "b.ts")->uploaded);
  fail_if (dashcam_catalog_lookup (cat, "b.ts")->locked);
  fail_if (dashcam_catalog_lookup (cat, "c.ts")->locked);
  fail_if (dashcam_catalog_lookup (cat, "c.ts")->uploaded);
  fail_unless (dashcam_catalog_lookup (cat, "c.ts")->complete);
  fail_if (dashcam_catalog_lookup (cat, "d.ts")->complete);

  /* oldest (lowest index) first */
  list = dashcam_catalog_list (cat);
  fail_unless_equals_int (list->len, 4);
  fail_unless_equals_string (SEG_NAME (list, 0), "20261122T143000Z-000005.ts");
  fail_unless_equals_string (SEG_NAME (list, 1), "b.ts");
  fail_unless_equals_string (SEG_NAME (list, 2), "c.ts");
  fail_unless_equals_string (SEG_NAME (list, 3), "d.ts");
  g_ptr_array_unref (list);
  fail_unless_equals_uint64 (dashcam_catalog_next_index (cat), 9);

  /* a second instance, while the first is open, and a fresh one after it
   * is gone, read the same */
  st = state_copy (cat);
  cat2 = open_catalog (dir);
  check_state (cat2, st);
  dashcam_catalog_free (cat2);
  dashcam_catalog_free (cat);
  cat = open_catalog (dir);
  check_state (cat, st);
  fail_unless_equals_int (dashcam_catalog_n_corrupt_records (cat), 0);
  dashcam_catalog_free (cat);

  state_free (st);
  rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

GST_START_TEST (test_two_instances)
{
  gchar *dir = make_tmpdir ();
  DashcamCatalog *a = open_catalog (dir), *b = open_catalog (dir);
  DashcamSegment s = make_segment ("x.ts", 1);
  GError *err = NULL;
  State *st;

  add_open (a, &s);
  /* b reads only when asked */
  fail_unless (dashcam_catalog_lookup (b, "x.ts") == NULL);
  refresh (b);
  fail_unless (dashcam_catalog_lookup (b, "x.ts") != NULL);
  fail_if (dashcam_catalog_lookup (b, "x.ts")->complete);
  fail_unless_equals_uint64 (dashcam_catalog_next_index (b), 2);

  /* b closes it: a sees it after a refresh */
  s.size = 4242;
  s.duration = 3 * GST_SECOND;
  fail_unless (dashcam_catalog_add_close (b, &s, &err));
  g_assert_no_error (err);
  fail_unless (dashcam_catalog_lookup (b, "x.ts")->complete);
  fail_if (dashcam_catalog_lookup (a, "x.ts")->complete);
  refresh (a);
  fail_unless (dashcam_catalog_lookup (a, "x.ts")->complete);
  fail_unless_equals_uint64 (dashcam_catalog_lookup (a, "x.ts")->size, 4242);

  /* interleaved appends: each instance's own append also reads what the
   * other wrote before it */
  add_segment (a, "y.ts", 2);
  set_uploaded (b, "x.ts");
  fail_unless (dashcam_catalog_lookup (b, "y.ts") != NULL);
  fail_unless (dashcam_catalog_lookup (b, "y.ts")->complete);
  set_locked (a, "y.ts", TRUE);
  fail_unless (dashcam_catalog_lookup (a, "x.ts")->uploaded);
  refresh (b);
  fail_unless (dashcam_catalog_lookup (b, "y.ts")->locked);

  /* nothing new: refreshing changes nothing */
  st = state_copy (a);
  refresh (a);
  refresh (a);
  check_state (a, st);
  check_state (b, st);
  state_free (st);

  dashcam_catalog_free (a);
  dashcam_catalog_free (b);
  rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

GST_START_TEST (test_next_index_after_deletes)
{
  gchar *dir = make_tmpdir ();
  DashcamCatalog *cat = open_catalog (dir);
  DashcamSegment s;
  guint i;

  for (i = 0; i < 5; i++) {
    gchar *name = g_strdup_printf ("%u.ts", i);

    add_segment (cat, name, i);
    g_free (name);
  }
  fail_unless_equals_uint64 (dashcam_catalog_next_index (cat), 5);

  /* deleting the newest does not give its index back */
  remove_segment (cat, "4.ts");
  fail_unless_equals_uint64 (dashcam_catalog_next_index (cat), 5);
  for (i = 0; i < 4; i++) {
    gchar *name = g_strdup_printf ("%u.ts", i);

    remove_segment (cat, name);
    g_free (name);
  }
  fail_unless_equals_uint64 (dashcam_catalog_next_index (cat), 5);
  dashcam_catalog_free (cat);

  /* nor does a restart */
  cat = open_catalog (dir);
  {
    GPtrArray *list = dashcam_catalog_list (cat);

    fail_unless_equals_int (list->len, 0);
    g_ptr_array_unref (list);
  }
  fail_unless_equals_uint64 (dashcam_catalog_next_index (cat), 5);

  s = make_segment ("5.ts", 5);
  add_open (cat, &s);
  fail_unless_equals_uint64 (dashcam_catalog_next_index (cat), 6);

  /* indexes need not be dense */
  s = make_segment ("100.ts", 100);
  add_open (cat, &s);
  fail_unless_equals_uint64 (dashcam_catalog_next_index (cat), 101);
  dashcam_catalog_free (cat);

  rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

GST_START_TEST (test_lock_recorder)
{
  gchar *dir = make_tmpdir ();
  DashcamCatalog *a = open_catalog (dir), *b = open_catalog (dir);
  GError *err = NULL;

  fail_unless (dashcam_catalog_lock_recorder (a, &err));
  g_assert_no_error (err);

  /* a second recorder on the same directory */
  fail_if (dashcam_catalog_lock_recorder (b, &err));
  fail_unless (g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_BUSY),
      "%s", err ? err->message : "no error");
  fail_unless (strstr (err->message, dir) != NULL, "%s", err->message);
  g_clear_error (&err);

  /* twice on the same catalog */
  fail_if (dashcam_catalog_lock_recorder (a, &err));
  fail_unless (g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_BUSY));
  g_clear_error (&err);

  /* the lock does not keep others from appending */
  add_segment (b, "x.ts", 0);
  refresh (a);
  fail_unless (dashcam_catalog_lookup (a, "x.ts") != NULL);

  /* freeing the holder releases it */
  dashcam_catalog_free (a);
  fail_unless (dashcam_catalog_lock_recorder (b, &err));
  g_assert_no_error (err);
  dashcam_catalog_free (b);

  rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

GST_START_TEST (test_damaged_journal)
{
  gchar *dir = make_tmpdir ();
  DashcamCatalog *cat;
  DashcamSegment s;
  gchar *contents, *lock_line, *p, *line, *torn;
  gsize len, torn_len;
  State *st;

  cat = open_catalog (dir);
  add_segment (cat, "a.ts", 1);
  set_locked (cat, "a.ts", TRUE);
  s = make_segment ("b.ts", 2);
  add_open (cat, &s);
  dashcam_catalog_free (cat);

  /* flip one bit of the segment name in the lock record */
  contents = read_journal (dir, &len);
  fail_unless_equals_int (count_lines (contents), 4);
  lock_line = strstr (contents, " lock name=a.ts\n");
  fail_unless (lock_line != NULL, "no lock record in:\n%s", contents);
  p = lock_line + strlen (" lock name=a");
  fail_unless (*p == '.');
  *p ^= 0x01;
  write_journal (dir, contents, len);

  /* a record torn by a power cut: the first half of a valid one, no
   * newline */
  line = valid_line ("uploaded name=b.ts");
  torn_len = strlen (line) / 2;
  torn = g_strndup (line, torn_len);
  append_journal (dir, torn);
  g_free (line);
  g_free (contents);

  /* the damaged lock is skipped and counted; the torn line is not a
   * record (yet) */
  cat = open_catalog (dir);
  fail_unless_equals_int (dashcam_catalog_n_corrupt_records (cat), 1);
  fail_unless (dashcam_catalog_lookup (cat, "a.ts") != NULL);
  fail_unless (dashcam_catalog_lookup (cat, "a.ts")->complete);
  fail_if (dashcam_catalog_lookup (cat, "a.ts")->locked);
  fail_unless (dashcam_catalog_lookup (cat, "b.ts") != NULL);
  fail_if (dashcam_catalog_lookup (cat, "b.ts")->complete);
  fail_if (dashcam_catalog_lookup (cat, "b.ts")->uploaded);
  fail_unless (dashcam_catalog_lookup (cat, "a.ts\x01") == NULL);
  fail_unless (dashcam_catalog_lookup (cat, "a/ts") == NULL);

  /* appending after the torn line works: it is terminated and stays
   * rejected, the new record is read back */
  set_locked (cat, "b.ts", TRUE);
  fail_unless (dashcam_catalog_lookup (cat, "b.ts")->locked);
  fail_if (dashcam_catalog_lookup (cat, "b.ts")->uploaded);
  fail_unless_equals_int (dashcam_catalog_n_corrupt_records (cat), 2);
  s.size = 77;
  s.duration = GST_SECOND;
  {
    GError *err = NULL;

    fail_unless (dashcam_catalog_add_close (cat, &s, &err));
    g_assert_no_error (err);
  }
  fail_unless (dashcam_catalog_lookup (cat, "b.ts")->complete);
  fail_unless_equals_uint64 (dashcam_catalog_lookup (cat, "b.ts")->size, 77);

  contents = read_journal (dir, &len);
  p = strstr (contents, torn);
  fail_unless (p != NULL);
  fail_unless (p[torn_len] == '\n', "torn line not terminated:\n%s", contents);
  fail_unless (strstr (p + torn_len + 1, " lock name=b.ts\n") != NULL);
  fail_unless_equals_int (count_lines (contents), 7);
  g_free (contents);

  /* a fresh reader agrees */
  st = state_copy (cat);
  dashcam_catalog_free (cat);
  cat = open_catalog (dir);
  check_state (cat, st);
  fail_unless_equals_int (dashcam_catalog_n_corrupt_records (cat), 2);
  dashcam_catalog_free (cat);

  state_free (st);
  g_free (torn);
  rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

GST_START_TEST (test_foreign_lines)
{
  gchar *dir = make_tmpdir ();
  DashcamCatalog *cat;
  gchar *line;
  State *st;

  cat = open_catalog (dir);
  add_segment (cat, "a.ts", 1);
  st = state_copy (cat);
  dashcam_catalog_free (cat);

  /* an empty line is nothing; a record type from a newer version is
   * skipped without complaint; text without a CRC is corrupt */
  append_journal (dir, "\n");
  line = valid_line ("teleport name=a.ts to=mars");
  append_journal (dir, line);
  g_free (line);
  append_journal (dir, "hello world\n");
  append_journal (dir, "00000000 lock name=a.ts\n");

  cat = open_catalog (dir);
  check_state (cat, st);
  fail_unless_equals_int (dashcam_catalog_n_corrupt_records (cat), 2);

  /* unknown fields of a known record are ignored, the record applies */
  line = valid_line ("lock name=a.ts reason=g-sensor");
  append_journal (dir, line);
  g_free (line);
  refresh (cat);
  fail_unless (dashcam_catalog_lookup (cat, "a.ts")->locked);
  fail_unless_equals_int (dashcam_catalog_n_corrupt_records (cat), 2);
  dashcam_catalog_free (cat);

  state_free (st);
  rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* A record whose CRC is right but which holds a NUL byte (not one of
 * ours: values are escaped), e.g. "\0lock name=a.ts". */
static void
append_record_with_nul (const gchar * dir, const gchar * body, gsize len)
{
  gchar *path = journal_path (dir);
  gchar crc[10];
  guint32 c = 0xffffffffu;
  FILE *f;
  gsize i;
  guint k;

  for (i = 0; i < len; i++) {
    c ^= (guint8) body[i];
    for (k = 0; k < 8; k++)
      c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
  }
  g_snprintf (crc, sizeof (crc), "%08x ", c ^ 0xffffffffu);
  f = fopen (path, "ab");
  fail_unless (f != NULL);
  fail_unless_equals_int (fwrite (crc, 1, 9, f), 9);
  fail_unless_equals_int (fwrite (body, 1, len, f), len);
  fail_unless_equals_int (fwrite ("\n", 1, 1, f), 1);
  fclose (f);
  g_free (path);
}

/* Found by fuzzing (tests/fuzz/corpus/catalog/regress-nul-record): a line
 * with a valid CRC whose body starts with a NUL split into no token at
 * all, and the reader read past the end of the token array (SIGSEGV when
 * opening the directory). A NUL later in the line cut the record short
 * and applied what came before it. Both are corrupt records now. */
GST_START_TEST (test_records_with_nul)
{
  static const gchar nul_first[] = "\0lock name=a.ts";
  static const gchar nul_inside[] = "lock name=a.ts\0 reason=x";
  gchar *dir = make_tmpdir ();
  DashcamCatalog *cat;
  State *st;

  cat = open_catalog (dir);
  add_segment (cat, "a.ts", 1);
  st = state_copy (cat);
  dashcam_catalog_free (cat);

  append_record_with_nul (dir, nul_first, sizeof (nul_first) - 1);
  append_record_with_nul (dir, nul_inside, sizeof (nul_inside) - 1);
  cat = open_catalog (dir);
  check_state (cat, st);
  fail_if (dashcam_catalog_lookup (cat, "a.ts")->locked);
  fail_unless_equals_int (dashcam_catalog_n_corrupt_records (cat), 2);

  /* what follows still applies */
  set_locked (cat, "a.ts", TRUE);
  dashcam_catalog_free (cat);
  cat = open_catalog (dir);
  fail_unless (dashcam_catalog_lookup (cat, "a.ts")->locked);
  fail_unless_equals_int (dashcam_catalog_n_corrupt_records (cat), 2);
  dashcam_catalog_free (cat);

  state_free (st);
  rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* Found by fuzzing (tests/fuzz/corpus/catalog/regress-index-wraps): a
 * record with a valid CRC and index=2^64-1 made the next index wrap
 * around to 0, the index (and so the name) of the first segment. Indexes
 * no recorder reaches by counting no longer move the next index. */
GST_START_TEST (test_huge_index_does_not_wrap)
{
  gchar *dir = make_tmpdir ();
  DashcamCatalog *cat;
  gchar *line;

  cat = open_catalog (dir);
  add_segment (cat, "a.ts", 0);
  add_segment (cat, "b.ts", 3);
  dashcam_catalog_free (cat);

  line = valid_line ("close name=c.ts index=18446744073709551615 size=10");
  append_journal (dir, line);
  g_free (line);
  line = valid_line ("index max=18446744073709551615");
  append_journal (dir, line);
  g_free (line);

  cat = open_catalog (dir);
  fail_unless (dashcam_catalog_lookup (cat, "c.ts") != NULL);
  fail_unless_equals_uint64 (dashcam_catalog_next_index (cat), 4);
  dashcam_catalog_free (cat);

  rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

static void
stat_journal (const gchar * dir, struct stat *st)
{
  gchar *path = journal_path (dir);

  fail_unless_equals_int (g_stat (path, (GStatBuf *) st), 0);
  g_free (path);
}

GST_START_TEST (test_compaction)
{
  gchar *dir = make_tmpdir ();
  DashcamCatalog *a, *b, *c, *d;
  DashcamSegment s;
  struct stat st_before, st_after;
  GError *err = NULL;
  gchar *contents;
  State *state;
  gsize len;
  guint i;

  a = open_catalog (dir);
  b = open_catalog (dir);
  d = open_catalog (dir);

  /* 8 segments, the 2 oldest deleted: 6 left, the newest still open */
  for (i = 0; i < 7; i++) {
    gchar *name = g_strdup_printf ("seg %u.ts", i);

    add_segment (a, name, 10 + i);
    g_free (name);
  }
  s = make_segment ("seg 7.ts", 17);
  s.run_id = (gchar *) "other run";
  add_open (a, &s);
  remove_segment (a, "seg 0.ts");
  remove_segment (a, "seg 1.ts");
  set_uploaded (a, "seg 2.ts");
  set_locked (a, "seg 3.ts", TRUE);
  contents = read_journal (dir, &len);
  fail_unless_equals_int (count_lines (contents), 19);
  g_free (contents);

  /* 19 records for 6 segments: not worth it yet */
  stat_journal (dir, &st_before);
  fail_unless (dashcam_catalog_compact (a, &err));
  g_assert_no_error (err);
  stat_journal (dir, &st_after);
  fail_unless_equals_uint64 (st_after.st_ino, st_before.st_ino);
  fail_unless_equals_uint64 (st_after.st_size, st_before.st_size);

  /* lock churn: > 64 + 4 * 6 records */
  for (i = 0; i < 40; i++) {
    set_locked (a, "seg 4.ts", TRUE);
    set_locked (a, "seg 4.ts", FALSE);
  }
  set_locked (a, "seg 5.ts", TRUE);
  state = state_copy (a);
  fail_unless_equals_int (state->segments->len, 6);
  fail_unless_equals_uint64 (state->next_index, 18);

  stat_journal (dir, &st_before);
  fail_unless (dashcam_catalog_compact (a, &err));
  g_assert_no_error (err);
  stat_journal (dir, &st_after);
  fail_unless (st_after.st_size < st_before.st_size / 5,
      "journal %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT " bytes",
      (guint64) st_before.st_size, (guint64) st_after.st_size);
  contents = read_journal (dir, &len);
  /* the highest index, then one line per segment */
  fail_unless_equals_int (count_lines (contents), 1 + 6);
  g_free (contents);

  /* the same state, for the compacting instance and a fresh one */
  check_state (a, state);
  c = open_catalog (dir);
  check_state (c, state);
  fail_unless_equals_int (dashcam_catalog_n_corrupt_records (c), 0);
  dashcam_catalog_free (c);

  /* b still has the old journal open: its append lands in the new one */
  set_uploaded (b, "seg 6.ts");
  fail_unless (dashcam_catalog_lookup (b, "seg 6.ts")->uploaded);
  fail_unless (dashcam_catalog_lookup (b, "seg 5.ts")->locked);
  fail_if (dashcam_catalog_lookup (a, "seg 6.ts")->uploaded);
  refresh (a);
  fail_unless (dashcam_catalog_lookup (a, "seg 6.ts")->uploaded);
  g_array_index (state->segments, DashcamSegment, 4).uploaded = TRUE;
  fail_unless_equals_string (g_array_index (state->segments, DashcamSegment,
          4).name, "seg 6.ts");
  check_state (a, state);
  check_state (b, state);

  /* a reader that only refreshes finds the new journal too */
  refresh (d);
  check_state (d, state);

  /* and a keeps appending too */
  s.size = 99;
  s.duration = 5 * GST_SECOND;
  fail_unless (dashcam_catalog_add_close (a, &s, &err));
  g_assert_no_error (err);
  refresh (b);
  fail_unless (dashcam_catalog_lookup (b, "seg 7.ts")->complete);
  fail_unless_equals_uint64 (dashcam_catalog_lookup (b, "seg 7.ts")->size, 99);

  contents = read_journal (dir, &len);
  fail_unless_equals_int (count_lines (contents), 1 + 8);
  g_free (contents);

  c = open_catalog (dir);
  state_free (state);
  state = state_copy (a);
  check_state (b, state);
  check_state (c, state);
  fail_unless_equals_int (dashcam_catalog_n_corrupt_records (c), 0);
  dashcam_catalog_free (c);

  refresh (d);
  check_state (d, state);

  state_free (state);
  dashcam_catalog_free (a);
  dashcam_catalog_free (b);
  dashcam_catalog_free (d);
  rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

static Suite *
catalog_suite (void)
{
  Suite *s = suite_create ("catalog");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_records_survive_reopen);
  tcase_add_test (tc, test_two_instances);
  tcase_add_test (tc, test_next_index_after_deletes);
  tcase_add_test (tc, test_lock_recorder);
  tcase_add_test (tc, test_damaged_journal);
  tcase_add_test (tc, test_foreign_lines);
  tcase_add_test (tc, test_records_with_nul);
  tcase_add_test (tc, test_huge_index_does_not_wrap);
  tcase_add_test (tc, test_compaction);
  return s;
}

GST_CHECK_MAIN (catalog);
