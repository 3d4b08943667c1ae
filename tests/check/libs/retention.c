/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Loop retention: which segments go, in which order, and why. */

#include <gst/check/gstcheck.h>

#include <stdlib.h>

#include "dashcamretention.h"

static void
segment_free (DashcamSegment * s)
{
  g_free (s->name);
  g_free (s->run_id);
  g_free (s);
}

/* Segments 0..n-1, oldest first, complete, unlocked, never uploaded, of
 * @size bytes each. */
static GPtrArray *
make_segments (guint n, guint64 size)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify)
      segment_free);
  guint i;

  for (i = 0; i < n; i++) {
    DashcamSegment *s = g_new0 (DashcamSegment, 1);

    s->name = g_strdup_printf ("seg-%03u.ts", i);
    s->index = 100 + i;
    s->run_id = g_strdup ("run");
    s->running_time = i * 60 * GST_SECOND;
    s->duration = 60 * GST_SECOND;
    s->size = size;
    s->wall_time = G_GINT64_CONSTANT (1795000000000000) + i * 60 *
        G_USEC_PER_SEC;
    s->complete = TRUE;
    g_ptr_array_add (list, s);
  }
  return list;
}

#define SEG(list, i) ((DashcamSegment *) g_ptr_array_index ((list), (i)))

/* Checks that @actions are exactly @spec: a string of "<d|u><segment
 * number>" words, e.g. "u0 d0 d3" (unlock segment 0, delete it, delete
 * segment 3), all with @reason except the words prefixed with '!' which
 * have @other_reason. */
static void
check_actions (GArray * actions, GPtrArray * list, const gchar * spec,
    DashcamRetentionReason reason, DashcamRetentionReason other_reason)
{
  gchar **words = g_strsplit (spec, " ", -1);
  guint n = g_strv_length (words), i;

  if (*spec == '\0')
    n = 0;
  fail_unless_equals_int (actions->len, n);
  for (i = 0; i < n; i++) {
    DashcamRetentionAction *a = &g_array_index (actions,
        DashcamRetentionAction, i);
    const gchar *w = words[i];
    DashcamRetentionReason want = reason;

    if (*w == '!') {
      want = other_reason;
      w++;
    }
    fail_unless (a->segment == SEG (list, atoi (w + 1)),
        "action %u (%s) is about %s", i, words[i], a->segment->name);
    fail_unless_equals_int (a->unlock, w[0] == 'u');
    fail_unless (a->reason == want, "action %u (%s): reason %s, not %s", i,
        words[i], dashcam_retention_reason_to_string (a->reason),
        dashcam_retention_reason_to_string (want));
  }
  g_strfreev (words);
}

static GArray *
plan (GPtrArray * list, const DashcamRetentionLimits * limits,
    guint64 free_bytes, gboolean need_space, gboolean expect_satisfied)
{
  gboolean satisfied = !expect_satisfied;
  GArray *actions;

  actions = dashcam_retention_plan (list, limits, free_bytes, need_space,
      &satisfied);
  fail_unless_equals_int (satisfied, expect_satisfied);
  return actions;
}

GST_START_TEST (test_max_files_keeps_newest)
{
  GPtrArray *list = make_segments (10, 1000);
  DashcamRetentionLimits limits = { 0, };
  GArray *actions;

  limits.max_files = 3;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "d0 d1 d2 d3 d4 d5 d6",
      DASHCAM_RETENTION_MAX_FILES, 0);
  g_array_unref (actions);

  /* at the limit: nothing to do */
  limits.max_files = 10;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "", 0, 0);
  g_array_unref (actions);

  /* no limits at all */
  limits.max_files = 0;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "", 0, 0);
  g_array_unref (actions);

  /* satisfied is optional */
  limits.max_files = 9;
  actions = dashcam_retention_plan (list, &limits, 0, FALSE, NULL);
  check_actions (actions, list, "d0", DASHCAM_RETENTION_MAX_FILES, 0);
  g_array_unref (actions);

  g_ptr_array_unref (list);
}

GST_END_TEST;

GST_START_TEST (test_uploaded_deleted_first)
{
  GPtrArray *list = make_segments (6, 1000);
  DashcamRetentionLimits limits = { 0, };
  GArray *actions;

  SEG (list, 2)->uploaded = TRUE;
  SEG (list, 4)->uploaded = TRUE;

  /* the uploaded ones go first, oldest first, though never-uploaded 0 and 1
   * are older */
  limits.max_files = 3;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "d2 d4 d0", DASHCAM_RETENTION_MAX_FILES, 0);
  g_array_unref (actions);

  limits.max_files = 5;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "d2", DASHCAM_RETENTION_MAX_FILES, 0);
  g_array_unref (actions);

  /* same order for bytes */
  limits.max_files = 0;
  limits.max_total_bytes = 2500;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "d2 d4 d0 d1",
      DASHCAM_RETENTION_MAX_TOTAL_BYTES, 0);
  g_array_unref (actions);

  g_ptr_array_unref (list);
}

GST_END_TEST;

GST_START_TEST (test_max_total_bytes)
{
  GPtrArray *list = make_segments (5, 0);
  DashcamRetentionLimits limits = { 0, };
  GArray *actions;

  SEG (list, 0)->size = 100;
  SEG (list, 1)->size = 5000;
  SEG (list, 2)->size = 300;
  SEG (list, 3)->size = 400;
  SEG (list, 4)->size = 500;

  /* 6300 bytes, keep 1200: 0 and 1 go, 2+3+4 = 1200 stay */
  limits.max_total_bytes = 1200;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "d0 d1", DASHCAM_RETENTION_MAX_TOTAL_BYTES, 0);
  g_array_unref (actions);

  limits.max_total_bytes = 1199;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "d0 d1 d2",
      DASHCAM_RETENTION_MAX_TOTAL_BYTES, 0);
  g_array_unref (actions);

  g_ptr_array_unref (list);
}

GST_END_TEST;

GST_START_TEST (test_locked_never_deleted)
{
  GPtrArray *list = make_segments (6, 1000);
  DashcamRetentionLimits limits = { 0, };
  GArray *actions;

  SEG (list, 0)->locked = TRUE;
  SEG (list, 1)->locked = TRUE;
  SEG (list, 1)->uploaded = TRUE;
  SEG (list, 3)->locked = TRUE;

  /* max-files counts unlocked segments only: 2, 4, 5 */
  limits.max_files = 1;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "d2 d4", DASHCAM_RETENTION_MAX_FILES, 0);
  g_array_unref (actions);

  /* and so does max-total-bytes */
  limits.max_files = 0;
  limits.max_total_bytes = 3000;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "", 0, 0);
  g_array_unref (actions);

  /* free space cannot be met without the locked ones */
  limits.max_total_bytes = 0;
  limits.min_free_bytes = 100000;
  actions = plan (list, &limits, 0, FALSE, FALSE);
  check_actions (actions, list, "d2 d4 d5", DASHCAM_RETENTION_MIN_FREE_BYTES,
      0);
  g_array_unref (actions);

  g_ptr_array_unref (list);
}

GST_END_TEST;

GST_START_TEST (test_lock_budget)
{
  GPtrArray *list = make_segments (7, 100);
  DashcamRetentionLimits limits = { 0, };
  GArray *actions;

  SEG (list, 0)->locked = TRUE;
  SEG (list, 1)->locked = TRUE;
  SEG (list, 2)->locked = TRUE;
  SEG (list, 3)->locked = TRUE;

  /* 400 locked bytes, 250 allowed: the two oldest locks expire; no other
   * limit, so they stay on disk */
  limits.max_locked_bytes = 250;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "u0 u1", DASHCAM_RETENTION_LOCK_BUDGET, 0);
  g_array_unref (actions);

  /* within budget: nothing */
  limits.max_locked_bytes = 400;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "", 0, 0);
  g_array_unref (actions);

  /* expired locks join the loop, as the oldest segments: 0, 1, 4, 5, 6
   * are unlocked now, keep 2 of them */
  limits.max_locked_bytes = 250;
  limits.max_files = 2;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "u0 u1 !d0 !d1 !d4",
      DASHCAM_RETENTION_LOCK_BUDGET, DASHCAM_RETENTION_MAX_FILES);
  g_array_unref (actions);

  g_ptr_array_unref (list);
}

GST_END_TEST;

GST_START_TEST (test_lock_budget_uneven_sizes)
{
  GPtrArray *list = make_segments (4, 0);
  DashcamRetentionLimits limits = { 0, };
  GArray *actions;

  SEG (list, 0)->size = 50;
  SEG (list, 1)->size = 1000;
  SEG (list, 2)->size = 10;
  SEG (list, 3)->size = 10;
  SEG (list, 1)->locked = TRUE;
  SEG (list, 2)->locked = TRUE;
  SEG (list, 3)->locked = TRUE;

  /* the oldest lock goes, even though it is the large one and that alone
   * brings the total under budget */
  limits.max_locked_bytes = 1000;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "u1", DASHCAM_RETENTION_LOCK_BUDGET, 0);
  g_array_unref (actions);

  g_ptr_array_unref (list);
}

GST_END_TEST;

GST_START_TEST (test_min_free_bytes)
{
  GPtrArray *list = make_segments (5, 200);
  DashcamRetentionLimits limits = { 0, };
  GArray *actions;

  SEG (list, 3)->uploaded = TRUE;

  /* 1000 free, want 1500: three segments of 200 */
  limits.min_free_bytes = 1500;
  actions = plan (list, &limits, 1000, FALSE, TRUE);
  check_actions (actions, list, "d3 d0 d1", DASHCAM_RETENTION_MIN_FREE_BYTES,
      0);
  g_array_unref (actions);

  /* enough free space */
  actions = plan (list, &limits, 1500, FALSE, TRUE);
  check_actions (actions, list, "", 0, 0);
  g_array_unref (actions);

  /* cannot be met: everything goes, and it says so */
  actions = plan (list, &limits, 100, FALSE, FALSE);
  check_actions (actions, list, "d3 d0 d1 d2 d4",
      DASHCAM_RETENTION_MIN_FREE_BYTES, 0);
  g_array_unref (actions);

  g_ptr_array_unref (list);
}

GST_END_TEST;

GST_START_TEST (test_need_space_deletes_one)
{
  GPtrArray *list = make_segments (5, 200);
  DashcamRetentionLimits limits = { 0, };
  GArray *actions;

  /* disk full, no limits: exactly one, the oldest */
  actions = plan (list, &limits, 0, TRUE, TRUE);
  check_actions (actions, list, "d0", DASHCAM_RETENTION_DISK_FULL, 0);
  g_array_unref (actions);

  /* preferring one already uploaded */
  SEG (list, 2)->uploaded = TRUE;
  actions = plan (list, &limits, 0, TRUE, TRUE);
  check_actions (actions, list, "d2", DASHCAM_RETENTION_DISK_FULL, 0);
  g_array_unref (actions);

  /* disk full and over max-files: the first deletion is for the disk, the
   * others for the limit */
  limits.max_files = 2;
  actions = plan (list, &limits, 0, TRUE, TRUE);
  check_actions (actions, list, "d2 !d0 !d1", DASHCAM_RETENTION_DISK_FULL,
      DASHCAM_RETENTION_MAX_FILES);
  g_array_unref (actions);

  g_ptr_array_unref (list);
}

GST_END_TEST;

GST_START_TEST (test_all_locked_unsatisfied)
{
  GPtrArray *list = make_segments (3, 200);
  DashcamRetentionLimits limits = { 0, };
  GArray *actions;
  guint i;

  for (i = 0; i < list->len; i++)
    SEG (list, i)->locked = TRUE;

  /* disk full, nothing may go */
  actions = plan (list, &limits, 0, TRUE, FALSE);
  check_actions (actions, list, "", 0, 0);
  g_array_unref (actions);

  limits.min_free_bytes = 1000;
  actions = plan (list, &limits, 10, FALSE, FALSE);
  check_actions (actions, list, "", 0, 0);
  g_array_unref (actions);

  /* ... until the lock budget lets one go */
  limits.min_free_bytes = 0;
  limits.max_locked_bytes = 400;
  actions = plan (list, &limits, 0, TRUE, TRUE);
  check_actions (actions, list, "u0 !d0", DASHCAM_RETENTION_LOCK_BUDGET,
      DASHCAM_RETENTION_DISK_FULL);
  g_array_unref (actions);

  /* an empty directory cannot free space either */
  g_ptr_array_set_size (list, 0);
  actions = plan (list, &limits, 0, TRUE, FALSE);
  check_actions (actions, list, "", 0, 0);
  g_array_unref (actions);

  g_ptr_array_unref (list);
}

GST_END_TEST;

GST_START_TEST (test_incomplete_ignored)
{
  GPtrArray *list = make_segments (5, 100);
  DashcamRetentionLimits limits = { 0, };
  GArray *actions;

  /* a segment being written (or left open) is neither counted nor deleted,
   * not even when it is the oldest */
  SEG (list, 0)->complete = FALSE;
  SEG (list, 4)->complete = FALSE;
  limits.max_files = 1;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "d1 d2", DASHCAM_RETENTION_MAX_FILES, 0);
  g_array_unref (actions);

  limits.max_files = 0;
  limits.max_total_bytes = 250;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "d1", DASHCAM_RETENTION_MAX_TOTAL_BYTES, 0);
  g_array_unref (actions);

  /* nor does an incomplete locked one count against the lock budget */
  limits.max_total_bytes = 0;
  SEG (list, 0)->locked = TRUE;
  SEG (list, 0)->size = 10000;
  SEG (list, 3)->locked = TRUE;
  limits.max_locked_bytes = 100;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "", 0, 0);
  g_array_unref (actions);

  /* and its lock does not expire first: it is not in the budget */
  SEG (list, 2)->locked = TRUE;
  limits.max_locked_bytes = 150;
  actions = plan (list, &limits, 0, FALSE, TRUE);
  check_actions (actions, list, "u2", DASHCAM_RETENTION_LOCK_BUDGET, 0);
  g_array_unref (actions);

  /* disk full with only incomplete segments left */
  SEG (list, 1)->complete = FALSE;
  SEG (list, 2)->complete = FALSE;
  SEG (list, 3)->complete = FALSE;
  limits.max_locked_bytes = 0;
  actions = plan (list, &limits, 0, TRUE, FALSE);
  check_actions (actions, list, "", 0, 0);
  g_array_unref (actions);

  g_ptr_array_unref (list);
}

GST_END_TEST;

GST_START_TEST (test_reason_strings)
{
  fail_unless_equals_string (dashcam_retention_reason_to_string
      (DASHCAM_RETENTION_MAX_FILES), "max-files");
  fail_unless_equals_string (dashcam_retention_reason_to_string
      (DASHCAM_RETENTION_MAX_TOTAL_BYTES), "max-total-bytes");
  fail_unless_equals_string (dashcam_retention_reason_to_string
      (DASHCAM_RETENTION_MIN_FREE_BYTES), "min-free-bytes");
  fail_unless_equals_string (dashcam_retention_reason_to_string
      (DASHCAM_RETENTION_DISK_FULL), "disk-full");
  fail_unless_equals_string (dashcam_retention_reason_to_string
      (DASHCAM_RETENTION_LOCK_BUDGET), "max-locked-bytes");
}

GST_END_TEST;

static Suite *
retention_suite (void)
{
  Suite *s = suite_create ("retention");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_max_files_keeps_newest);
  tcase_add_test (tc, test_uploaded_deleted_first);
  tcase_add_test (tc, test_max_total_bytes);
  tcase_add_test (tc, test_locked_never_deleted);
  tcase_add_test (tc, test_lock_budget);
  tcase_add_test (tc, test_lock_budget_uneven_sizes);
  tcase_add_test (tc, test_min_free_bytes);
  tcase_add_test (tc, test_need_space_deletes_one);
  tcase_add_test (tc, test_all_locked_unsatisfied);
  tcase_add_test (tc, test_incomplete_ignored);
  tcase_add_test (tc, test_reason_strings);
  return s;
}

GST_CHECK_MAIN (retention);
