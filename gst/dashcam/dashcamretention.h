/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef __DASHCAM_RETENTION_H__
#define __DASHCAM_RETENTION_H__

#include "dashcamcatalog.h"

G_BEGIN_DECLS

/**
 * DashcamRetentionLimits:
 * @max_files: complete unlocked segments to keep (0 = no limit)
 * @max_total_bytes: bytes of complete unlocked segments to keep (0 = no
 *   limit)
 * @min_free_bytes: free space to keep on the filesystem (0 = no limit)
 * @max_locked_bytes: bytes of locked segments; above it the oldest locks
 *   expire (0 = no limit)
 */
typedef struct
{
  guint64 max_files;
  guint64 max_total_bytes;
  guint64 min_free_bytes;
  guint64 max_locked_bytes;
} DashcamRetentionLimits;

typedef enum
{
  DASHCAM_RETENTION_MAX_FILES,
  DASHCAM_RETENTION_MAX_TOTAL_BYTES,
  DASHCAM_RETENTION_MIN_FREE_BYTES,
  DASHCAM_RETENTION_DISK_FULL,
  DASHCAM_RETENTION_LOCK_BUDGET,
} DashcamRetentionReason;

/**
 * DashcamRetentionAction:
 * @segment: the segment (owned by the catalog)
 * @unlock: %TRUE: its lock expires; %FALSE: delete it
 * @reason: why
 */
typedef struct
{
  DashcamSegment *segment;
  gboolean unlock;
  DashcamRetentionReason reason;
} DashcamRetentionAction;

GArray *dashcam_retention_plan (GPtrArray * segments,
    const DashcamRetentionLimits * limits, guint64 free_bytes,
    gboolean need_space, gboolean * satisfied);

const gchar *dashcam_retention_reason_to_string (DashcamRetentionReason r);

G_END_DECLS

#endif /* __DASHCAM_RETENTION_H__ */
