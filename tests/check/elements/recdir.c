/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The recording directory as hostile input: a card moved between devices,
 * a tampered or damaged journal, links planted in it. The elements must
 * never touch a file outside location, never lose what was recorded, and
 * keep their files private. */

#include "dashcamtestutil.h"
#include "dashcamcatalog.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#define SEG(i) "20261122T000000Z-" i ".ts"

static gchar *shared_dir;
static gchar *shared_ts;

/* A 5 s TS (150 frames, a keyframe every 15), made once. */
static const gchar *
test_ts (void)
{
  if (shared_ts == NULL)
    shared_ts = dc_make_ts (shared_dir, "in.ts", 150, 15,
        "speed-preset=ultrafast");
  return shared_ts;
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

/* Regular .ts files in @dir that are not links. */
static guint
count_segments (const gchar * dir)
{
  GPtrArray *files = dc_list_files (dir, ".ts");
  guint i, n = 0;

  for (i = 0; i < files->len; i++)
    if (!g_file_test (g_ptr_array_index (files, i), G_FILE_TEST_IS_SYMLINK))
      n++;
  g_ptr_array_unref (files);
  return n;
}

static gboolean
have_tools (void)
{
  return dc_have_elements ("videotestsrc", "x264enc", "h264parse",
      "mpegtsmux", "looprecsink", NULL) && dc_have_ffmpeg ();
}

/* Records the test TS into @dir in 1 s segments. */
static DcRunResult *
record (const gchar * dir, const gchar * props)
{
  gchar *desc = g_strdup_printf ("filesrc location=%s ! looprecsink "
      "location=%s max-size-time=1000000000 %s", test_ts (), dir,
      props ? props : "");
  DcRunResult *r = dc_run_launch (desc, 120);

  g_free (desc);
  return r;
}

static gchar *
file_contents (const gchar * path, gsize * len)
{
  gchar *data = NULL;

  fail_unless (g_file_get_contents (path, &data, len, NULL), "cannot read %s",
      path);
  return data;
}

/* A file outside the recording directory that nothing may change: a copy
 * of the test TS, so that following a link to it would have effects
 * (recovery would keep it, the uploader would send it). */
typedef struct
{
  gchar *dir;
  gchar *path;
  gchar *data;
  gsize len;
} Target;

static Target *
target_new (void)
{
  Target *t = g_new0 (Target, 1);
  gsize len;
  gchar *ts = file_contents (test_ts (), &len);

  t->dir = dc_make_tmpdir ();
  t->path = g_build_filename (t->dir, "passwd", NULL);
  /* torn at its end, so that a recovery through a link would cut it */
  t->len = len - 100;
  t->data = g_memdup2 (ts, t->len);
  fail_unless (g_file_set_contents (t->path, t->data, t->len, NULL));
  g_free (ts);
  return t;
}

static void
target_check_and_free (Target * t)
{
  gsize len;
  gchar *now = file_contents (t->path, &len);

  fail_unless_equals_uint64 (len, t->len);
  fail_unless (memcmp (now, t->data, len) == 0, "%s changed", t->path);
  g_free (now);
  dc_rm_rf (t->dir);
  g_free (t->dir);
  g_free (t->path);
  g_free (t->data);
  g_free (t);
}

static void
plant_link (const gchar * dir, const gchar * name, const gchar * to)
{
  gchar *path = g_build_filename (dir, name, NULL);

  g_unlink (path);
  fail_unless_equals_int (symlink (to, path), 0);
  g_free (path);
}

static gboolean
is_link (const gchar * dir, const gchar * name)
{
  gchar *path = g_build_filename (dir, name, NULL);
  gboolean ret = g_file_test (path, G_FILE_TEST_IS_SYMLINK);

  g_free (path);
  return ret;
}

static DashcamCatalog *
open_catalog (const gchar * dir)
{
  GError *err = NULL;
  DashcamCatalog *cat = dashcam_catalog_open (dir, &err);

  fail_unless (cat != NULL, "%s", err ? err->message : "");
  return cat;
}

static void
catalog_add (DashcamCatalog * cat, const gchar * name, guint64 index,
    guint64 size, gboolean complete)
{
  DashcamSegment s = { 0, };
  GError *err = NULL;

  s.name = (gchar *) name;
  s.index = index;
  s.run_id = (gchar *) "earlier";
  s.running_time = GST_CLOCK_TIME_NONE;
  s.duration = GST_SECOND;
  s.size = size;
  fail_unless (dashcam_catalog_add_open (cat, &s, &err));
  if (complete)
    fail_unless (dashcam_catalog_add_close (cat, &s, &err));
  g_assert_no_error (err);
}

/* Appends a record with a valid CRC, as a tampered journal would hold. */
static void
append_forged (const gchar * dir, const gchar * body)
{
  gchar *path = g_build_filename (dir, ".dashcam", "journal", NULL);
  gchar *line = g_strdup_printf ("%08x %s\n", crc32 (body, strlen (body)),
      body);
  FILE *f = fopen (path, "a");

  fail_unless (f != NULL);
  fputs (line, f);
  fclose (f);
  g_free (line);
  g_free (path);
}

/* 3a. Recovery (truncate): a partial file that is a link, a complete
 * segment replaced by a link, a link named like ours that the catalog does
 * not know, a journal naming ../..: the target stays byte-identical, each
 * is skipped with a warning naming it, recording goes on. */
GST_START_TEST (test_links_at_recovery)
{
  gchar *dir = dc_make_tmpdir ();
  gchar *first_name, *forged;
  DashcamCatalog *cat;
  DcRunResult *r;
  GPtrArray *segs;
  Target *t;

  if (!have_tools ())
    goto out;
  t = target_new ();
  r = record (dir, NULL);
  dc_assert_clean_run (r);
  dc_run_result_free (r);
  segs = dc_list_files (dir, ".ts");
  fail_unless_equals_int (segs->len, 5);
  fail_unless_equals_int (count_segments (dir), 5);
  first_name = g_path_get_basename (g_ptr_array_index (segs, 0));
  g_ptr_array_unref (segs);

  cat = open_catalog (dir);
  catalog_add (cat, SEG ("900001"), 900001, 1000, FALSE);
  dashcam_catalog_free (cat);
  plant_link (dir, SEG ("900001") ".part", t->path);
  plant_link (dir, first_name, t->path);
  plant_link (dir, SEG ("900002") ".ts", t->path);
  plant_link (dir, SEG ("900003") ".part", t->path);
  forged = g_strdup_printf ("open name=..%%2F..%%2F..%s index=900004",
      t->path);
  append_forged (dir, forged);
  g_free (forged);

  r = record (dir, NULL);
  dc_assert_clean_run (r);
  fail_unless (dc_warnings_contain (r, SEG ("900001") ".part"));
  fail_unless (dc_warnings_contain (r, first_name));
  fail_unless (dc_warnings_contain (r, SEG ("900002") ".ts"));
  fail_unless (dc_warnings_contain (r, SEG ("900003") ".part"));
  fail_unless (dc_warnings_contain (r, "symbolic link"));
  fail_unless (dc_warnings_contain (r, "corrupt"));
  fail_unless_equals_int (dc_count_messages (r,
          "looprecsink-segment-recovered"), 0);
  dc_run_result_free (r);

  /* left as they were, and still not followed at the next start */
  fail_unless (is_link (dir, SEG ("900001") ".part"));
  fail_unless (is_link (dir, first_name));
  fail_unless (is_link (dir, SEG ("900002") ".ts"));
  fail_unless_equals_int (count_segments (dir), 4 + 5);
  r = record (dir, NULL);
  dc_assert_clean_run (r);
  fail_unless (dc_warnings_contain (r, first_name));
  dc_run_result_free (r);
  fail_unless_equals_int (count_segments (dir), 4 + 5 + 5);

  target_check_and_free (t);
  g_free (first_name);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* 3b. A state directory that is a link is not followed: the recorder
 * moves the link aside with a warning naming it, adopts the segments into a
 * new catalog and records on; nothing is created or changed where the link
 * pointed. The uploader, a reader, refuses it. */
GST_START_TEST (test_state_dir_link)
{
  gchar *dir = dc_make_tmpdir (), *elsewhere = dc_make_tmpdir ();
  gchar *state = g_build_filename (dir, ".dashcam", NULL);
  gchar *journal = g_build_filename (elsewhere, "journal", NULL);
  gchar *before, *after;
  DcRunResult *r;
  GDir *d;
  guint n;

  if (!have_tools ())
    goto out;
  r = record (dir, NULL);
  dc_assert_clean_run (r);
  dc_run_result_free (r);
  /* the real catalog goes elsewhere, a link takes its place */
  dc_rm_rf (elsewhere);
  fail_unless_equals_int (g_rename (state, elsewhere), 0);
  fail_unless_equals_int (symlink (elsewhere, state), 0);
  fail_unless (g_file_get_contents (journal, &before, NULL, NULL));

  if (dc_have_elements ("srtuploadsink", NULL)) {
    gchar *desc = g_strdup_printf ("filesrc location=%s ! srtuploadsink "
        "uri=srt://127.0.0.1:9 backlog-location=%s", test_ts (), dir);

    r = dc_run_launch (desc, 60);
    fail_unless (dc_warnings_contain (r, ".dashcam"));
    dc_run_result_free (r);
    g_free (desc);
  }

  r = record (dir, "max-files=3");
  dc_assert_clean_run (r);
  fail_unless (dc_warnings_contain (r, ".dashcam"));
  fail_unless (dc_warnings_contain (r, "symbolic link"));
  fail_unless_equals_int (dc_count_messages (r,
          "looprecsink-segment-recovered"), 5);
  dc_run_result_free (r);
  fail_unless_equals_int (count_segments (dir), 3);
  fail_unless (g_file_test (state, G_FILE_TEST_IS_DIR));
  fail_if (g_file_test (state, G_FILE_TEST_IS_SYMLINK));

  fail_unless (g_file_get_contents (journal, &after, NULL, NULL));
  fail_unless_equals_string (after, before);
  d = g_dir_open (elsewhere, 0, NULL);
  for (n = 0; g_dir_read_name (d); n++);
  g_dir_close (d);
  fail_unless_equals_int (n, 2);        /* journal, recorder.lock */

  /* a journal that is a link to a file outside, the same */
  {
    gchar *inside = g_build_filename (state, "journal", NULL);
    Target *t = target_new ();

    fail_unless_equals_int (g_unlink (inside), 0);
    fail_unless_equals_int (symlink (t->path, inside), 0);
    r = record (dir, "max-files=3");
    dc_assert_clean_run (r);
    fail_unless (dc_warnings_contain (r, ".dashcam"));
    fail_unless_equals_int (dc_count_messages (r,
            "looprecsink-segment-recovered"), 3);
    dc_run_result_free (r);
    fail_unless_equals_int (count_segments (dir), 3);
    target_check_and_free (t);
    g_free (inside);
  }
  g_free (after);
  g_free (before);
out:
  dc_rm_rf (elsewhere);
  dc_rm_rf (dir);
  g_free (journal);
  g_free (state);
  g_free (elsewhere);
  g_free (dir);
}

GST_END_TEST;

typedef struct
{
  gchar *dir;
  gchar *target;
  guint64 index;
  gboolean done;
} Planter;

/* Sync handler: replaces the segment just closed by a link before
 * retention (which runs right after the message, on the same thread)
 * gets to it at the next close. */
static GstBusSyncReply
plant_on_close (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  Planter *p = user_data;
  const GstStructure *s = gst_message_get_structure (msg);
  guint64 index;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT && s && !p->done
      && gst_structure_has_name (s, "looprecsink-segment-closed")
      && gst_structure_get_uint64 (s, "index", &index) && index == p->index) {
    gchar *path = g_strdup (gst_structure_get_string (s, "location"));

    fail_unless_equals_int (g_unlink (path), 0);
    fail_unless_equals_int (symlink (p->target, path), 0);
    g_free (path);
    p->done = TRUE;
  }
  return GST_BUS_PASS;
}

/* 3c. Retention (unlink) meets a link planted under a segment's name while
 * recording: it is not deleted, not followed, reported and forgotten, and
 * retention goes on with the others. */
GST_START_TEST (test_link_at_retention)
{
  gchar *dir = dc_make_tmpdir (), *desc;
  Planter p = { 0, };
  GstElement *pipeline;
  GstBus *bus;
  DcRunResult *r;
  Target *t;

  if (!have_tools ())
    goto out;
  t = target_new ();
  p.dir = dir;
  p.target = t->path;
  p.index = 0;
  desc = g_strdup_printf ("filesrc location=%s ! looprecsink location=%s "
      "max-size-time=1000000000 max-files=1", test_ts (), dir);
  pipeline = gst_parse_launch (desc, NULL);
  bus = gst_element_get_bus (pipeline);
  gst_bus_set_sync_handler (bus, plant_on_close, &p, NULL);
  r = dc_run_pipeline (pipeline, 120);
  dc_assert_clean_run (r);
  fail_unless (p.done);
  fail_unless (dc_warnings_contain (r, "symbolic link"));
  /* the other old segments went */
  fail_unless (dc_count_messages (r, "looprecsink-segment-deleted") >= 3);
  fail_unless_equals_int (count_segments (dir), 1);
  dc_run_result_free (r);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);

  /* the link is still there, the catalog forgot it */
  {
    DashcamCatalog *cat = open_catalog (dir);
    GPtrArray *list = dashcam_catalog_list (cat);
    guint i, links = 0;
    GDir *d = g_dir_open (dir, 0, NULL);
    const gchar *e;

    while ((e = g_dir_read_name (d)))
      if (is_link (dir, e)) {
        links++;
        fail_unless (dashcam_catalog_lookup (cat, e) == NULL);
      }
    g_dir_close (d);
    fail_unless_equals_int (links, 1);
    for (i = 0; i < list->len; i++)
      fail_unless (!is_link (dir,
              ((DashcamSegment *) g_ptr_array_index (list, i))->name));
    g_ptr_array_unref (list);
    dashcam_catalog_free (cat);
  }
  target_check_and_free (t);
  g_free (desc);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* ---- the upload path ---------------------------------------------------- */

/* 3d. Upload: a backlog segment whose file is a link (symbolic or hard) to
 * a file outside is not sent (nor read), with a warning naming it; a real
 * one next to it is uploaded whole. */
GST_START_TEST (test_link_at_upload)
{
  gchar *dir = dc_make_tmpdir (), *desc, *good, *sent_good, *sent_bad, *hard;
  gchar *data, *sent;
  gsize len, sent_len;
  DashcamCatalog *cat;
  DcRunResult *r;
  DcIngest *ing;
  Target *t;
  gint64 deadline;

  if (!have_tools () || !dc_have_elements ("srtuploadsink", NULL)
      || !(ing = dc_ingest_start ()))
    goto out;
  t = target_new ();
  cat = open_catalog (dir);
  data = file_contents (test_ts (), &len);
  catalog_add (cat, SEG ("000001"), 1, len, TRUE);
  catalog_add (cat, SEG ("000002"), 2, len, TRUE);
  catalog_add (cat, SEG ("000003"), 3, len, TRUE);
  dashcam_catalog_free (cat);
  good = g_build_filename (dir, SEG ("000001"), NULL);
  fail_unless (g_file_set_contents (good, data, len, NULL));
  plant_link (dir, SEG ("000002"), t->path);
  hard = g_build_filename (dir, SEG ("000003"), NULL);
  fail_unless_equals_int (link (t->path, hard), 0);

  desc = g_strdup_printf ("videotestsrc is-live=true num-buffers=120 ! "
      "video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! "
      "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! "
      "h264parse ! mpegtsmux ! srtuploadsink uri=srt://127.0.0.1:%u "
      "device-id=car backlog-location=%s backlog-policy=all", ing->port, dir);
  r = dc_run_launch (desc, 60);
  fail_unless (r->errors->len == 0, "%s",
      r->errors->len ? (gchar *) g_ptr_array_index (r->errors, 0) : "");
  fail_unless (dc_warnings_contain (r, SEG ("000002")));
  fail_unless (dc_warnings_contain (r, "symbolic link"));
  fail_unless (dc_warnings_contain (r, SEG ("000003")));
  fail_unless (dc_warnings_contain (r, "hard links"));

  /* the real one arrived whole; the link's target never went out */
  sent_good = g_build_filename (ing->root, "car", "20261122T000000Z-000001.ts",
      NULL);
  sent_bad = g_build_filename (ing->root, "car", "20261122T000000Z-000002.ts",
      NULL);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (dc_file_size (sent_good) < len && g_get_monotonic_time () < deadline)
    g_usleep (50 * 1000);
  sent = file_contents (sent_good, &sent_len);
  fail_unless_equals_uint64 (sent_len, len);
  fail_unless (memcmp (sent, data, len) == 0);
  fail_if (g_file_test (sent_bad, G_FILE_TEST_EXISTS));
  g_free (sent_bad);
  sent_bad = g_build_filename (ing->root, "car",
      "20261122T000000Z-000003.ts", NULL);
  fail_if (g_file_test (sent_bad, G_FILE_TEST_EXISTS));
  fail_unless (is_link (dir, SEG ("000002")));

  g_free (sent);
  g_free (sent_bad);
  g_free (sent_good);
  dc_run_result_free (r);
  g_free (desc);
  g_free (good);
  g_free (hard);
  g_free (data);
  target_check_and_free (t);
  dc_ingest_stop (ing);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* ---- a damaged journal loses no footage ---------------------------------- */

typedef enum
{
  DAMAGE_TRUNCATE,
  DAMAGE_FLIP,
  DAMAGE_DELETE,
} Damage;

static gchar *
journal_file (const gchar * dir)
{
  return g_build_filename (dir, ".dashcam", "journal", NULL);
}

/* Records 5 segments, locks the second one; returns the lock record. */
static gchar *
record_and_lock (const gchar * dir, gchar ** locked_name)
{
  DcRunResult *r = record (dir, NULL);
  DashcamCatalog *cat;
  GPtrArray *list;
  GError *err = NULL;
  gchar *journal, *data, *line, *lock;
  gsize len;

  dc_assert_clean_run (r);
  dc_run_result_free (r);
  cat = open_catalog (dir);
  list = dashcam_catalog_list (cat);
  fail_unless_equals_int (list->len, 5);
  *locked_name = g_strdup (((DashcamSegment *) g_ptr_array_index (list,
              1))->name);
  g_ptr_array_unref (list);
  fail_unless (dashcam_catalog_set_locked (cat, *locked_name, TRUE, &err));
  dashcam_catalog_free (cat);

  journal = journal_file (dir);
  data = file_contents (journal, &len);
  lock = g_strdup_printf (" lock name=%s\n", *locked_name);
  line = strstr (data, lock);
  fail_unless (line != NULL);
  while (line > data && line[-1] != '\n')
    line--;
  line = g_strndup (line, strchr (line, '\n') + 1 - line);
  g_free (lock);
  g_free (data);
  g_free (journal);
  return line;
}

/* Damages the journal; returns whether the lock record survived whole. */
static gboolean
damage_journal (const gchar * dir, Damage how, GRand * rand,
    const gchar * lock_line)
{
  gchar *journal = journal_file (dir);
  gchar *data;
  gsize len;
  gboolean survived = FALSE;
  guint i;

  data = file_contents (journal, &len);
  switch (how) {
    case DAMAGE_TRUNCATE:
      len = g_rand_int_range (rand, 0, len);
      break;
    case DAMAGE_FLIP:
      for (i = 0; i < 6; i++)
        data[g_rand_int_range (rand, 0, len)] ^= 1 << g_rand_int_range (rand,
            0, 8);
      break;
    case DAMAGE_DELETE:
      len = 0;
      break;
  }
  data[len] = '\0';
  survived = strstr (data, lock_line) != NULL;
  if (how == DAMAGE_DELETE) {
    fail_unless_equals_int (g_unlink (journal), 0);
  } else {
    fail_unless (g_file_set_contents (journal, data, len, NULL));
  }
  g_free (data);
  g_free (journal);
  return survived;
}

/* After a run with max-files=3: every segment file on disk is in the
 * catalog (none became foreign), 3 unlocked ones are left, the locked one
 * is there if its lock survived, every segment plays. */
static void
check_directory (const gchar * dir, const gchar * locked_name,
    gboolean lock_survived, DcRunResult * r, GPtrArray * before)
{
  DashcamCatalog *cat = open_catalog (dir);
  GPtrArray *files = dc_list_files (dir, ".ts");
  guint i, unlocked = 0;

  fail_unless_equals_int (dc_list_files (dir, ".part")->len, 0);
  for (i = 0; i < files->len; i++) {
    const gchar *path = g_ptr_array_index (files, i);
    gchar *name = g_path_get_basename (path);
    DashcamSegment *seg = dashcam_catalog_lookup (cat, name);

    fail_unless (seg != NULL, "%s is not in the catalog", name);
    fail_unless (seg->complete);
    if (!seg->locked)
      unlocked++;
    fail_unless (dc_ffprobe_starts_with_keyframe (path), "%s", name);
    g_free (name);
  }
  fail_unless_equals_int (unlocked, 3);
  if (lock_survived) {
    DashcamSegment *seg = dashcam_catalog_lookup (cat, locked_name);

    fail_unless (seg != NULL && seg->locked, "%s lost its lock", locked_name);
  }
  /* what went, went by retention and was reported */
  for (i = 0; i < before->len; i++) {
    gchar *path = g_ptr_array_index (before, i);
    gboolean reported = FALSE;
    guint n;

    if (g_file_test (path, G_FILE_TEST_EXISTS))
      continue;
    for (n = 0; n < r->elements->len; n++) {
      GstStructure *s = g_ptr_array_index (r->elements, n);

      if (gst_structure_has_name (s, "looprecsink-segment-deleted")
          && !g_strcmp0 (gst_structure_get_string (s, "location"), path)
          && !g_strcmp0 (gst_structure_get_string (s, "reason"), "max-files"))
        reported = TRUE;
    }
    fail_unless (reported, "%s went without a retention message", path);
  }
  g_ptr_array_unref (files);
  dashcam_catalog_free (cat);
}

static void
damage_and_record (Damage how, guint seed)
{
  gchar *dir = dc_make_tmpdir ();
  gchar *locked_name, *lock_line;
  GRand *rand = g_rand_new_with_seed (seed);
  GPtrArray *before;
  gboolean survived;
  DcRunResult *r;

  lock_line = record_and_lock (dir, &locked_name);
  before = dc_list_files (dir, ".ts");
  survived = damage_journal (dir, how, rand, lock_line);
  /* an hour later: new names, the old ones are not overwritten */
  g_setenv ("GST_DASHCAM_CLOCK_OFFSET", "3600", TRUE);
  r = record (dir, "max-files=3");
  g_unsetenv ("GST_DASHCAM_CLOCK_OFFSET");
  dc_assert_clean_run (r);
  check_directory (dir, locked_name, survived, r, before);
  dc_run_result_free (r);

  g_ptr_array_unref (before);
  g_rand_free (rand);
  g_free (lock_line);
  g_free (locked_name);
  dc_rm_rf (dir);
  g_free (dir);
}

/* 4a. The journal cut at random points: what it lost is adopted again,
 * retention works, a lock whose record survived holds. */
GST_START_TEST (test_journal_truncated)
{
  guint seed;

  if (!have_tools ())
    return;
  for (seed = 1; seed <= 4; seed++)
    damage_and_record (DAMAGE_TRUNCATE, seed);
}

GST_END_TEST;

/* 4b. Bytes flipped in the journal. */
GST_START_TEST (test_journal_flipped)
{
  guint seed;

  if (!have_tools ())
    return;
  for (seed = 1; seed <= 4; seed++)
    damage_and_record (DAMAGE_FLIP, seed);
}

GST_END_TEST;

/* 4c. The journal deleted. */
GST_START_TEST (test_journal_deleted)
{
  if (!have_tools ())
    return;
  damage_and_record (DAMAGE_DELETE, 0);
}

GST_END_TEST;

static GstBusSyncReply
delete_journal_on_close (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  Planter *p = user_data;
  const GstStructure *s = gst_message_get_structure (msg);
  guint64 index;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT && s && !p->done
      && gst_structure_has_name (s, "looprecsink-segment-closed")
      && gst_structure_get_uint64 (s, "index", &index) && index == p->index) {
    gchar *journal = journal_file (p->dir);

    fail_unless_equals_int (g_unlink (journal), 0);
    g_free (journal);
    p->done = TRUE;
  }
  return GST_BUS_PASS;
}

/* 4d. The journal deleted while recording: it is written again from what
 * the recorder knew, retention goes on deleting the old segments. */
GST_START_TEST (test_journal_deleted_while_recording)
{
  gchar *dir = dc_make_tmpdir (), *desc;
  Planter p = { 0, };
  GstElement *pipeline;
  GstBus *bus;
  DcRunResult *r;
  GPtrArray *before;
  DashcamCatalog *cat;
  GPtrArray *list;

  if (!have_tools ())
    goto out;
  r = record (dir, NULL);
  dc_assert_clean_run (r);
  dc_run_result_free (r);
  before = dc_list_files (dir, ".ts");

  p.dir = dir;
  p.index = 6;
  desc = g_strdup_printf ("filesrc location=%s ! looprecsink location=%s "
      "max-size-time=1000000000 max-files=3", test_ts (), dir);
  pipeline = gst_parse_launch (desc, NULL);
  bus = gst_element_get_bus (pipeline);
  gst_bus_set_sync_handler (bus, delete_journal_on_close, &p, NULL);
  g_setenv ("GST_DASHCAM_CLOCK_OFFSET", "3600", TRUE);
  r = dc_run_pipeline (pipeline, 120);
  g_unsetenv ("GST_DASHCAM_CLOCK_OFFSET");
  dc_assert_clean_run (r);
  fail_unless (p.done);
  check_directory (dir, NULL, FALSE, r, before);
  /* all 5 segments of the first run went, by retention */
  fail_unless_equals_int (dc_count_messages (r, "looprecsink-segment-deleted"),
      7);
  cat = open_catalog (dir);
  list = dashcam_catalog_list (cat);
  fail_unless_equals_int (list->len, 3);
  g_ptr_array_unref (list);
  dashcam_catalog_free (cat);

  dc_run_result_free (r);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_ptr_array_unref (before);
  g_free (desc);
out:
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

/* 4e. A file named like ours that does not play is left alone, and a new
 * segment never takes its name (a journal lost in the same second as the
 * restart made main overwrite the old segments). */
GST_START_TEST (test_existing_name_not_replaced)
{
  gchar *dir = dc_make_tmpdir ();
  gchar *journal = journal_file (dir);
  gchar *junk = g_build_filename (dir, "000005.ts", NULL);
  gchar *text = NULL, *first = g_build_filename (dir, "000000.ts", NULL);
  gchar *data, *again;
  gsize len, len2;
  DcRunResult *r;

  if (!have_tools ())
    goto out;
  r = record (dir, "filename-format={index}.ts");
  dc_assert_clean_run (r);
  dc_run_result_free (r);
  data = file_contents (first, &len);
  fail_unless_equals_int (g_unlink (journal), 0);
  fail_unless (g_file_set_contents (junk, "not video", -1, NULL));

  r = record (dir, "filename-format={index}.ts");
  dc_assert_clean_run (r);
  fail_unless (dc_warnings_contain (r, "000005.ts"));
  fail_unless_equals_int (dc_count_messages (r,
          "looprecsink-segment-recovered"), 5);
  fail_unless_equals_string (gst_structure_get_string (dc_find_message (r,
              "looprecsink-segment-recovered", 0), "reason"), "adopted");
  dc_run_result_free (r);
  fail_unless (g_file_get_contents (junk, &text, NULL, NULL));
  fail_unless_equals_string (text, "not video");
  again = file_contents (first, &len2);
  fail_unless_equals_uint64 (len2, len);
  fail_unless (memcmp (again, data, len) == 0);
  /* 5 old, 5 new, the junk */
  fail_unless_equals_int (count_segments (dir), 11);
  g_free (again);
  g_free (data);
out:
  dc_rm_rf (dir);
  g_free (text);
  g_free (first);
  g_free (junk);
  g_free (journal);
  g_free (dir);
}

GST_END_TEST;

/* ---- privacy ------------------------------------------------------------- */

static guint
mode_of (const gchar * dir, const gchar * name)
{
  gchar *path = name ? g_build_filename (dir, name, NULL) : g_strdup (dir);
  GStatBuf st;

  fail_unless_equals_int (g_lstat (path, &st), 0);
  g_free (path);
  return st.st_mode & 07777;
}

static void
check_modes (const gchar * dir, guint file_mode, guint dir_mode)
{
  GPtrArray *segs = dc_list_files (dir, ".ts");
  guint i;

  fail_unless (segs->len >= 5);
  fail_unless_equals_int (mode_of (dir, NULL), dir_mode);
  fail_unless_equals_int (mode_of (dir, ".dashcam"), dir_mode);
  fail_unless_equals_int (mode_of (dir, ".dashcam/journal"), file_mode);
  fail_unless_equals_int (mode_of (dir, ".dashcam/recorder.lock"), file_mode);
  for (i = 0; i < segs->len; i++)
    fail_unless_equals_int (mode_of (g_ptr_array_index (segs, i), NULL),
        file_mode);
  g_ptr_array_unref (segs);
}

/* 9. Segments, journal and directories have no world access by default,
 * whatever the umask; file-mode changes it; recovered and adopted files
 * get it too. */
GST_START_TEST (test_file_mode)
{
  gchar *top = dc_make_tmpdir ();
  gchar *dir = g_build_filename (top, "rec", NULL);
  gchar *dir2 = g_build_filename (top, "rec2", NULL);
  gchar *data, *part, *lost;
  DashcamCatalog *cat;
  DcRunResult *r;
  gsize len;

  if (!have_tools ())
    goto out;
  umask (0);
  r = record (dir, NULL);
  dc_assert_clean_run (r);
  dc_run_result_free (r);
  check_modes (dir, 0640, 0750);

  /* segments an older version left world-readable are made private */
  {
    GPtrArray *segs = dc_list_files (dir, ".ts");
    guint i;

    for (i = 0; i < segs->len; i++)
      fail_unless_equals_int (g_chmod (g_ptr_array_index (segs, i), 0644), 0);
    g_ptr_array_unref (segs);
  }

  /* a power cut's partial file and a file the journal lost, both made
   * world-readable: what is recovered or adopted is ours, and private */
  data = file_contents (test_ts (), &len);
  cat = open_catalog (dir);
  catalog_add (cat, SEG ("900001"), 900001, len, FALSE);
  dashcam_catalog_free (cat);
  part = g_build_filename (dir, SEG ("900001") ".part", NULL);
  lost = g_build_filename (dir, SEG ("900002"), NULL);
  fail_unless (g_file_set_contents (part, data, len - 1000, NULL));
  fail_unless (g_file_set_contents (lost, data, len, NULL));
  fail_unless_equals_int (g_chmod (part, 0666), 0);
  fail_unless_equals_int (g_chmod (lost, 0666), 0);
  r = record (dir, NULL);
  dc_assert_clean_run (r);
  fail_unless_equals_int (dc_count_messages (r,
          "looprecsink-segment-recovered"), 2);
  dc_run_result_free (r);
  fail_unless_equals_int (mode_of (dir, SEG ("900001")), 0640);
  fail_unless_equals_int (mode_of (dir, SEG ("900002")), 0640);
  check_modes (dir, 0640, 0750);

  r = record (dir2, "file-mode=0600");
  dc_assert_clean_run (r);
  dc_run_result_free (r);
  check_modes (dir2, 0600, 0700);

  g_free (lost);
  g_free (part);
  g_free (data);
out:
  dc_rm_rf (top);
  g_free (dir2);
  g_free (dir);
  g_free (top);
}

GST_END_TEST;

static Suite *
recdir_suite (void)
{
  Suite *s = suite_create ("recdir");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_links_at_recovery);
  tcase_add_test (tc, test_state_dir_link);
  tcase_add_test (tc, test_link_at_retention);
  tcase_add_test (tc, test_link_at_upload);
  tcase_add_test (tc, test_journal_truncated);
  tcase_add_test (tc, test_journal_flipped);
  tcase_add_test (tc, test_journal_deleted);
  tcase_add_test (tc, test_journal_deleted_while_recording);
  tcase_add_test (tc, test_existing_name_not_replaced);
  tcase_add_test (tc, test_file_mode);
  return s;
}

int
main (int argc, char **argv)
{
  Suite *s;
  int ret;

  gst_check_init (&argc, &argv);
  shared_dir = dc_make_tmpdir ();
  s = recdir_suite ();
  ret = gst_check_run_suite (s, "recdir", __FILE__);
  dc_rm_rf (shared_dir);
  g_free (shared_dir);
  return ret;
}
