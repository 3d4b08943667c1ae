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
 *
 * The directory is input like any other: a card moved between devices or
 * a tampered journal may name anything. A record whose name is not a plain
 * file name (see dashcam_name_is_safe()) is rejected like a corrupt one,
 * and every file is reached relative to a descriptor of the directory,
 * without following a symbolic link, and only if it is a regular file with
 * no other hard link, so nothing outside the directory is ever read,
 * written or truncated. A journal deleted or cut short while it is open is
 * written again from what was read of it.
 */

#include "dashcamcatalog.h"
#include "dashcamnaming.h"

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
  gint dir_fd;
  gint state_fd;
  guint file_mode;

  gint journal_fd;
  dev_t journal_dev;
  ino_t journal_ino;
  guint64 read_offset;

  gint recorder_lock_fd;

  GHashTable *segments;         /* name -> DashcamSegment */
  GHashTable *orphans;          /* name -> ORPHAN_* flags */
  guint64 max_index;
  gboolean have_index;
  guint n_records;
  guint n_corrupt;
};

/* lock and uploaded records of a segment whose open and close records
 * were lost: applied if its file is adopted again */
#define ORPHAN_LOCKED 1
#define ORPHAN_UPLOADED 2

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
/* Files in the directory */

/**
 * dashcam_dir_mode_for:
 * @file_mode: permissions of the files of a recording directory
 *
 * Returns: the permissions of its directories: @file_mode plus search
 * permission wherever it grants reading (0640 -> 0750)
 */
guint
dashcam_dir_mode_for (guint file_mode)
{
  file_mode &= 0777;
  return file_mode | ((file_mode & 0444) >> 2);
}

/**
 * dashcam_make_dir:
 * @path: a directory
 * @file_mode: permissions of the files that go into it
 * @error: return location for a #GError
 *
 * Creates @path (and its parents) if it does not exist yet, with the
 * permissions of dashcam_dir_mode_for() whatever the umask.
 *
 * Returns: %TRUE if @path is a directory now
 */
gboolean
dashcam_make_dir (const gchar * path, guint file_mode, GError ** error)
{
  guint mode = dashcam_dir_mode_for (file_mode);

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    return TRUE;
  if (g_mkdir_with_parents (path, mode) < 0 || chmod (path, mode) < 0)
    return set_io_error (error, "create directory", path);
  return TRUE;
}

/* A segment name or its partial name: one plain path component. */
static gboolean
is_segment_file_name (const gchar * name)
{
  gchar *stem;
  gboolean ok;

  if (dashcam_name_is_safe (name))
    return TRUE;
  if (name == NULL || !g_str_has_suffix (name, DASHCAM_PARTIAL_SUFFIX))
    return FALSE;
  stem = g_strndup (name, strlen (name) - strlen (DASHCAM_PARTIAL_SUFFIX));
  ok = dashcam_name_is_safe (stem);
  g_free (stem);
  return ok;
}

/* Refuses what is not a regular file of its own: through a symbolic link
 * or another hard link, writing or reading it would reach a file outside
 * the directory. */
static gboolean
check_regular (const struct stat *st, const gchar * where, const gchar * name,
    GError ** error)
{
  if (S_ISLNK (st->st_mode)) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "\"%s/%s\" is a symbolic link: not following it", where, name);
    return FALSE;
  }
  if (!S_ISREG (st->st_mode)) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "\"%s/%s\" is not a regular file: not touching it", where, name);
    return FALSE;
  }
  if (st->st_nlink > 1) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "\"%s/%s\" has other hard links: not touching it", where, name);
    return FALSE;
  }
  return TRUE;
}

static gboolean
stat_at (gint dir_fd, const gchar * where, const gchar * name,
    struct stat *st, GError ** error)
{
  if (fstatat (dir_fd, name, st, AT_SYMLINK_NOFOLLOW) == 0)
    return TRUE;
  g_set_error (error, DASHCAM_ERROR, errno == ENOENT ?
      DASHCAM_ERROR_NOT_FOUND : DASHCAM_ERROR_IO,
      "Could not stat \"%s/%s\": %s", where, name, g_strerror (errno));
  return FALSE;
}

/* Opens @name in @dir_fd (@where: its path, for messages) without
 * following a symbolic link. With O_CREAT | O_EXCL the file is created
 * with @mode whatever the umask; otherwise it must exist and be a regular
 * file of its own. */
static gint
open_at (gint dir_fd, const gchar * where, const gchar * name, gint flags,
    guint mode, GError ** error)
{
  gboolean create = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
  struct stat st;
  gint fd, fl;

  /* never open a fifo or a device, not even to look at it */
  if (!create && (!stat_at (dir_fd, where, name, &st, error)
          || !check_regular (&st, where, name, error)))
    return -1;
  fd = openat (dir_fd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
      mode);
  if (fd < 0) {
    gint err = errno;

    g_set_error (error, DASHCAM_ERROR, err == ENOENT ? DASHCAM_ERROR_NOT_FOUND
        : (err == ELOOP ? DASHCAM_ERROR_INVALID : DASHCAM_ERROR_IO),
        "Could not open \"%s/%s\": %s", where, name, err == ELOOP ?
        "it is a symbolic link" : g_strerror (err));
    errno = err;
    return -1;
  }
  if (fstat (fd, &st) < 0 || !check_regular (&st, where, name, error)
      || (create && fchmod (fd, mode) < 0)) {
    if (error && *error == NULL)
      set_io_error (error, "open", name);
    close (fd);
    return -1;
  }
  fl = fcntl (fd, F_GETFL);
  if (fl >= 0)
    fcntl (fd, F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

static gboolean
check_file_name (DashcamCatalog * cat, const gchar * name, GError ** error)
{
  if (is_segment_file_name (name))
    return TRUE;
  g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
      "\"%s\" in \"%s\" is not a plain file name: refusing it",
      name ? name : "(null)", cat->dir);
  return FALSE;
}

/**
 * dashcam_catalog_open_file:
 * @cat: a #DashcamCatalog
 * @name: a segment name, or its partial name (`NAME.part`)
 * @flags: open(2) flags; with O_CREAT, O_EXCL is needed
 * @error: return location for a #GError (%DASHCAM_ERROR_NOT_FOUND if it
 *   does not exist, %DASHCAM_ERROR_INVALID if it is not a plain name or not
 *   a regular file of its own)
 *
 * Opens a file of the recording directory relative to it, never following
 * a symbolic link; a file created gets the catalog's file mode.
 *
 * Returns: a file descriptor, or -1
 */
gint
dashcam_catalog_open_file (DashcamCatalog * cat, const gchar * name,
    gint flags, GError ** error)
{
  if (!check_file_name (cat, name, error))
    return -1;
  if ((flags & O_CREAT) && !(flags & O_EXCL)) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "O_CREAT without O_EXCL");
    return -1;
  }
  return open_at (cat->dir_fd, cat->dir, name, flags, cat->file_mode, error);
}

/**
 * dashcam_catalog_unlink_file:
 * @cat: a #DashcamCatalog
 * @name: a segment name, or its partial name
 * @error: return location for a #GError
 *
 * Deletes a regular file of the recording directory; anything else (a
 * symbolic link, a directory) is left alone.
 *
 * Returns: %TRUE on success
 */
gboolean
dashcam_catalog_unlink_file (DashcamCatalog * cat, const gchar * name,
    GError ** error)
{
  struct stat st;

  if (!check_file_name (cat, name, error)
      || !stat_at (cat->dir_fd, cat->dir, name, &st, error))
    return FALSE;
  if (S_ISLNK (st.st_mode) || !S_ISREG (st.st_mode))
    return check_regular (&st, cat->dir, name, error);
  if (unlinkat (cat->dir_fd, name, 0) < 0)
    return set_io_error (error, "delete", name);
  return TRUE;
}

/**
 * dashcam_catalog_rename_file:
 * @cat: a #DashcamCatalog
 * @from: a partial name
 * @to: a segment name
 * @error: return location for a #GError
 *
 * Renames a regular file of the recording directory.
 *
 * Returns: %TRUE on success
 */
gboolean
dashcam_catalog_rename_file (DashcamCatalog * cat, const gchar * from,
    const gchar * to, GError ** error)
{
  struct stat st;

  if (!check_file_name (cat, from, error) || !check_file_name (cat, to, error)
      || !stat_at (cat->dir_fd, cat->dir, from, &st, error)
      || !check_regular (&st, cat->dir, from, error))
    return FALSE;
  if (renameat (cat->dir_fd, from, cat->dir_fd, to) < 0)
    return set_io_error (error, "rename", from);
  return TRUE;
}

/**
 * dashcam_catalog_sync_dir:
 * @cat: a #DashcamCatalog
 * @error: return location for a #GError
 *
 * Makes renames and unlinks inside the recording directory durable.
 *
 * Returns: %TRUE on success
 */
gboolean
dashcam_catalog_sync_dir (DashcamCatalog * cat, GError ** error)
{
  if (fsync (cat->dir_fd) < 0 && errno != EINVAL)
    return set_io_error (error, "sync directory", cat->dir);
  return TRUE;
}

gint
dashcam_catalog_get_dir_fd (DashcamCatalog * cat)
{
  return cat->dir_fd;
}

guint
dashcam_catalog_get_file_mode (DashcamCatalog * cat)
{
  return cat->file_mode;
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
  if (seg == NULL && create)
    g_hash_table_remove (cat->orphans, name);
  if (seg == NULL && create) {
    seg = g_new0 (DashcamSegment, 1);
    seg->name = g_strdup (name);
    seg->running_time = GST_CLOCK_TIME_NONE;
    seg->duration = GST_CLOCK_TIME_NONE;
    g_hash_table_insert (cat->segments, seg->name, seg);
  }
  return seg;
}

/* Indexes grow by one per segment: one beyond this comes from a forged or
 * damaged record (or name), and must not make the next index wrap around
 * to 0, to the index, and the name, of a segment we have. */
#define MAX_INDEX G_GUINT64_CONSTANT (999999999999999999)

static void
note_index (DashcamCatalog * cat, guint64 index)
{
  if (index > MAX_INDEX)
    return;
  if (!cat->have_index || index > cat->max_index)
    cat->max_index = index;
  cat->have_index = TRUE;
}

static void
apply_segment_fields (DashcamCatalog * cat, DashcamSegment * seg,
    const Record * rec)
{
  const gchar *run = g_hash_table_lookup (rec->fields, "run");

  seg->index = field_u64 (rec, "index", seg->index);
  note_index (cat, seg->index);
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

/* A record about a segment the journal does not know (its open record was
 * lost): a lock must survive that, so that the file is adopted locked. */
static void
apply_orphan_record (DashcamCatalog * cat, const Record * rec)
{
  const gchar *name = g_hash_table_lookup (rec->fields, "name");
  guint flags;

  if (name == NULL || *name == '\0')
    return;
  flags = GPOINTER_TO_UINT (g_hash_table_lookup (cat->orphans, name));
  if (g_str_equal (rec->type, "lock"))
    flags |= ORPHAN_LOCKED;
  else if (g_str_equal (rec->type, "unlock"))
    flags &= ~ORPHAN_LOCKED;
  else if (g_str_equal (rec->type, "uploaded"))
    flags |= ORPHAN_UPLOADED;
  else if (g_str_equal (rec->type, "deleted"))
    flags = 0;
  else
    return;
  if (flags)
    g_hash_table_insert (cat->orphans, g_strdup (name),
        GUINT_TO_POINTER (flags));
  else
    g_hash_table_remove (cat->orphans, name);
}

static void
apply_record (DashcamCatalog * cat, const Record * rec)
{
  DashcamSegment *seg;
  gboolean creates = g_str_equal (rec->type, "open")
      || g_str_equal (rec->type, "close") || g_str_equal (rec->type, "seg");

  seg = segment_for_record (cat, rec, creates);
  if (seg == NULL) {
    apply_orphan_record (cat, rec);
    return;
  }

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
  note_index (cat, field_u64 (rec, "max", 0));
}

/* Parses one line (without its newline) and applies it. */
static void
apply_line (DashcamCatalog * cat, const gchar * line, gsize len)
{
  gchar *body, **tokens;
  const gchar *name;
  guint32 crc;
  Record rec;
  guint i;

  if (len == 0)
    return;
  /* a record never holds a NUL (values are escaped): one would cut the
   * body short of its fields, or leave it with no type at all */
  if (len < 10 || line[8] != ' ' || !g_ascii_isxdigit (line[0])
      || memchr (line, '\0', len) != NULL)
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
  name = g_hash_table_lookup (rec.fields, "name");
  if (g_hash_table_contains (rec.fields, "name")
      && !dashcam_name_is_safe (name)) {
    /* a valid CRC does not make it ours: a tampered or foreign journal */
    cat->n_corrupt++;
    GST_WARNING ("skipping a record in %s naming \"%s\", which is not a "
        "plain file name", cat->journal_path, name ? name : "(invalid)");
  } else if (g_str_equal (rec.type, "index"))
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

static gboolean write_all (gint fd, const gchar * data, gsize len);
static gboolean write_snapshot (DashcamCatalog * cat, gint fd);

/* Opens @name in the state directory, creating it if it is not there. */
static gint
open_state_file (DashcamCatalog * cat, const gchar * name, gint flags,
    GError ** error)
{
  GError *err = NULL;
  gint fd = -1, tries;

  for (tries = 0; fd < 0 && tries < 3; tries++) {
    g_clear_error (&err);
    fd = open_at (cat->state_fd, cat->state_dir, name, flags, 0, &err);
    if (fd >= 0 || !g_error_matches (err, DASHCAM_ERROR,
            DASHCAM_ERROR_NOT_FOUND))
      break;
    g_clear_error (&err);
    fd = open_at (cat->state_fd, cat->state_dir, name,
        flags | O_CREAT | O_EXCL, cat->file_mode, &err);
  }
  if (fd < 0)
    g_propagate_error (error, err);
  else
    g_clear_error (&err);
  return fd;
}

/* Makes @fd the journal and forgets what was read from the previous one. */
static gboolean
use_journal (DashcamCatalog * cat, gint fd, GError ** error)
{
  struct stat st;

  if (fstat (fd, &st) < 0) {
    set_io_error (error, "stat journal", cat->journal_path);
    close (fd);
    return FALSE;
  }
  if (cat->journal_fd >= 0)
    close (cat->journal_fd);
  cat->journal_fd = fd;
  cat->journal_dev = st.st_dev;
  cat->journal_ino = st.st_ino;
  cat->read_offset = 0;
  g_hash_table_remove_all (cat->segments);
  g_hash_table_remove_all (cat->orphans);
  cat->n_records = 0;
  return TRUE;
}

typedef enum
{
  JOURNAL_CURRENT,              /* journal_fd is the journal */
  JOURNAL_REPLACED,             /* another process compacted it */
  JOURNAL_DAMAGED,              /* deleted, cut short or not a file */
} JournalState;

static JournalState
journal_state (DashcamCatalog * cat)
{
  struct stat st;

  if (fstatat (cat->state_fd, DASHCAM_JOURNAL_NAME, &st,
          AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? JOURNAL_DAMAGED : JOURNAL_CURRENT;
  if (!S_ISREG (st.st_mode) || st.st_nlink > 1)
    return JOURNAL_DAMAGED;
  if (st.st_dev != cat->journal_dev || st.st_ino != cat->journal_ino)
    return JOURNAL_REPLACED;
  if ((guint64) st.st_size < cat->read_offset)
    return JOURNAL_DAMAGED;
  return JOURNAL_CURRENT;
}

/* Reads the records appended since the last call and applies them. */
static gboolean
read_records (DashcamCatalog * cat, GError ** error)
{
  gchar buf[16384];
  GString *data;
  gsize start = 0, i;

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

/* Writes a snapshot of what is known to a new file and renames it over the
 * journal (write, sync, rename, sync directory). Called with the journal
 * flock'd. */
static gboolean
replace_journal (DashcamCatalog * cat, GError ** error)
{
  const gchar *tmp = DASHCAM_JOURNAL_NAME ".tmp";
  gint fd;

  /* a leftover (or a planted link) goes; the new file is our own */
  unlinkat (cat->state_fd, tmp, 0);
  fd = open_at (cat->state_fd, cat->state_dir, tmp,
      O_WRONLY | O_CREAT | O_EXCL, cat->file_mode, error);
  if (fd < 0)
    return FALSE;
  if (!write_snapshot (cat, fd) || fsync (fd) < 0) {
    set_io_error (error, "write", tmp);
    close (fd);
    unlinkat (cat->state_fd, tmp, 0);
    return FALSE;
  }
  close (fd);
  if (renameat (cat->state_fd, tmp, cat->state_fd, DASHCAM_JOURNAL_NAME) < 0)
    return set_io_error (error, "rename", tmp);
  if (fsync (cat->state_fd) < 0 && errno != EINVAL)
    return set_io_error (error, "sync directory", cat->state_dir);
  return TRUE;
}

/* The journal was deleted or cut short behind our back (or something else
 * took its name): write it again from what was read of it, and of what the
 * old file still holds, so that no segment becomes unknown. */
static gboolean
rewrite_journal (DashcamCatalog * cat, GError ** error)
{
  gboolean ret = TRUE;

  if (flock (cat->journal_fd, LOCK_EX) < 0)
    return set_io_error (error, "lock journal", cat->journal_path);
  /* another catalog of the directory may have done it meanwhile */
  if (journal_state (cat) == JOURNAL_DAMAGED) {
    GST_WARNING ("%s was deleted or damaged: writing it again from the %u "
        "segments known", cat->journal_path,
        g_hash_table_size (cat->segments));
    ret = read_records (cat, error) && replace_journal (cat, error);
  }
  flock (cat->journal_fd, LOCK_UN);
  return ret;
}

static gboolean
reopen_journal (DashcamCatalog * cat, GError ** error)
{
  GError *err = NULL;
  gint fd = open_at (cat->state_fd, cat->state_dir, DASHCAM_JOURNAL_NAME,
      O_RDWR | O_APPEND, 0, &err);

  if (fd < 0) {
    /* gone again since we looked: the next look rewrites it */
    if (g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_NOT_FOUND)) {
      g_clear_error (&err);
      return TRUE;
    }
    g_propagate_error (error, err);
    return FALSE;
  }
  return use_journal (cat, fd, error);
}

/* Follows the journal of the directory: reopens it when another process
 * compacted it, rewrites it when it was deleted or damaged. */
static gboolean
follow_journal (DashcamCatalog * cat, GError ** error)
{
  guint tries;

  for (tries = 0; tries < 8; tries++) {
    switch (journal_state (cat)) {
      case JOURNAL_CURRENT:
        return TRUE;
      case JOURNAL_REPLACED:
        if (!reopen_journal (cat, error))
          return FALSE;
        break;
      case JOURNAL_DAMAGED:
        if (!rewrite_journal (cat, error))
          return FALSE;
        break;
    }
  }
  return TRUE;
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
  return follow_journal (cat, error) && read_records (cat, error);
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

/* Appends @line (or, with %NULL, only ends a torn last line) under the
 * journal's lock, synced, and reads it back. */
static gboolean
append_line (DashcamCatalog * cat, const gchar * line, GError ** error)
{
  gboolean ret = FALSE;
  struct stat st;

  for (;;) {
    if (!follow_journal (cat, error))
      return FALSE;
    if (flock (cat->journal_fd, LOCK_EX) < 0)
      return set_io_error (error, "lock journal", cat->journal_path);
    if (journal_state (cat) == JOURNAL_CURRENT)
      break;
    flock (cat->journal_fd, LOCK_UN);
  }

  /* a torn line left by a power cut must not swallow this record */
  if (fstat (cat->journal_fd, &st) == 0 && st.st_size > 0) {
    gchar last = '\n';

    if (pread (cat->journal_fd, &last, 1, st.st_size - 1) == 1 && last != '\n'
        && (!write_all (cat->journal_fd, "\n", 1)
            || (line == NULL && fdatasync (cat->journal_fd) < 0))) {
      set_io_error (error, "write journal", cat->journal_path);
      goto unlock;
    }
  }
  if (line && (!write_all (cat->journal_fd, line, strlen (line))
          || fdatasync (cat->journal_fd) < 0)) {
    set_io_error (error, "write journal", cat->journal_path);
    goto unlock;
  }
  ret = TRUE;

unlock:
  flock (cat->journal_fd, LOCK_UN);
  if (ret)
    ret = dashcam_catalog_refresh (cat, error);
  return ret;
}

/* Appends one record: type, then key, value string pairs, NULL-terminated. */
static gboolean
append_record (DashcamCatalog * cat, GError ** error, const gchar * type, ...)
{
  gchar *line;
  va_list args;
  gboolean ret;

  va_start (args, type);
  line = build_line (type, args);
  va_end (args);
  ret = append_line (cat, line, error);
  g_free (line);
  return ret;
}

/**
 * dashcam_catalog_end_torn_line:
 * @cat: a #DashcamCatalog
 * @error: return location for a #GError
 *
 * Ends a last line that a power cut left without its newline, and reads it:
 * a record whole but for the newline counts from now on, rather than from
 * whenever the next record is appended (after a recovery that did not see
 * it). A writer calls this before looking at what the catalog lists.
 *
 * Returns: %TRUE on success
 */
gboolean
dashcam_catalog_end_torn_line (DashcamCatalog * cat, GError ** error)
{
  return append_line (cat, NULL, error);
}

/* ---------------------------------------------------------------------- */
/* Public API */

/**
 * dashcam_catalog_open:
 * @dir: the recording directory
 * @error: return location for a #GError
 *
 * dashcam_catalog_open_full() with %DASHCAM_DEFAULT_FILE_MODE.
 *
 * Returns: (transfer full): the catalog, or %NULL on error
 */
DashcamCatalog *
dashcam_catalog_open (const gchar * dir, GError ** error)
{
  return dashcam_catalog_open_full (dir, DASHCAM_DEFAULT_FILE_MODE, error);
}

/* Opens `.dashcam` in the directory, never through a symbolic link. */
static gboolean
open_state_dir (DashcamCatalog * cat, GError ** error)
{
  guint mode = dashcam_dir_mode_for (cat->file_mode);
  gboolean created;

  cat->dir_fd = open (cat->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cat->dir_fd < 0)
    return set_io_error (error, "open directory", cat->dir);
  created = mkdirat (cat->dir_fd, DASHCAM_STATE_DIR, mode) == 0;
  if (!created && errno != EEXIST)
    return set_io_error (error, "create directory", cat->state_dir);
  cat->state_fd = openat (cat->dir_fd, DASHCAM_STATE_DIR,
      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (cat->state_fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "\"%s\" is a symbolic link or not a directory: not keeping the "
        "catalog there (move it away)", cat->state_dir);
    return FALSE;
  }
  if (cat->state_fd < 0)
    return set_io_error (error, "open directory", cat->state_dir);
  if (created && fchmod (cat->state_fd, mode) < 0)
    return set_io_error (error, "set the mode of", cat->state_dir);
  return TRUE;
}

/**
 * dashcam_catalog_set_aside_state_dir:
 * @dir: a recording directory
 * @error: return location for a #GError
 *
 * A `.dashcam` in @dir that is a symbolic link (or not a directory), or
 * whose journal or lock file is not a regular file of its own, is not ours
 * to follow: renames it (the link itself) to `.dashcam-<microseconds>`, so
 * that the recorder can start a new catalog. Only the recorder calls this.
 *
 * Returns: (transfer full) (nullable): the new name if it was moved, %NULL
 *   otherwise (with @error set if it could not be)
 */
gchar *
dashcam_catalog_set_aside_state_dir (const gchar * dir, GError ** error)
{
  const gchar *files[] = { DASHCAM_JOURNAL_NAME, DASHCAM_RECORDER_LOCK_NAME };
  gchar *state = g_build_filename (dir, DASHCAM_STATE_DIR, NULL);
  gchar *aside = NULL;
  gboolean tampered = FALSE;
  GStatBuf st;
  guint i;

  if (g_lstat (state, &st) < 0) {
    g_free (state);
    return NULL;
  }
  tampered = !S_ISDIR (st.st_mode);
  for (i = 0; !tampered && i < G_N_ELEMENTS (files); i++) {
    gchar *path = g_build_filename (state, files[i], NULL);

    tampered = g_lstat (path, &st) == 0 && (!S_ISREG (st.st_mode)
        || st.st_nlink > 1);
    g_free (path);
  }
  if (tampered) {
    aside = g_strdup_printf ("%s-%" G_GINT64_FORMAT, state,
        g_get_real_time ());
    if (g_rename (state, aside) < 0) {
      set_io_error (error, "move aside", state);
      g_clear_pointer (&aside, g_free);
    }
  }
  g_free (state);
  return aside;
}

/**
 * dashcam_catalog_open_full:
 * @dir: the recording directory (created if missing)
 * @file_mode: permissions of the files created (0640: no world access);
 *   directories get search permission where it grants reading
 * @error: return location for a #GError
 *
 * Opens (creating it if needed) the catalog of @dir and reads it.
 *
 * Returns: (transfer full): the catalog, or %NULL on error
 */
DashcamCatalog *
dashcam_catalog_open_full (const gchar * dir, guint file_mode,
    GError ** error)
{
  DashcamCatalog *cat;
  gint fd;

  ensure_init ();
  cat = g_new0 (DashcamCatalog, 1);
  cat->dir = g_strdup (dir);
  cat->state_dir = g_build_filename (dir, DASHCAM_STATE_DIR, NULL);
  cat->journal_path = g_build_filename (cat->state_dir, DASHCAM_JOURNAL_NAME,
      NULL);
  cat->file_mode = file_mode & 0777;
  cat->dir_fd = -1;
  cat->state_fd = -1;
  cat->journal_fd = -1;
  cat->recorder_lock_fd = -1;
  cat->segments = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) segment_free);
  cat->orphans = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);

  if (!dashcam_make_dir (dir, cat->file_mode, error)
      || !open_state_dir (cat, error))
    goto fail;
  fd = open_state_file (cat, DASHCAM_JOURNAL_NAME, O_RDWR | O_APPEND, error);
  if (fd < 0 || !use_journal (cat, fd, error)
      || !dashcam_catalog_refresh (cat, error))
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
  if (cat->state_fd >= 0)
    close (cat->state_fd);
  if (cat->dir_fd >= 0)
    close (cat->dir_fd);
  g_hash_table_unref (cat->segments);
  g_hash_table_unref (cat->orphans);
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
  gint fd = open_state_file (cat, DASHCAM_RECORDER_LOCK_NAME, O_RDWR, error);

  if (fd < 0)
    return FALSE;
  if (flock (fd, LOCK_EX | LOCK_NB) < 0) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_BUSY,
        "Another recorder is writing to \"%s\"", cat->dir);
    close (fd);
    return FALSE;
  }
  cat->recorder_lock_fd = fd;
  /* the recorder owns the directory: a catalog made with another mode (or
   * by an older version) gets its own */
  fchmod (fd, cat->file_mode);
  fchmod (cat->journal_fd, cat->file_mode);
  fchmod (cat->state_fd, dashcam_dir_mode_for (cat->file_mode));
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

/**
 * dashcam_catalog_adopt:
 * @cat: a #DashcamCatalog
 * @segment: a complete segment found on disk that the catalog does not know
 *   (its records were lost with a damaged journal)
 * @error: return location for a #GError
 *
 * Records @segment as complete. A lock or upload record of it that
 * survived applies: a segment locked stays locked.
 *
 * Returns: %TRUE on success
 */
gboolean
dashcam_catalog_adopt (DashcamCatalog * cat, const DashcamSegment * segment,
    GError ** error)
{
  guint flags = GPOINTER_TO_UINT (g_hash_table_lookup (cat->orphans,
          segment->name));
  DashcamSegment seg = *segment;

  seg.locked = seg.locked || (flags & ORPHAN_LOCKED);
  seg.uploaded = seg.uploaded || (flags & ORPHAN_UPLOADED);
  return append_segment (cat, "close", &seg, error);
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
write_record_line (gint fd, const gchar * body)
{
  gchar *line = g_strdup_printf ("%08x %s\n", crc32 (body, strlen (body)),
      body);
  gboolean ok = write_all (fd, line, strlen (line));

  g_free (line);
  return ok;
}

/* lock and uploaded records whose segment is unknown survive a rewrite */
static gboolean
write_orphans (DashcamCatalog * cat, gint fd)
{
  GHashTableIter iter;
  gpointer key, value;
  gboolean ok = TRUE;

  g_hash_table_iter_init (&iter, cat->orphans);
  while (ok && g_hash_table_iter_next (&iter, &key, &value)) {
    gchar *esc = g_uri_escape_string (key, NULL, TRUE);
    gchar *body;

    if (GPOINTER_TO_UINT (value) & ORPHAN_LOCKED) {
      body = g_strdup_printf ("lock name=%s", esc);
      ok = write_record_line (fd, body);
      g_free (body);
    }
    if (ok && (GPOINTER_TO_UINT (value) & ORPHAN_UPLOADED)) {
      body = g_strdup_printf ("uploaded name=%s", esc);
      ok = write_record_line (fd, body);
      g_free (body);
    }
    g_free (esc);
  }
  return ok;
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
  return ok && write_orphans (cat, fd);
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
  gboolean ret = FALSE;

  if (cat->n_records < 64 + 4 * g_hash_table_size (cat->segments))
    return TRUE;
  if (!follow_journal (cat, error))
    return FALSE;
  if (flock (cat->journal_fd, LOCK_EX) < 0)
    return set_io_error (error, "lock journal", cat->journal_path);
  /* another process compacted or rewrote it meanwhile: nothing to do */
  if (journal_state (cat) != JOURNAL_CURRENT) {
    ret = TRUE;
    goto unlock;
  }
  if (!read_records (cat, error) || !replace_journal (cat, error))
    goto unlock;
  ret = TRUE;
  GST_INFO ("compacted %s from %u records to %u segments", cat->journal_path,
      cat->n_records, g_hash_table_size (cat->segments));

unlock:
  flock (cat->journal_fd, LOCK_UN);
  if (ret)
    ret = dashcam_catalog_refresh (cat, error);
  return ret;
}
