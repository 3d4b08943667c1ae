/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Loop retention: which segments to delete.
 *
 * Locked segments are outside the loop: they count against their own
 * budget, max-locked-bytes, and when that overflows the oldest lock expires
 * first and the segment joins the loop. In the loop, segments the server
 * already has go first (oldest first), then the others (oldest first): a
 * deletion then loses nothing that could still be uploaded, whenever
 * possible. max-files and max-total-bytes count complete unlocked segments;
 * the segment being written is not in the list and not counted.
 */

#include "dashcamretention.h"

const gchar *
dashcam_retention_reason_to_string (DashcamRetentionReason r)
{
  switch (r) {
    case DASHCAM_RETENTION_MAX_FILES:
      return "max-files";
    case DASHCAM_RETENTION_MAX_TOTAL_BYTES:
      return "max-total-bytes";
    case DASHCAM_RETENTION_MIN_FREE_BYTES:
      return "min-free-bytes";
    case DASHCAM_RETENTION_DISK_FULL:
      return "disk-full";
    case DASHCAM_RETENTION_LOCK_BUDGET:
      return "max-locked-bytes";
  }
  return "unknown";
}

static void
add_action (GArray * actions, DashcamSegment * seg, gboolean unlock,
    DashcamRetentionReason reason)
{
  DashcamRetentionAction a = { seg, unlock, reason };

  g_array_append_val (actions, a);
}

/* Expires the oldest locks until the locked bytes fit the budget; returns
 * the segments that leave the lock, oldest first. */
static void
plan_lock_budget (GPtrArray * segments, const DashcamRetentionLimits * limits,
    GArray * actions, GHashTable * expired)
{
  guint64 locked_bytes = 0;
  guint i;

  if (limits->max_locked_bytes == 0)
    return;
  for (i = 0; i < segments->len; i++) {
    DashcamSegment *s = g_ptr_array_index (segments, i);

    if (s->complete && s->locked)
      locked_bytes += s->size;
  }
  for (i = 0; i < segments->len && locked_bytes > limits->max_locked_bytes;
      i++) {
    DashcamSegment *s = g_ptr_array_index (segments, i);

    if (!s->complete || !s->locked)
      continue;
    add_action (actions, s, TRUE, DASHCAM_RETENTION_LOCK_BUDGET);
    g_hash_table_add (expired, s);
    locked_bytes -= s->size;
  }
}

static gboolean
over_limit (const DashcamRetentionLimits * limits, guint64 files,
    guint64 bytes, guint64 free_bytes, DashcamRetentionReason * reason)
{
  if (limits->max_files > 0 && files > limits->max_files) {
    *reason = DASHCAM_RETENTION_MAX_FILES;
    return TRUE;
  }
  if (limits->max_total_bytes > 0 && bytes > limits->max_total_bytes) {
    *reason = DASHCAM_RETENTION_MAX_TOTAL_BYTES;
    return TRUE;
  }
  if (limits->min_free_bytes > 0 && free_bytes < limits->min_free_bytes) {
    *reason = DASHCAM_RETENTION_MIN_FREE_BYTES;
    return TRUE;
  }
  return FALSE;
}

/**
 * dashcam_retention_plan:
 * @segments: (element-type DashcamSegment): the catalog, oldest first
 * @limits: the limits
 * @free_bytes: free space on the filesystem now
 * @need_space: the disk is full: delete at least one segment
 * @satisfied: (out) (optional): %FALSE if the limits cannot be met (or no
 *   space freed) because everything left is locked
 *
 * Decides which locks expire and which segments to delete, in order.
 *
 * Returns: (transfer full) (element-type DashcamRetentionAction): actions
 */
GArray *
dashcam_retention_plan (GPtrArray * segments,
    const DashcamRetentionLimits * limits, guint64 free_bytes,
    gboolean need_space, gboolean * satisfied)
{
  GArray *actions = g_array_new (FALSE, FALSE, sizeof (DashcamRetentionAction));
  GHashTable *expired = g_hash_table_new (NULL, NULL);
  GPtrArray *order = g_ptr_array_new ();
  guint64 files = 0, bytes = 0;
  DashcamRetentionReason reason;
  gboolean ok = TRUE;
  guint i, pass;

  plan_lock_budget (segments, limits, actions, expired);

  /* deletion order: uploaded oldest first, then never uploaded */
  for (pass = 0; pass < 2; pass++) {
    for (i = 0; i < segments->len; i++) {
      DashcamSegment *s = g_ptr_array_index (segments, i);

      if (!s->complete || (s->locked && !g_hash_table_contains (expired, s)))
        continue;
      if (s->uploaded == (pass == 0)) {
        g_ptr_array_add (order, s);
        files++;
        bytes += s->size;
      }
    }
  }

  for (i = 0; i < order->len; i++) {
    DashcamSegment *s = g_ptr_array_index (order, i);

    if (need_space) {
      reason = DASHCAM_RETENTION_DISK_FULL;
      need_space = FALSE;
    } else if (!over_limit (limits, files, bytes, free_bytes, &reason)) {
      break;
    }
    add_action (actions, s, FALSE, reason);
    files--;
    bytes -= s->size;
    free_bytes += s->size;
  }
  if (need_space || over_limit (limits, files, bytes, free_bytes, &reason))
    ok = FALSE;

  if (satisfied)
    *satisfied = ok;
  g_ptr_array_unref (order);
  g_hash_table_unref (expired);
  return actions;
}
