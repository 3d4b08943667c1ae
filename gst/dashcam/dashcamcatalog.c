/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The segment catalog: what the recording directory holds.
 *
 * The recorder and the uploader meet only here. State lives in an
 * append-only journal, `<dir>/.dashcam/journal`, one line per record:
 *
 *   <crc32 hex> <type> key=value key=value ...\n
 *
 * Values are URI-escaped, so a line never holds a space or newline of its
 * own. A record is appended with one write(2) under an exclusive flock(2)
 * and fdatasync'd before the call returns, so after a power cut the journal
 * holds every record that was acknowledged plus perhaps a torn last line,
 * which the CRC rejects. Readers take only complete lines, so they need no
 * lock. Compaction writes a snapshot to a temporary file and renames it
 * over the journal; writers notice the new inode and reopen.
 *
 * Record types: open, close, seg (snapshot of one segment), lock, unlock,
 * uploaded, deleted, index (highest index ever used, kept by compaction). Unknown types are skipped, so older readers survive
 * newer writers.
 */

#include "dashcamcatalog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

GST_DEBUG_CATEGORY_STATIC (dashcam_catalog_debug);
#define GST_CAT_DEFAULT dashcam_catalog_debug

G_DEFINE_QUARK (dashcam-error-quark, dashcam_error);

struct _DashcamCatalog
{
  gchar *dir;
  gchar *state_dir;
  gchar *journal_path;

  gint journal_fd;
  dev_t journal_dev;
  ino_t journal_ino;
  guint64 read_offset;

  gint recorder_lock_fd;

  GHashTable *segments;         /* name -> DashcamSegment */
  guint64 max_index;
  gboolean have_index;
  guint n_records;
  guint n_corrupt;
};

static guint32 crc_table[256];

static gpointer
init_crc_table (gpointer data)
{
  guint32 i, j;

  for (i = 0; i < 256; i++) {
    guint32 c = i;

    for (j = 0; j < 8; j++)
      c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
  GST_DEBUG_CATEGORY_INIT (dashcam_catalog_debug, "dashcamcatalog", 0,
      "gst-dashcam segment catalog");
  return NULL;
}

static void
ensure_init (void)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, init_crc_table, NULL);
}

static guint32
crc32 (const gchar * data, gsize len)
{
  guint32 c = 0xffffffffu;
  gsize i;

  ensure_init ();
  for (i = 0; i < len; i++)
    c = crc_table[(c ^ (guint8) data[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

static void
segment_free (DashcamSegment * seg)
{
  g_free (seg->name);
  g_free (seg->run_id);
  g_free (seg);
}

static gboolean
set_io_error (GError ** error, const gchar * what, const gchar * path)
{
  gint err = errno;

  g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_IO, "Could not %s \"%s\": %s",
      what, path, g_strerror (err));
  return FALSE;
}

/**
 * dashcam_fsync_dir:
 * @dir: a directory
 * @error: return location for a #GError
 *
 * Makes renames and unlinks inside @dir durable.
 *
 * Returns: %TRUE on success
 */
gboolean
dashcam_fsync_dir (const gchar * dir, GError ** error)
{
  gint fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return set_io_error (error, "open directory", dir);
  if (fsync (fd) < 0 && errno != EINVAL) {
    set_io_error (error, "sync directory", dir);
    close (fd);
    return FALSE;
  }
  close (fd);
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Applying records */

typedef struct
{
  const gchar *type;
  GHashTable *fields;
} Record;

static guint64
field_u64 (const Record * rec, const gchar * key, guint64 def)
{
  const gchar *v = g_hash_table_lookup (rec->fields, key);
  guint64 val;

  if (v == NULL || !g_ascii_string_to_unsigned (v, 10, 0, G_MAXUINT64, &val,
          NULL))
    return def;
  return val;
}

static gint64
field_i64 (const Record * rec, const gchar * key, gint64 def)
{
  const gchar *v = g_hash_table_lookup (rec->fields, key);
  gint64 val;

  if (v == NULL || !g_ascii_string_to_signed (v, 10, G_MININT64, G_MAXINT64,
          &val, NULL))
    return def;
  return val;
}

static DashcamSegment *
segment_for_record (DashcamCatalog * cat, const Record * rec, gboolean create)
{
  const gchar *name = g_hash_table_lookup (rec->fields, "name");
  DashcamSegment *seg;

  if (name == NULL || *name == '\0')
    return NULL;
  seg = g_hash_table_lookup (cat->segments, name);
  if (seg == NULL && create) {
    seg = g_new0 (DashcamSegment, 1);
    seg->name = g_strdup (name);
    seg->running_time = GST_CLOCK_TIME_NONE;
    seg->duration = GST_CLOCK_TIME_NONE;
    g_hash_table_insert (cat->segments, seg->name, seg);
  }
  return seg;
}

static void
apply_segment_fields (DashcamCatalog * cat, DashcamSegment * seg,
    const Record * rec)
{
  const gchar *run = g_hash_table_lookup (rec->fields, "run");

  seg->index = field_u64 (rec, "index", seg->index);
  if (!cat->have_index || seg->index > cat->max_index)
    cat->max_index = seg->index;
  cat->have_index = TRUE;
  if (run) {
    g_free (seg->run_id);
    seg->run_id = g_strdup (run);
  }
  seg->running_time = field_u64 (rec, "rt", seg->running_time);
  seg->duration = field_u64 (rec, "duration", seg->duration);
  seg->size = field_u64 (rec, "size", seg->size);
  seg->wall_time = field_i64 (rec, "wall", seg->wall_time);
  seg->locked = field_u64 (rec, "locked", seg->locked) != 0;
  seg->uploaded = field_u64 (rec, "uploaded", seg->uploaded) != 0;
}

static void
apply_record (DashcamCatalog * cat, const Record * rec)
{
  DashcamSegment *seg;
  gboolean creates = g_str_equal (rec->type, "open")
      || g_str_equal (rec->type, "close") || g_str_equal (rec->type, "seg");

  seg = segment_for_record (cat, rec, creates);
  if (seg == NULL)
    return;

  if (g_str_equal (rec->type, "open")) {
    apply_segment_fields (cat, seg, rec);
    seg->complete = FALSE;
  } else if (g_str_equal (rec->type, "close")) {
    apply_segment_fields (cat, seg, rec);
    seg->complete = TRUE;
  } else if (g_str_equal (rec->type, "seg")) {
    apply_segment_fields (cat, seg, rec);
    seg->complete = field_u64 (rec, "complete", 0) != 0;
  } else if (g_str_equal (rec->type, "lock")) {
    seg->locked = TRUE;
  } else if (g_str_equal (rec->type, "unlock")) {
    seg->locked = FALSE;
  } else if (g_str_equal (rec->type, "uploaded")) {
    seg->uploaded = TRUE;
  } else if (g_str_equal (rec->type, "deleted")) {
    g_hash_table_remove (cat->segments, seg->name);
  }
}

/* "index max=N": the highest index ever used, kept by compaction. */
static void
apply_index_record (DashcamCatalog * cat, const Record * rec)
{
  guint64 max = field_u64 (rec, "max", 0);

  if (!cat->have_index || max > cat->max_index)
    cat->max_index = max;
  cat->have_index = TRUE;
}

/* Parses one line (without its newline) and applies it. */
static void
apply_line (DashcamCatalog * cat, const gchar * line, gsize len)
{
  gchar *body, **tokens;
  guint32 crc;
  Record rec;
  guint i;

  if (len == 0)
    return;
  if (len < 10 || line[8] != ' ' || !g_ascii_isxdigit (line[0]))
    goto corrupt;
  crc = (guint32) g_ascii_strtoull (line, NULL, 16);
  if (crc != crc32 (line + 9, len - 9))
    goto corrupt;

  body = g_strndup (line + 9, len - 9);
  tokens = g_strsplit (body, " ", -1);
  rec.type = tokens[0];
  rec.fields = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (i = 1; tokens[i]; i++) {
    gchar *eq = strchr (tokens[i], '=');

    if (eq == NULL)
      continue;
    *eq = '\0';
    g_hash_table_insert (rec.fields, g_strdup (tokens[i]),
        g_uri_unescape_string (eq + 1, NULL));
  }
  if (g_str_equal (rec.type, "index"))
    apply_index_record (cat, &rec);
  else
    apply_record (cat, &rec);
  cat->n_records++;
  g_hash_table_unref (rec.fields);
  g_strfreev (tokens);
  g_free (body);
  return;

corrupt:
  cat->n_corrupt++;
  GST_WARNING ("skipping corrupt record in %s: \"%.*s\"", cat->journal_path,
      (gint) MIN (len, 80), line);
}

/* ---------------------------------------------------------------------- */
/* Journal file */

static gboolean
open_journal (DashcamCatalog * cat, GError ** error)
{
  struct stat st;

  cat->journal_fd = open (cat->journal_path,
      O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (cat->journal_fd < 0)
    return set_io_error (error, "open journal", cat->journal_path);
  if (fstat (cat->journal_fd, &st) < 0)
    return set_io_error (error, "stat journal", cat->journal_path);
  cat->journal_dev = st.st_dev;
  cat->journal_ino = st.st_ino;
  cat->read_offset = 0;
  g_hash_table_remove_all (cat->segments);
  cat->n_records = 0;
  return TRUE;
}

/* TRUE if another process renamed a new journal over ours */
static gboolean
journal_replaced (DashcamCatalog * cat)
{
  struct stat st;

  if (g_stat (cat->journal_path, &st) < 0)
    return TRUE;
  return st.st_dev != cat->journal_dev || st.st_ino != cat->journal_ino;
}

static gboolean
reopen_journal (DashcamCatalog * cat, GError ** error)
{
  close (cat->journal_fd);
  cat->journal_fd = -1;
  return open_journal (cat, error);
}

/**
 * dashcam_catalog_refresh:
 * @cat: a #DashcamCatalog
 * @error: return location for a #GError
 *
 * Reads the records appended since the last call (by this or another
 * process) and applies them.
 *
 * Returns: %TRUE on success
 */
gboolean
dashcam_catalog_refresh (DashcamCatalog * cat, GError ** error)
{
  gchar buf[16384];
  GString *data;
  gsize start = 0, i;

  if (journal_replaced (cat) && !reopen_journal (cat, error))
    return FALSE;

  data = g_string_new (NULL);
  for (;;) {
    gssize n = pread (cat->journal_fd, buf, sizeof (buf),
        cat->read_offset + data->len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      g_string_free (data, TRUE);
      return set_io_error (error, "read journal", cat->journal_path);
    }
    if (n == 0)
      break;
    g_string_append_len (data, buf, n);
  }

  for (i = 0; i < data->len; i++) {
    if (data->str[i] != '\n')
      continue;
    apply_line (cat, data->str + start, i - start);
    start = i + 1;
  }
  cat->read_offset += start;
  g_string_free (data, TRUE);
  return TRUE;
}

static gchar *
build_line (const gchar * type, va_list args)
{
  GString *body = g_string_new (type);
  const gchar *key;
  gchar *line;

  while ((key = va_arg (args, const gchar *))) {
    const gchar *value = va_arg (args, const gchar *);
    gchar *escaped = g_uri_escape_string (value ? value : "", NULL, TRUE);

    g_string_append_printf (body, " %s=%s", key, escaped);
    g_free (escaped);
  }
  line = g_strdup_printf ("%08x %s\n", crc32 (body->str, body->len),
      body->str);
  g_string_free (body, TRUE);
  return line;
}

static gboolean
write_all (gint fd, const gchar * data, gsize len)
{
  while (len > 0) {
    gssize n = write (fd, data, len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return FALSE;
    data += n;
    len -= n;
  }
  return TRUE;
}

/* Appends one record: type, then key, value string pairs, NULL-terminated. */
static gboolean
append_record (DashcamCatalog * cat, GError ** error, const gchar * type, ...)
{
  gchar *line;
  va_list args;
  gboolean ret = FALSE;
  struct stat st;

  va_start (args, type);
  line = build_line (type, args);
  va_end (args);

  for (;;) {
    if (flock (cat->journal_fd, LOCK_EX) < 0) {
      set_io_error (error, "lock journal", cat->journal_path);
      goto out;
    }
    if (!journal_replaced (cat))
      break;
    flock (cat->journal_fd, LOCK_UN);
    if (!reopen_journal (cat, error) || !dashcam_catalog_refresh (cat, error))
      goto out;
  }

  /* a torn line left by a power cut must not swallow this record */
  if (fstat (cat->journal_fd, &st) == 0 && st.st_size > 0) {
    gchar last = '\n';

    if (pread (cat->journal_fd, &last, 1, st.st_size - 1) == 1 && last != '\n'
        && !write_all (cat->journal_fd, "\n", 1)) {
      set_io_error (error, "write journal", cat->journal_path);
      goto unlock;
    }
  }
  if (!write_all (cat->journal_fd, line, strlen (line))
      || fdatasync (cat->journal_fd) < 0) {
    set_io_error (error, "write journal", cat->journal_path);
    goto unlock;
  }
  ret = TRUE;

unlock:
  flock (cat->journal_fd, LOCK_UN);
  if (ret)
    ret = dashcam_catalog_refresh (cat, error);
out:
  g_free (line);
  return ret;
}

/* ---------------------------------------------------------------------- */
/* Public API */

/**
 * dashcam_catalog_open:
 * @dir: the recording directory (must exist)
 * @error: return location for a #GError
 *
 * Opens (creating it if needed) the catalog of @dir and reads it.
 *
 * Returns: (transfer full): the catalog, or %NULL on error
 */
DashcamCatalog *
dashcam_catalog_open (const gchar * dir, GError ** error)
{
  DashcamCatalog *cat;

  ensure_init ();
  cat = g_new0 (DashcamCatalog, 1);
  cat->dir = g_strdup (dir);
  cat->state_dir = g_build_filename (dir, DASHCAM_STATE_DIR, NULL);
  cat->journal_path = g_build_filename (cat->state_dir, DASHCAM_JOURNAL_NAME,
      NULL);
  cat->journal_fd = -1;
  cat->recorder_lock_fd = -1;
  cat->segments = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) segment_free);

  if (g_mkdir_with_parents (cat->state_dir, 0755) < 0) {
    set_io_error (error, "create directory", cat->state_dir);
    goto fail;
  }
  if (!open_journal (cat, error) || !dashcam_catalog_refresh (cat, error))
    goto fail;
  GST_DEBUG ("opened %s: %u records, %u segments", cat->journal_path,
      cat->n_records, g_hash_table_size (cat->segments));
  return cat;

fail:
  dashcam_catalog_free (cat);
  return NULL;
}

/**
 * dashcam_catalog_free:
 * @cat: (transfer full): a #DashcamCatalog
 *
 * Closes the catalog and releases the recorder lock if held.
 */
void
dashcam_catalog_free (DashcamCatalog * cat)
{
  if (cat == NULL)
    return;
  if (cat->journal_fd >= 0)
    close (cat->journal_fd);
  if (cat->recorder_lock_fd >= 0)
    close (cat->recorder_lock_fd);
  g_hash_table_unref (cat->segments);
  g_free (cat->journal_path);
  g_free (cat->state_dir);
  g_free (cat->dir);
  g_free (cat);
}

const gchar *
dashcam_catalog_get_dir (DashcamCatalog * cat)
{
  return cat->dir;
}

/**
 * dashcam_catalog_lock_recorder:
 * @cat: a #DashcamCatalog
 * @error: return location for a #GError
 *
 * Claims the directory for one recorder. The lock is released by
 * dashcam_catalog_free() or when the process dies.
 *
 * Returns: %TRUE on success; %FALSE with %DASHCAM_ERROR_BUSY if another
 * recorder holds it
 */
gboolean
dashcam_catalog_lock_recorder (DashcamCatalog * cat, GError ** error)
{
  gchar *path = g_build_filename (cat->state_dir, DASHCAM_RECORDER_LOCK_NAME,
      NULL);
  gint fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

  if (fd < 0) {
    set_io_error (error, "open lock file", path);
    g_free (path);
    return FALSE;
  }
  if (flock (fd, LOCK_EX | LOCK_NB) < 0) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_BUSY,
        "Another recorder is writing to \"%s\"", cat->dir);
    close (fd);
    g_free (path);
    return FALSE;
  }
  g_free (path);
  cat->recorder_lock_fd = fd;
  return TRUE;
}

static gint
compare_index (gconstpointer a, gconstpointer b)
{
  const DashcamSegment *sa = *(const DashcamSegment **) a;
  const DashcamSegment *sb = *(const DashcamSegment **) b;

  return sa->index < sb->index ? -1 : (sa->index > sb->index ? 1 : 0);
}

/**
 * dashcam_catalog_list:
 * @cat: a #DashcamCatalog
 *
 * Returns: (transfer container): every known segment, oldest (lowest
 * index) first; the segments belong to @cat and stay valid until the next
 * call that changes or refreshes it
 */
GPtrArray *
dashcam_catalog_list (DashcamCatalog * cat)
{
  GPtrArray *list = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, cat->segments);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (list, value);
  g_ptr_array_sort (list, compare_index);
  return list;
}

DashcamSegment *
dashcam_catalog_lookup (DashcamCatalog * cat, const gchar * name)
{
  return g_hash_table_lookup (cat->segments, name);
}

/**
 * dashcam_catalog_next_index:
 * @cat: a #DashcamCatalog
 *
 * Returns: an index higher than that of every segment ever recorded here
 * (deleted ones included, as long as the journal remembers them)
 */
guint64
dashcam_catalog_next_index (DashcamCatalog * cat)
{
  return cat->have_index ? cat->max_index + 1 : 0;
}

guint
dashcam_catalog_n_corrupt_records (DashcamCatalog * cat)
{
  return cat->n_corrupt;
}

gchar *
dashcam_catalog_build_path (DashcamCatalog * cat, const gchar * name)
{
  return g_build_filename (cat->dir, name, NULL);
}

#define U64(v) g_strdup_printf ("%" G_GUINT64_FORMAT, (guint64) (v))
#define I64(v) g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) (v))

static gboolean
append_segment (DashcamCatalog * cat, const gchar * type,
    const DashcamSegment * s, GError ** error)
{
  gchar *index = U64 (s->index), *rt = U64 (s->running_time);
  gchar *dur = U64 (s->duration), *size = U64 (s->size);
  gchar *wall = I64 (s->wall_time);
  gboolean ret;

  ret = append_record (cat, error, type, "name", s->name, "index", index,
      "run", s->run_id ? s->run_id : "", "rt", rt, "duration", dur,
      "size", size, "wall", wall, "locked", s->locked ? "1" : "0",
      "uploaded", s->uploaded ? "1" : "0", NULL);
  g_free (index);
  g_free (rt);
  g_free (dur);
  g_free (size);
  g_free (wall);
  return ret;
}

/**
 * dashcam_catalog_add_open:
 * @cat: a #DashcamCatalog
 * @segment: the segment about to be created under its partial name
 * @error: return location for a #GError
 *
 * Records, durably, that @segment is being written. Call it before creating
 * the file: whatever a power cut leaves behind is then known to be ours.
 *
 * Returns: %TRUE on success
 */
gboolean
dashcam_catalog_add_open (DashcamCatalog * cat, const DashcamSegment * segment,
    GError ** error)
{
  return append_segment (cat, "open", segment, error);
}

/**
 * dashcam_catalog_add_close:
 * @cat: a #DashcamCatalog
 * @segment: the segment, renamed to its final name
 * @error: return location for a #GError
 *
 * Records that @segment is complete, with its final size and duration.
 *
 * Returns: %TRUE on success
 */
gboolean
dashcam_catalog_add_close (DashcamCatalog * cat,
    const DashcamSegment * segment, GError ** error)
{
  return append_segment (cat, "close", segment, error);
}

gboolean
dashcam_catalog_set_locked (DashcamCatalog * cat, const gchar * name,
    gboolean locked, GError ** error)
{
  return append_record (cat, error, locked ? "lock" : "unlock", "name", name,
      NULL);
}

gboolean
dashcam_catalog_set_uploaded (DashcamCatalog * cat, const gchar * name,
    GError ** error)
{
  return append_record (cat, error, "uploaded", "name", name, NULL);
}

gboolean
dashcam_catalog_remove (DashcamCatalog * cat, const gchar * name,
    const gchar * reason, GError ** error)
{
  return append_record (cat, error, "deleted", "name", name, "reason", reason,
      NULL);
}

static gboolean
write_snapshot (DashcamCatalog * cat, gint fd)
{
  GPtrArray *list = dashcam_catalog_list (cat);
  gboolean ok = TRUE;
  guint i;

  if (cat->have_index) {
    gchar *body = g_strdup_printf ("index max=%" G_GUINT64_FORMAT,
        cat->max_index);
    gchar *line = g_strdup_printf ("%08x %s\n", crc32 (body, strlen (body)),
        body);

    ok = write_all (fd, line, strlen (line));
    g_free (line);
    g_free (body);
  }

  for (i = 0; ok && i < list->len; i++) {
    DashcamSegment *s = g_ptr_array_index (list, i);
    gchar *fields = g_strdup_printf ("%" G_GUINT64_FORMAT, s->index);
    gchar *esc_name = g_uri_escape_string (s->name, NULL, TRUE);
    gchar *esc_run = g_uri_escape_string (s->run_id ? s->run_id : "", NULL,
        TRUE);
    gchar *body = g_strdup_printf ("seg name=%s index=%s run=%s rt=%"
        G_GUINT64_FORMAT " duration=%" G_GUINT64_FORMAT " size=%"
        G_GUINT64_FORMAT " wall=%" G_GINT64_FORMAT " locked=%d uploaded=%d"
        " complete=%d", esc_name, fields, esc_run, s->running_time,
        s->duration, s->size, s->wall_time, s->locked, s->uploaded,
        s->complete);
    gchar *line = g_strdup_printf ("%08x %s\n", crc32 (body, strlen (body)),
        body);

    ok = write_all (fd, line, strlen (line));
    g_free (line);
    g_free (body);
    g_free (esc_run);
    g_free (esc_name);
    g_free (fields);
  }
  g_ptr_array_unref (list);
  return ok;
}

/**
 * dashcam_catalog_compact:
 * @cat: a #DashcamCatalog
 * @error: return location for a #GError
 *
 * Replaces the journal by a snapshot of the current state when it has
 * grown well past it (atomically: write, sync, rename, sync directory).
 *
 * Returns: %TRUE on success (also when nothing needed doing)
 */
gboolean
dashcam_catalog_compact (DashcamCatalog * cat, GError ** error)
{
  gchar *tmp_path;
  gint fd;
  gboolean ret = FALSE;

  if (cat->n_records < 64 + 4 * g_hash_table_size (cat->segments))
    return TRUE;
  if (flock (cat->journal_fd, LOCK_EX) < 0)
    return set_io_error (error, "lock journal", cat->journal_path);
  if (!dashcam_catalog_refresh (cat, error))
    goto unlock;

  tmp_path = g_strconcat (cat->journal_path, ".tmp", NULL);
  fd = open (tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    set_io_error (error, "create", tmp_path);
    g_free (tmp_path);
    goto unlock;
  }
  if (!write_snapshot (cat, fd) || fsync (fd) < 0) {
    set_io_error (error, "write", tmp_path);
    close (fd);
    g_unlink (tmp_path);
    g_free (tmp_path);
    goto unlock;
  }
  close (fd);
  if (g_rename (tmp_path, cat->journal_path) < 0) {
    set_io_error (error, "rename", tmp_path);
    g_free (tmp_path);
    goto unlock;
  }
  g_free (tmp_path);
  ret = dashcam_fsync_dir (cat->state_dir, error);
  GST_INFO ("compacted %s from %u records to %u segments", cat->journal_path,
      cat->n_records, g_hash_table_size (cat->segments));

unlock:
  flock (cat->journal_fd, LOCK_UN);
  if (ret)
    ret = reopen_journal (cat, error) && dashcam_catalog_refresh (cat, error);
  return ret;
}
