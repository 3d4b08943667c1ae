/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef __GST_SRT_UPLOAD_SINK_H__
#define __GST_SRT_UPLOAD_SINK_H__

#include <gst/gst.h>
#include <gst/base/gstbasesink.h>

#include "dashcambacklog.h"
#include "dashcamcatalog.h"
#include "dashcamrun.h"
#include "dashcamsegmenter.h"
#include "dashcamsrt.h"

G_BEGIN_DECLS

#define GST_TYPE_SRT_UPLOAD_SINK (gst_srt_upload_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstSrtUploadSink, gst_srt_upload_sink, GST,
    SRT_UPLOAD_SINK, GstBaseSink)

#define GST_TYPE_SRT_UPLOAD_SINK_BACKLOG_POLICY \
  (gst_srt_upload_sink_backlog_policy_get_type ())
GType gst_srt_upload_sink_backlog_policy_get_type (void);

typedef enum
{
  LINK_CONNECTING,
  LINK_UP,
  LINK_DOWN,
} GstSrtUploadSinkLinkState;

/* Property values, under the object lock. */
typedef struct
{
  gchar *uri;
  gchar *backlog_uri;
  gchar *device_id;
  gchar *streamid_format;
  gchar *backlog_streamid_format;
  gchar *backlog_location;
  DashcamBacklogPolicy backlog_policy;
  guint64 backlog_max_bitrate;
  gint latency;
  gchar *passphrase;
  gint pbkeylen;
  guint64 link_timeout;
  guint64 reconnect_max_interval;
  guint64 live_buffer_time;
} GstSrtUploadSinkSettings;

/* One SRT payload waiting for the sender thread. */
typedef struct
{
  guint8 data[DASHCAM_SRT_PAYLOAD_SIZE];
  gsize len;
  GstClockTime running_time;
  gint64 created_us;
  gboolean complete;            /* may go before it is full */
} GstSrtUploadSinkChunk;

struct _GstSrtUploadSink
{
  GstBaseSink parent;

  GstSrtUploadSinkSettings settings;    /* GST_OBJECT_LOCK */

  /* Everything below is state, created in start() from a copy of the
   * settings and destroyed in stop(). */
  GstSrtUploadSinkSettings cfg;
  DashcamSrtConfig live_config;
  DashcamSrtConfig backlog_config;
  gchar *live_host;
  gchar *backlog_host;
  gchar *live_passphrase;
  gchar *backlog_passphrase;
  DashcamRun *run;

  /* streaming thread only */
  DashcamSegmenter segmenter;
  GstClockTime render_rt;

  /* shared, under lock */
  GMutex lock;
  GCond cond;
  gboolean running;
  gboolean sender_waiting;
  gboolean wake_sender;
  gboolean eos;
  gboolean unlocked;            /* unlock() to unlock_stop() */
  GQueue chunks;
  guint64 queued_bytes;
  gboolean need_start;
  gboolean keyframe_requested;
  /* until the first connection attempt ends, the first session is held
   * in the queue from the first keyframe on, so that a server that is
   * there from the start gets the stream from its first frame */
  gboolean hold;
  GstClockTime hold_rt;
  GstSrtUploadSinkLinkState state;
  DashcamSrtReason reason;
  GstSrtUploadSinkLinkState reported_state;
  DashcamSrtReason reported_reason;
  gchar *live_streamid;
  DashcamGapList gaps;
  /* running time up to which the live receiver surely played the stream
   * out (acknowledged is not enough: see dashcambacklog.c) */
  GstClockTime confirmed;
  gboolean all_confirmed;
  /* after EOS: everything acknowledged and the receiver's latency passed
   * since the last packet, the link still up */
  gboolean tail_played;
  gint live_latency_ms;         /* the live receiver's TSBPD delay */
  /* when the live session came up (0 while down) and when an ACK last
   * arrived on it (0 before the first), monotonic us: an ACK proves that
   * the server process was alive then */
  gint64 live_up_us;
  gint64 live_ack_us;
  /* the backlog goes to the live server (same host and port) */
  gboolean backlog_is_live_server;
  /* when the live link last lost data to congestion (monotonic us) */
  gint64 congested_us;
  DashcamSrtStats live_stats;
  guint64 live_dropped_bytes;
  guint n_pending;
  guint64 pending_bytes;
  guint n_uploaded;
  guint64 uploaded_bytes;
  guint64 live_bitrate;
  gchar *uploading;
  gdouble upload_progress;

  GThread *sender;
  GThread *uploader;
  /* opened in start() so that a refused directory is reported before
   * PLAYING; owned by the uploader thread from then on */
  DashcamCatalog *backlog_catalog;
  /* cancelled in stop(): name lookups and connection attempts end */
  GCancellable *cancel;
};

GST_ELEMENT_REGISTER_DECLARE (srtuploadsink);

G_END_DECLS

#endif /* __GST_SRT_UPLOAD_SINK_H__ */
