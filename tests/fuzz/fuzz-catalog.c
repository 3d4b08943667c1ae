/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* libFuzzer harness: the catalog's journal parser, in a real directory.
 *
 * Input: 3 bytes of settings, then a journal (the seeds are journals that
 * looprecsink and srtuploadsink wrote).
 *   byte 0: bit 0 rewrites the CRC of every record-shaped line, so that
 *           mutations reach the record parser instead of the checksum
 *   bytes 1-2: where to cut the journal for the incremental read
 *
 * Checked besides memory safety and UB:
 * - reading the journal in two steps (a writer appending between two
 *   refreshes, a torn line at the cut) gives the same catalog as reading
 *   it at once;
 * - new records append and read back (a torn last line does not swallow
 *   them), and compaction, when due, keeps the catalog as it was.
 */

#include "fuzz-common.h"

#include "dashcamcatalog.h"

/* Everything the catalog says, as text, to compare two catalogs. */
static gchar *
describe (DashcamCatalog * cat)
{
  GPtrArray *list = dashcam_catalog_list (cat);
  GString *s = g_string_new (NULL);
  guint i;

  g_string_append_printf (s, "next=%" G_GUINT64_FORMAT "\n",
      dashcam_catalog_next_index (cat));
  for (i = 0; i < list->len; i++) {
    DashcamSegment *seg = g_ptr_array_index (list, i);

    FUZZ_CHECK (dashcam_catalog_lookup (cat, seg->name) == seg, "lookup %s",
        seg->name);
    /* a new segment never gets the index of one we have (indexes beyond
     * 10^18 are forged or damaged and never reached by counting) */
    FUZZ_CHECK (seg->index < dashcam_catalog_next_index (cat)
        || seg->index > G_GUINT64_CONSTANT (999999999999999999),
        "index %" G_GUINT64_FORMAT " not below the next index %"
        G_GUINT64_FORMAT, seg->index, dashcam_catalog_next_index (cat));
    g_string_append_printf (s, "%s %" G_GUINT64_FORMAT " %s %"
        G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %"
        G_GINT64_FORMAT " %d%d%d\n", seg->name, seg->index,
        seg->run_id ? seg->run_id : "", seg->running_time, seg->duration,
        seg->size, seg->wall_time, seg->complete, seg->locked, seg->uploaded);
  }
  g_ptr_array_unref (list);
  return g_string_free (s, FALSE);
}

static int
compare_lines (const void *a, const void *b)
{
  return strcmp (*(gchar * const *) a, *(gchar * const *) b);
}

/* Sorting ties on index make the order of a list unspecified. */
static gchar *
describe_sorted (DashcamCatalog * cat)
{
  gchar *text = describe (cat);
  gchar **lines = g_strsplit (text, "\n", -1);
  gchar *sorted;

  qsort (lines, g_strv_length (lines), sizeof (gchar *), compare_lines);
  sorted = g_strjoinv ("\n", lines);
  g_strfreev (lines);
  g_free (text);
  return sorted;
}

static gchar *
journal_path (const gchar * dir)
{
  return g_build_filename (dir, DASHCAM_STATE_DIR, DASHCAM_JOURNAL_NAME, NULL);
}

static void
write_journal (const gchar * dir, const gchar * data, gsize len)
{
  gchar *state = g_build_filename (dir, DASHCAM_STATE_DIR, NULL);
  gchar *path = journal_path (dir);

  g_mkdir_with_parents (state, 0700);
  fuzz_write_file (path, data, len);
  g_free (path);
  g_free (state);
}

static void
append_journal (const gchar * dir, const gchar * data, gsize len)
{
  gchar *path = journal_path (dir);
  FILE *f = fopen (path, "ab");

  if (f == NULL || (len > 0 && fwrite (data, 1, len, f) != len))
    abort ();
  fclose (f);
  g_free (path);
}

/* Appends records through the API and checks that they are read back. */
static void
check_appends (DashcamCatalog * cat)
{
  DashcamSegment s = { 0, };
  DashcamSegment *got;
  GError *err = NULL;

  s.name = (gchar *) "fuzz-new-segment.ts";
  s.index = dashcam_catalog_next_index (cat);
  s.run_id = (gchar *) "fuzz-run";
  s.running_time = 0;
  s.duration = GST_CLOCK_TIME_NONE;
  s.wall_time = 1795000000000000;
  if (!dashcam_catalog_add_open (cat, &s, &err)) {
    /* I/O only: the directory is ours */
    FUZZ_CHECK (FALSE, "add_open: %s", err->message);
  }
  got = dashcam_catalog_lookup (cat, s.name);
  FUZZ_CHECK (got != NULL && !got->complete && got->index == s.index,
      "the open record was not read back");
  FUZZ_CHECK (dashcam_catalog_set_locked (cat, s.name, TRUE, NULL), "lock");
  got = dashcam_catalog_lookup (cat, s.name);
  FUZZ_CHECK (got != NULL && got->locked, "the lock record was not read back");
  FUZZ_CHECK (dashcam_catalog_remove (cat, s.name, "fuzz", NULL), "remove");
  FUZZ_CHECK (dashcam_catalog_lookup (cat, s.name) == NULL,
      "the deleted record was not read back");
}

int
LLVMFuzzerTestOneInput (const uint8_t * input, size_t size)
{
  gchar *journal, *dir_a, *dir_b, *before, *after;
  DashcamCatalog *a, *b;
  gsize len, cut;

  if (size < 3)
    return 0;
  len = size - 3;
  journal = g_malloc (len + 1);
  memcpy (journal, input + 3, len);
  if (input[0] & 1)
    fuzz_fix_journal_crcs (journal, len);
  cut = len ? ((input[1] << 8) | input[2]) % (len + 1) : 0;

  /* at once */
  dir_a = fuzz_fresh_dir ("a");
  write_journal (dir_a, journal, len);
  a = dashcam_catalog_open (dir_a, NULL);
  FUZZ_CHECK (a != NULL, "could not open the catalog");

  /* in two steps */
  dir_b = fuzz_fresh_dir ("b");
  write_journal (dir_b, journal, cut);
  b = dashcam_catalog_open (dir_b, NULL);
  FUZZ_CHECK (b != NULL, "could not open the catalog");
  g_free (describe (b));
  append_journal (dir_b, journal + cut, len - cut);
  FUZZ_CHECK (dashcam_catalog_refresh (b, NULL), "refresh");

  before = describe_sorted (a);
  after = describe_sorted (b);
  FUZZ_CHECK (g_str_equal (before, after),
      "read in two steps (cut at %zu):\n%s\nat once:\n%s", cut, after, before);
  FUZZ_CHECK (dashcam_catalog_n_corrupt_records (a) ==
      dashcam_catalog_n_corrupt_records (b), "corrupt records counted twice");
  g_free (after);
  dashcam_catalog_free (b);

  /* compaction, when due, keeps the state; a fresh reader agrees */
  FUZZ_CHECK (dashcam_catalog_compact (a, NULL), "compact");
  after = describe_sorted (a);
  FUZZ_CHECK (g_str_equal (before, after), "compaction changed the catalog:"
      "\nbefore:\n%s\nafter:\n%s", before, after);
  g_free (after);
  b = dashcam_catalog_open (dir_a, NULL);
  FUZZ_CHECK (b != NULL, "could not reopen the catalog");
  after = describe_sorted (b);
  FUZZ_CHECK (g_str_equal (before, after), "reopened after compaction:"
      "\nbefore:\n%s\nafter:\n%s", before, after);
  g_free (after);
  dashcam_catalog_free (b);

  check_appends (a);

  g_free (before);
  dashcam_catalog_free (a);
  g_free (dir_a);
  g_free (dir_b);
  g_free (journal);
  return 0;
}
