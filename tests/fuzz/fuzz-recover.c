/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* libFuzzer harness: recovery of a recording directory after a power cut.
 *
 * Input: a journal and files, separated by "@@file@@" (the seeds are
 * directories that looprecsink left behind, SIGKILLed mid-segment):
 *   1 byte of settings (bit 0: rewrite the CRC of every record-shaped
 *   line), the journal,
 *   then per file: 1 mode byte and the contents. The n-th file belongs to
 *   the n-th segment of the catalog (by index): mode & 3 = 0 writes it as
 *   NAME.part, 1 as NAME, 2 as both, 3 not at all. Files beyond the
 *   catalog are foreign files (mode & 4: named like a partial file).
 *
 * Checked besides memory safety and UB, from the files themselves:
 * - recovery only ever cuts a file to a prefix of whole packets, renames
 *   a partial file to its final name, or removes a file it reported as
 *   holding nothing decodable: no other file changes, none appears;
 * - afterwards every segment of the catalog is complete (or was reported
 *   as failed), and the size recorded is the size of the file;
 * - a second recovery finds nothing left to do.
 */

#include "fuzz-common.h"

#include "dashcamrecover.h"

#define PKT 188
#define SEPARATOR "@@file@@"

typedef struct
{
  GHashTable *removed;          /* names reported REMOVED */
  GHashTable *failed;           /* names reported FAILED */
  GHashTable *recovered;        /* name -> size recorded, of RECOVERED */
  guint n_changes;              /* RECOVERED, REMOVED, MISSING */
} Events;

static void
on_event (const DashcamRecoverEvent * ev, gpointer user_data)
{
  Events *events = user_data;

  FUZZ_CHECK (ev->name != NULL, "event without a name");
  switch (ev->result) {
    case DASHCAM_RECOVER_REMOVED:
      g_hash_table_add (events->removed, g_strdup (ev->name));
      events->n_changes++;
      break;
    case DASHCAM_RECOVER_FAILED:
      g_hash_table_add (events->failed, g_strdup (ev->name));
      break;
    case DASHCAM_RECOVER_RECOVERED:
      FUZZ_CHECK (ev->segment != NULL && ev->segment->complete,
          "recovered %s is not complete", ev->name);
      g_hash_table_insert (events->recovered, g_strdup (ev->name),
          g_memdup2 (&ev->segment->size, sizeof (guint64)));
      events->n_changes++;
      break;
    case DASHCAM_RECOVER_MISSING:
      events->n_changes++;
      break;
    case DASHCAM_RECOVER_FOREIGN:
      break;
  }
}

static void
events_init (Events * events)
{
  events->removed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  events->failed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  events->recovered = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  events->n_changes = 0;
}

static void
events_clear (Events * events)
{
  g_hash_table_unref (events->removed);
  g_hash_table_unref (events->failed);
  g_hash_table_unref (events->recovered);
}

/* name -> GBytes of every regular file in @dir (not in the state dir) */
static GHashTable *
snapshot (const gchar * dir)
{
  GHashTable *files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      (GDestroyNotify) g_bytes_unref);
  GDir *d = g_dir_open (dir, 0, NULL);
  const gchar *entry;

  FUZZ_CHECK (d != NULL, "open %s", dir);
  while ((entry = g_dir_read_name (d))) {
    gchar *path = g_build_filename (dir, entry, NULL);
    gchar *contents;
    gsize len;

    if (g_file_test (path, G_FILE_TEST_IS_REGULAR)
        && g_file_get_contents (path, &contents, &len, NULL))
      g_hash_table_insert (files, g_strdup (entry),
          g_bytes_new_take (contents, len));
    g_free (path);
  }
  g_dir_close (d);
  return files;
}

static gboolean
is_cut_of (GBytes * after, GBytes * before)
{
  gsize a_len, b_len;
  const guint8 *a = g_bytes_get_data (after, &a_len);
  const guint8 *b = g_bytes_get_data (before, &b_len);

  return a_len <= b_len && a_len % PKT == 0 && (a_len == 0
      || memcmp (a, b, a_len) == 0);
}

/* Compares the files before and after a recovery. */
static void
check_files (GHashTable * before, GHashTable * after, const Events * events)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, after);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    const gchar *name = key;
    GBytes *old = g_hash_table_lookup (before, name);
    gchar *part = g_strconcat (name, DASHCAM_PARTIAL_SUFFIX, NULL);
    GBytes *old_part = g_hash_table_lookup (before, part);

    FUZZ_CHECK (old != NULL || old_part != NULL, "%s appeared", name);
    /* the same file, cut; or a partial file renamed over it, cut */
    FUZZ_CHECK ((old && (g_bytes_equal (value, old) || is_cut_of (value,
                    old)))
        || (old_part && !g_hash_table_contains (after, part)
            && is_cut_of (value, old_part)), "%s changed", name);
    if (old && !g_bytes_equal (value, old))
      FUZZ_CHECK (!g_hash_table_contains (events->failed, name),
          "%s changed, but its recovery failed", name);
    g_free (part);
  }

  g_hash_table_iter_init (&iter, before);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    const gchar *name = key;
    gchar *final = g_str_has_suffix (name, DASHCAM_PARTIAL_SUFFIX) ?
        g_strndup (name, strlen (name) - strlen (DASHCAM_PARTIAL_SUFFIX)) :
        NULL;

    if (!g_hash_table_contains (after, name))
      FUZZ_CHECK (g_hash_table_contains (events->removed, name)
          || (final && g_hash_table_contains (events->removed, final))
          || (final && g_hash_table_contains (after, final)),
          "%s vanished", name);
    g_free (final);
  }

  g_hash_table_iter_init (&iter, events->recovered);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    GBytes *file = g_hash_table_lookup (after, key);

    FUZZ_CHECK (file != NULL, "recovered %s is not there", (gchar *) key);
    FUZZ_CHECK (g_bytes_get_size (file) == *(guint64 *) value,
        "%s: %zu bytes, recorded as %" G_GUINT64_FORMAT, (gchar *) key,
        g_bytes_get_size (file), *(guint64 *) value);
  }
}

static gboolean
same_files (GHashTable * a, GHashTable * b)
{
  GHashTableIter iter;
  gpointer key, value;

  if (g_hash_table_size (a) != g_hash_table_size (b))
    return FALSE;
  g_hash_table_iter_init (&iter, a);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    GBytes *other = g_hash_table_lookup (b, key);

    if (other == NULL || !g_bytes_equal (value, other))
      return FALSE;
  }
  return TRUE;
}

/* After recovery: every segment is complete, with the size of its file. */
static void
check_catalog (const gchar * dir, const Events * events)
{
  DashcamCatalog *cat = dashcam_catalog_open (dir, NULL);
  GPtrArray *list;
  guint i;

  FUZZ_CHECK (cat != NULL, "reopen the catalog");
  list = dashcam_catalog_list (cat);
  for (i = 0; i < list->len; i++) {
    DashcamSegment *seg = g_ptr_array_index (list, i);

    FUZZ_CHECK (seg->complete || g_hash_table_contains (events->failed,
            seg->name), "%s still incomplete", seg->name);
  }
  g_ptr_array_unref (list);
  dashcam_catalog_free (cat);
}

static gboolean
try_write (const gchar * dir, const gchar * name, GBytes * bytes)
{
  gchar *path = g_build_filename (dir, name, NULL);
  gsize len;
  const gchar *data = g_bytes_get_data (bytes, &len);
  gboolean ok = g_file_set_contents (path, data ? data : "", len, NULL);

  g_free (path);
  return ok;
}

/* Writes the files of @parts; FALSE if the input cannot be laid out. */
static gboolean
lay_out (const gchar * dir, DashcamCatalog * cat, GPtrArray * parts)
{
  GPtrArray *list = dashcam_catalog_list (cat);
  gboolean ok = TRUE;
  guint i;

  for (i = 0; i < list->len; i++) {
    /* a name holding a '/' would reach outside the scratch directory */
    if (strchr (((DashcamSegment *) g_ptr_array_index (list, i))->name, '/'))
      ok = FALSE;
  }
  for (i = 1; ok && i < parts->len; i++) {
    gsize len;
    const guint8 *data = g_bytes_get_data (parts->pdata[i], &len);
    GBytes *contents;
    guint8 mode;

    if (len == 0)
      continue;
    mode = data[0];
    contents = g_bytes_new_from_bytes (parts->pdata[i], 1, len - 1);
    if (i - 1 < list->len) {
      const gchar *name = ((DashcamSegment *) list->pdata[i - 1])->name;
      gchar *part = g_strconcat (name, DASHCAM_PARTIAL_SUFFIX, NULL);

      if ((mode & 3) == 0 || (mode & 3) == 2)
        try_write (dir, part, contents);
      if ((mode & 3) == 1 || (mode & 3) == 2)
        try_write (dir, name, contents);
      g_free (part);
    } else {
      gchar *name = g_strdup_printf ("foreign-%u.ts%s", i,
          (mode & 4) ? DASHCAM_PARTIAL_SUFFIX : "");

      try_write (dir, name, contents);
      g_free (name);
    }
    g_bytes_unref (contents);
  }
  g_ptr_array_unref (list);
  return ok;
}

int
LLVMFuzzerTestOneInput (const uint8_t * input, size_t size)
{
  GPtrArray *parts;
  GHashTable *before, *after;
  DashcamCatalog *cat;
  Events events, again;
  gchar *dir, *journal, *state;
  gsize len;

  if (size < 1)
    return 0;
  parts = fuzz_split (input + 1, size - 1, SEPARATOR);
  journal = g_bytes_unref_to_data (g_bytes_ref (parts->pdata[0]), &len);
  if (input[0] & 1)
    fuzz_fix_journal_crcs (journal, len);

  dir = fuzz_fresh_dir ("rec");
  state = g_build_filename (dir, DASHCAM_STATE_DIR, NULL);
  g_mkdir (state, 0700);
  g_free (state);
  state = g_build_filename (dir, DASHCAM_STATE_DIR, DASHCAM_JOURNAL_NAME,
      NULL);
  fuzz_write_file (state, journal, len);
  g_free (state);

  cat = dashcam_catalog_open (dir, NULL);
  FUZZ_CHECK (cat != NULL, "open the catalog");
  if (!lay_out (dir, cat, parts))
    goto out;

  before = snapshot (dir);
  events_init (&events);
  dashcam_recover_directory (cat, on_event, &events, NULL);
  dashcam_catalog_free (cat);
  cat = NULL;
  after = snapshot (dir);
  check_files (before, after, &events);
  check_catalog (dir, &events);

  /* nothing left to do */
  cat = dashcam_catalog_open (dir, NULL);
  FUZZ_CHECK (cat != NULL, "reopen the catalog");
  events_init (&again);
  dashcam_recover_directory (cat, on_event, &again, NULL);
  FUZZ_CHECK (again.n_changes == 0, "a second recovery changed %u things",
      again.n_changes);
  g_hash_table_unref (before);
  before = snapshot (dir);
  FUZZ_CHECK (same_files (before, after), "a second recovery changed the files");

  events_clear (&again);
  events_clear (&events);
  g_hash_table_unref (before);
  g_hash_table_unref (after);
out:
  if (cat)
    dashcam_catalog_free (cat);
  g_free (journal);
  g_free (dir);
  g_ptr_array_unref (parts);
  return 0;
}
