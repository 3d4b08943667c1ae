/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef __GST_LOOP_REC_SINK_H__
#define __GST_LOOP_REC_SINK_H__

#include <gst/gst.h>
#include <gst/base/gstbasesink.h>
#include <sys/uio.h>

#include "dashcamcatalog.h"
#include "dashcamrun.h"
#include "dashcamsegmenter.h"

G_BEGIN_DECLS

#define GST_TYPE_LOOP_REC_SINK (gst_loop_rec_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstLoopRecSink, gst_loop_rec_sink, GST, LOOP_REC_SINK,
    GstBaseSink)

/* Property values, under the object lock. */
typedef struct
{
  gchar *location;
  gchar *filename_format;
  guint64 max_size_time;
  guint64 max_size_bytes;
  gboolean send_keyframe_requests;
  gboolean align_to_wall_clock;
  guint64 max_total_bytes;
  guint max_files;
  guint64 min_free_bytes;
  guint64 max_locked_bytes;
  guint64 sync_interval;
  guint64 lock_pre_time;
  guint64 lock_post_time;
  guint file_mode;
} GstLoopRecSinkSettings;

struct _GstLoopRecSink
{
  GstBaseSink parent;

  GstLoopRecSinkSettings settings;      /* GST_OBJECT_LOCK */
  gchar *current_location;              /* GST_OBJECT_LOCK */

  /* Everything below is state, created in start() and destroyed in stop(),
   * under state_lock (recursive: an application may call the lock action
   * from a synchronous bus handler while we post a message). */
  GRecMutex state_lock;
  gchar *location;
  gchar *filename_format;
  guint file_mode;
  DashcamCatalog *catalog;
  DashcamRun *run;
  DashcamSegmenter segmenter;

  /* the segment being written */
  gint fd;
  DashcamSegment segment;
  gchar *part_path;
  guint64 file_size;
  guint8 *wbuf;                 /* copies of transient data */
  gsize wbuf_len;
  struct iovec *iov;            /* what the next writev(2) writes */
  guint n_iov;
  gsize pending_len;
  GPtrArray *held;              /* input buffers iov points into, mapped */
  GArray *held_maps;
  GstBuffer *render_buffer;     /* the buffer being rendered */
  GstMapInfo render_map;
  gboolean render_held;
  gint64 last_sync_us;
  gint64 last_flush_us;
  gboolean bytes_keyframe_requested;
  guint64 keyframe_target;      /* duration to request a keyframe at */
  guint64 keyframe_request_due; /* segment duration when to ask */
  guint64 keyframe_overrun;     /* ask again beyond this duration */
  guint64 keyframe_asked_duration; /* the segment's target when asked */
  GstClockTime keyframe_asked_rt; /* upstream running time asked for */
  gboolean keyframe_answered;   /* upstream announced it: split there */
  GstClockTime keyframe_answer_rt; /* its running time upstream */
  gboolean keyframe_reasked;    /* asked again, the answer came early */
  gint64 keyframe_rt_skew;      /* upstream running time - ours */
  guint segments_opened;

  GstClockTime last_running_time;
  GstClockTime lock_until;
  guint64 reported_skipped;
  guint64 pre_start_bytes;
  gboolean dropping;
  gboolean torn;
  gboolean flushed;             /* the next segment opens after a flush */
  guint64 dropped_bytes;
  gboolean retention_stuck;
  GstFlowReturn flow;
};

GST_ELEMENT_REGISTER_DECLARE (looprecsink);

G_END_DECLS

#endif /* __GST_LOOP_REC_SINK_H__ */
