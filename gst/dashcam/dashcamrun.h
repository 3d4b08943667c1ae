/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef __DASHCAM_RUN_H__
#define __DASHCAM_RUN_H__

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _DashcamRun DashcamRun;

DashcamRun *dashcam_run_acquire (GstElement * element);
const gchar *dashcam_run_get_id (DashcamRun * run);
void dashcam_run_release (DashcamRun * run);

G_END_DECLS

#endif /* __DASHCAM_RUN_H__ */
