/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The id of a pipeline run.
 *
 * Running time is the axis the recorder and the uploader share: both see
 * the same buffers through a tee. It restarts at every run, so segments and
 * gaps also carry the id of the run. Elements of one pipeline that start
 * together get the same id: the first one to start creates it on the
 * top-level bin, the last one to stop removes it, and the next start makes
 * a new one.
 */

#include "dashcamrun.h"

#define RUN_KEY "gst-dashcam-run"

struct _DashcamRun
{
  GstObject *toplevel;
  gchar *id;
  gint refs;
};

G_LOCK_DEFINE_STATIC (runs);

static GstObject *
find_toplevel (GstElement * element)
{
  GstObject *obj = gst_object_ref (GST_OBJECT (element)), *parent;

  while ((parent = gst_object_get_parent (obj))) {
    gst_object_unref (obj);
    obj = parent;
  }
  return obj;
}

/**
 * dashcam_run_acquire:
 * @element: an element about to start
 *
 * Returns: (transfer full): the run @element is part of; release it with
 * dashcam_run_release() when the element stops
 */
DashcamRun *
dashcam_run_acquire (GstElement * element)
{
  GstObject *top = find_toplevel (element);
  DashcamRun *run;

  G_LOCK (runs);
  run = g_object_get_data (G_OBJECT (top), RUN_KEY);
  if (run == NULL) {
    run = g_new0 (DashcamRun, 1);
    run->toplevel = top;
    run->id = g_uuid_string_random ();
    g_object_set_data (G_OBJECT (top), RUN_KEY, run);
  } else {
    gst_object_unref (top);
  }
  run->refs++;
  G_UNLOCK (runs);
  return run;
}

const gchar *
dashcam_run_get_id (DashcamRun * run)
{
  return run->id;
}

/**
 * dashcam_run_release:
 * @run: (transfer full): a run from dashcam_run_acquire()
 */
void
dashcam_run_release (DashcamRun * run)
{
  gboolean last;

  G_LOCK (runs);
  last = --run->refs == 0;
  if (last)
    g_object_set_data (G_OBJECT (run->toplevel), RUN_KEY, NULL);
  G_UNLOCK (runs);

  if (last) {
    gst_object_unref (run->toplevel);
    g_free (run->id);
    g_free (run);
  }
}
