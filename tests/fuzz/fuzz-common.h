/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Helpers shared by the libFuzzer harnesses: a private scratch directory
 * (on tmpfs when there is one, since the catalog fsyncs every record),
 * files written from fuzz input, and journal lines with their CRC fixed
 * so that the fuzzer gets past the checksum into the record parser.
 *
 * A broken invariant aborts through FUZZ_CHECK: libFuzzer then saves the
 * input as a crash reproducer. */

#ifndef __DASHCAM_FUZZ_COMMON_H__
#define __DASHCAM_FUZZ_COMMON_H__

#include <glib.h>
#include <glib/gstdio.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, ...) \
  G_STMT_START { \
    if (G_UNLIKELY (!(cond))) { \
      fprintf (stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, \
          #cond); \
      fprintf (stderr, __VA_ARGS__); \
      fputc ('\n', stderr); \
      abort (); \
    } \
  } G_STMT_END

/* the journal's CRC-32 (IEEE 802.3) */
static inline guint32
fuzz_crc32 (const gchar * data, gsize len)
{
  guint32 c = 0xffffffffu;
  gsize i;
  guint k;

  for (i = 0; i < len; i++) {
    c ^= (guint8) data[i];
    for (k = 0; k < 8; k++)
      c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xffffffffu;
}

/* Rewrites the checksum of every complete line shaped like a record
 * ("XXXXXXXX body\n") in place. A torn last line keeps its own: a writer
 * appending later completes it, and it must stay corrupt then. */
static inline void
fuzz_fix_journal_crcs (gchar * data, gsize len)
{
  gsize start = 0, i;

  for (i = 0; i < len; i++) {
    if (data[i] != '\n')
      continue;
    if (i - start >= 10 && data[start + 8] == ' ') {
      gchar hex[9];

      g_snprintf (hex, sizeof (hex), "%08x",
          fuzz_crc32 (data + start + 9, i - start - 9));
      memcpy (data + start, hex, 8);
    }
    start = i + 1;
  }
}

static inline void
fuzz_rm_rf (const gchar * path)
{
  GDir *dir = g_dir_open (path, 0, NULL);

  if (dir) {
    const gchar *entry;

    while ((entry = g_dir_read_name (dir))) {
      gchar *child = g_build_filename (path, entry, NULL);

      fuzz_rm_rf (child);
      g_free (child);
    }
    g_dir_close (dir);
  }
  g_remove (path);
}

/* A scratch directory of this process, made once, removed at exit (not
 * after a crash: scripts/fuzz.sh points DASHCAM_FUZZ_SCRATCH to a
 * directory of its own and removes that). */
static gchar *fuzz_scratch_root;

static void
fuzz_scratch_cleanup (void)
{
  if (fuzz_scratch_root)
    fuzz_rm_rf (fuzz_scratch_root);
}

static inline const gchar *
fuzz_scratch (void)
{
  if (fuzz_scratch_root == NULL) {
    const gchar *base = g_getenv ("DASHCAM_FUZZ_SCRATCH");

    if (base == NULL)
      base = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm" :
          g_get_tmp_dir ();

    fuzz_scratch_root = g_build_filename (base, "dashcam-fuzz-XXXXXX", NULL);
    if (g_mkdtemp (fuzz_scratch_root) == NULL) {
      perror ("mkdtemp");
      abort ();
    }
    atexit (fuzz_scratch_cleanup);
  }
  return fuzz_scratch_root;
}

/* An empty directory @name inside the scratch directory (emptied first). */
static inline gchar *
fuzz_fresh_dir (const gchar * name)
{
  gchar *dir = g_build_filename (fuzz_scratch (), name, NULL);

  fuzz_rm_rf (dir);
  if (g_mkdir_with_parents (dir, 0700) < 0) {
    perror ("mkdir");
    abort ();
  }
  return dir;
}

static inline void
fuzz_write_file (const gchar * path, const void *data, gsize len)
{
  FILE *f = fopen (path, "wb");

  if (f == NULL || (len > 0 && fwrite (data, 1, len, f) != len)) {
    perror (path);
    abort ();
  }
  fclose (f);
}

/* Splits @data at every @sep into a GPtrArray of GBytes. */
static inline GPtrArray *
fuzz_split (const guint8 * data, gsize len, const gchar * sep)
{
  GPtrArray *parts = g_ptr_array_new_with_free_func (
      (GDestroyNotify) g_bytes_unref);
  gsize sep_len = strlen (sep), start = 0;

  for (;;) {
    const guint8 *hit = start <= len ?
        memmem (data + start, len - start, sep, sep_len) : NULL;
    gsize end = hit ? (gsize) (hit - data) : len;

    g_ptr_array_add (parts, g_bytes_new (data + start, end - start));
    if (hit == NULL)
      break;
    start = end + sep_len;
  }
  return parts;
}

#endif /* __DASHCAM_FUZZ_COMMON_H__ */
