/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/**
 * SECTION:element-looprecsink
 * @title: looprecsink
 *
 * A loop recorder for MPEG-TS: writes the stream into segment files in
 * #GstLoopRecSink:location, cut at keyframes so that every file plays on its
 * own, and deletes the oldest segments to stay within its retention limits.
 *
 * Each segment starts with the PAT and PMT (re-inserted when the muxer did
 * not send them right before the keyframe) and a random-access point of the
 * first video stream. Timestamps are not touched: the segments, put end to
 * end, are the input stream. A segment is written as `NAME.part`, synced
 * every #GstLoopRecSink:sync-interval, and renamed to `NAME` when complete.
 * After a power cut, the next start cuts the partial file to whole frames
 * and completes it (`looprecsink-segment-recovered`).
 *
 * The directory's catalog (`.dashcam/journal`) records what each segment is
 * (complete, locked, uploaded) and is shared with srtuploadsink. Retention
 * (#GstLoopRecSink:max-files, #GstLoopRecSink:max-total-bytes,
 * #GstLoopRecSink:min-free-bytes) runs after every segment and when the
 * disk is full; it deletes uploaded segments first, never deletes locked
 * segments (their locks expire, oldest first, beyond
 * #GstLoopRecSink:max-locked-bytes), and never stops recording: when
 * nothing can be deleted it drops data, with a warning, until space returns.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -e videotestsrc is-live=true ! video/x-raw,format=I420 ! \
 *     x264enc tune=zerolatency key-int-max=30 ! h264parse ! mpegtsmux ! \
 *     looprecsink location=recordings max-size-time=60000000000 max-files=60
 * ]|
 *
 * ## Messages
 *
 * Element messages, all with these fields:
 *
 * * `location` (string): full path of the segment file
 * * `index` (guint64): its index, unique and increasing in the directory
 * * `running-time` (guint64): running time of its first frame, in ns
 * * `duration` (guint64): ns (0 while it is being written)
 * * `size` (guint64): bytes
 * * `locked` (gboolean): protected from retention
 * * `uploaded` (gboolean): the server confirmed it
 * * `run-id` (string): the pipeline run that recorded it
 * * `wall-time` (gint64): UTC wall clock when it was opened, microseconds
 *   since the epoch (as right as the device clock was)
 * * `reason` (string): why the message was posted (see below)
 *
 * * `looprecsink-segment-opened`: reason `start`, `max-size-time`,
 *   `max-size-bytes`, `split-now`, `disk-full` (first segment after the
 *   disk was full) or `flush` (first segment after a flushing seek)
 * * `looprecsink-segment-closed`: reason `split`, `eos`, `stop`,
 *   `disk-full` or `flush`
 * * `looprecsink-segment-deleted`: reason `max-files`, `max-total-bytes`,
 *   `min-free-bytes`, `disk-full` or `empty`. `uploaded` FALSE means the
 *   server never got this video.
 * * `looprecsink-segment-recovered`: reason `power-cut`, or `adopted` (a
 *   segment named like ours that a damaged catalog lost); extra field
 *   `cut-bytes` (guint64): bytes cut from the end of the partial file
 * * `looprecsink-segment-locked`: reason `lock` (locked now),
 *   `max-locked-bytes` (the lock expired: `locked` is FALSE); extra fields
 *   `window-start` and `window-end` (guint64): the running-time window of
 *   the lock request, in ns
 *
 * ## Locking
 *
 * The `lock` action signal, or a custom event named `dashcam-lock` (fields
 * `pre` and `post`, guint64 ns, optional) sent downstream or to the
 * element, locks the segments covering [now - pre, now + post] in running
 * time.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstlooprecsink.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gst/video/video.h>

#include "dashcamgps.h"
#include "dashcamnaming.h"
#include "dashcamrecover.h"
#include "dashcamretention.h"

GST_DEBUG_CATEGORY_STATIC (gst_loop_rec_sink_debug);
#define GST_CAT_DEFAULT gst_loop_rec_sink_debug

#define DEFAULT_LOCATION NULL
#define DEFAULT_FILENAME_FORMAT DASHCAM_DEFAULT_FILENAME_FORMAT
#define DEFAULT_MAX_SIZE_TIME (60 * GST_SECOND)
#define DEFAULT_MAX_SIZE_BYTES 0
#define DEFAULT_SEND_KEYFRAME_REQUESTS TRUE
#define DEFAULT_ALIGN_TO_WALL_CLOCK FALSE
#define DEFAULT_MAX_TOTAL_BYTES 0
#define DEFAULT_MAX_FILES 0
#define DEFAULT_MIN_FREE_BYTES 0
#define DEFAULT_MAX_LOCKED_BYTES 0
#define DEFAULT_SYNC_INTERVAL GST_SECOND
#define DEFAULT_LOCK_PRE_TIME (10 * GST_SECOND)
#define DEFAULT_LOCK_POST_TIME (10 * GST_SECOND)
#define DEFAULT_FILE_MODE DASHCAM_DEFAULT_FILE_MODE

#define WRITE_BUFFER_SIZE (64 * 1024)
#define MAX_IOV 256
/* how long written data may wait in our buffer before going to the kernel */
#define FLUSH_INTERVAL_US (100 * 1000)
/* free space wanted before writing again after the disk was full */
#define RESUME_FREE_BYTES (1024 * 1024)
#define LOCK_EVENT_NAME "dashcam-lock"

enum
{
  PROP_0,
  PROP_LOCATION,
  PROP_FILENAME_FORMAT,
  PROP_MAX_SIZE_TIME,
  PROP_MAX_SIZE_BYTES,
  PROP_SEND_KEYFRAME_REQUESTS,
  PROP_ALIGN_TO_WALL_CLOCK,
  PROP_MAX_TOTAL_BYTES,
  PROP_MAX_FILES,
  PROP_MIN_FREE_BYTES,
  PROP_MAX_LOCKED_BYTES,
  PROP_SYNC_INTERVAL,
  PROP_LOCK_PRE_TIME,
  PROP_LOCK_POST_TIME,
  PROP_CURRENT_LOCATION,
  PROP_FILE_MODE,
};

enum
{
  SIGNAL_LOCK,
  SIGNAL_SPLIT_NOW,
  LAST_SIGNAL
};

static guint signals[LAST_SIGNAL];

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/mpegts, systemstream = (boolean) true"));

#define gst_loop_rec_sink_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstLoopRecSink, gst_loop_rec_sink, GST_TYPE_BASE_SINK,
    GST_DEBUG_CATEGORY_INIT (gst_loop_rec_sink_debug, "looprecsink", 0,
        "Segmenting loop recorder"));
GST_ELEMENT_REGISTER_DEFINE (looprecsink, "looprecsink", GST_RANK_NONE,
    GST_TYPE_LOOP_REC_SINK);

static void gst_loop_rec_sink_finalize (GObject * object);
static void gst_loop_rec_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_loop_rec_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static gboolean gst_loop_rec_sink_send_event (GstElement * element,
    GstEvent * event);
static gboolean gst_loop_rec_sink_start (GstBaseSink * sink);
static gboolean gst_loop_rec_sink_stop (GstBaseSink * sink);
static gboolean gst_loop_rec_sink_set_caps (GstBaseSink * sink,
    GstCaps * caps);
static gboolean gst_loop_rec_sink_event (GstBaseSink * sink, GstEvent * event);
static GstFlowReturn gst_loop_rec_sink_render (GstBaseSink * sink,
    GstBuffer * buffer);
static void gst_loop_rec_sink_lock (GstLoopRecSink * self, guint64 pre,
    guint64 post);
static void gst_loop_rec_sink_split_now (GstLoopRecSink * self);

static void on_segmenter_write (gpointer user_data, gboolean open,
    const guint8 * data, gsize len);
static void on_segmenter_split (gpointer user_data,
    const DashcamSplitPoint * point);

static const DashcamSegmenterFuncs segmenter_funcs = {
  on_segmenter_write,
  on_segmenter_split,
};

#define PARAM_FLAGS_PLAYING \
  (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)
#define PARAM_FLAGS_READY \
  (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)

static void
gst_loop_rec_sink_class_init (GstLoopRecSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);

  gobject_class->finalize = gst_loop_rec_sink_finalize;
  gobject_class->set_property = gst_loop_rec_sink_set_property;
  gobject_class->get_property = gst_loop_rec_sink_get_property;

  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "Directory for the segment files (created if missing)",
          DEFAULT_LOCATION, PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_FILENAME_FORMAT,
      g_param_spec_string ("filename-format", "Filename format",
          "Segment file name: strftime(3) pattern in UTC plus {index}, the "
          "segment's unique increasing number (at least 6 digits); no '/'",
          DEFAULT_FILENAME_FORMAT, PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_MAX_SIZE_TIME,
      g_param_spec_uint64 ("max-size-time", "Max size time",
          "Start a new segment at the first keyframe after this duration, "
          "in nanoseconds (0 = no time limit)", 0, G_MAXUINT64,
          DEFAULT_MAX_SIZE_TIME, PARAM_FLAGS_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MAX_SIZE_BYTES,
      g_param_spec_uint64 ("max-size-bytes", "Max size bytes",
          "Start a new segment at the first keyframe after this many bytes, "
          "in bytes (0 = no size limit)", 0, G_MAXUINT64,
          DEFAULT_MAX_SIZE_BYTES, PARAM_FLAGS_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SEND_KEYFRAME_REQUESTS,
      g_param_spec_boolean ("send-keyframe-requests", "Send keyframe requests",
          "Ask upstream for a keyframe at the running time where the segment "
          "should end, so that segments have the target length even with "
          "long GOPs", DEFAULT_SEND_KEYFRAME_REQUESTS, PARAM_FLAGS_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ALIGN_TO_WALL_CLOCK,
      g_param_spec_boolean ("align-to-wall-clock", "Align to wall clock",
          "Split at UTC wall-clock multiples of max-size-time (12:00:00, "
          "12:01:00, ... for 60 s) instead of max-size-time after the "
          "segment start", DEFAULT_ALIGN_TO_WALL_CLOCK, PARAM_FLAGS_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MAX_TOTAL_BYTES,
      g_param_spec_uint64 ("max-total-bytes", "Max total bytes",
          "Delete the oldest unlocked segments when complete unlocked "
          "segments exceed this, in bytes (0 = no limit)", 0, G_MAXUINT64,
          DEFAULT_MAX_TOTAL_BYTES, PARAM_FLAGS_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MAX_FILES,
      g_param_spec_uint ("max-files", "Max files",
          "Keep at most this many complete unlocked segments, deleting the "
          "oldest (0 = no limit)", 0, G_MAXUINT, DEFAULT_MAX_FILES,
          PARAM_FLAGS_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MIN_FREE_BYTES,
      g_param_spec_uint64 ("min-free-bytes", "Min free bytes",
          "Delete the oldest unlocked segments while the filesystem has less "
          "free space than this, in bytes (0 = no limit)", 0, G_MAXUINT64,
          DEFAULT_MIN_FREE_BYTES, PARAM_FLAGS_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MAX_LOCKED_BYTES,
      g_param_spec_uint64 ("max-locked-bytes", "Max locked bytes",
          "Budget for locked segments, in bytes; beyond it the oldest locks "
          "expire (0 = no limit)", 0, G_MAXUINT64, DEFAULT_MAX_LOCKED_BYTES,
          PARAM_FLAGS_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SYNC_INTERVAL,
      g_param_spec_uint64 ("sync-interval", "Sync interval",
          "Flush and fsync the segment being written this often, in "
          "nanoseconds: the most video a power cut can lose (0 = only when "
          "a segment is complete)", 0, G_MAXUINT64, DEFAULT_SYNC_INTERVAL,
          PARAM_FLAGS_PLAYING));
  g_object_class_install_property (gobject_class, PROP_LOCK_PRE_TIME,
      g_param_spec_uint64 ("lock-pre-time", "Lock pre time",
          "Default time before a lock request whose segments are locked, in "
          "nanoseconds", 0, G_MAXUINT64, DEFAULT_LOCK_PRE_TIME,
          PARAM_FLAGS_PLAYING));
  g_object_class_install_property (gobject_class, PROP_LOCK_POST_TIME,
      g_param_spec_uint64 ("lock-post-time", "Lock post time",
          "Default time after a lock request whose segments are locked, in "
          "nanoseconds", 0, G_MAXUINT64, DEFAULT_LOCK_POST_TIME,
          PARAM_FLAGS_PLAYING));
  g_object_class_install_property (gobject_class, PROP_CURRENT_LOCATION,
      g_param_spec_string ("current-location", "Current location",
          "Full path the segment being written will have once complete "
          "(it is written as this path plus \".part\")", NULL,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_FILE_MODE,
      g_param_spec_uint ("file-mode", "File mode",
          "Permissions of the segments and the catalog, whatever the umask "
          "(0640 = 416: owner and group read, no world access); the "
          "directories created get search permission where it grants "
          "reading (0750)", 0, 0777, DEFAULT_FILE_MODE, PARAM_FLAGS_READY));

  /**
   * GstLoopRecSink::lock:
   * @sink: the #GstLoopRecSink
   * @pre: nanoseconds before now, or G_MAXUINT64 for lock-pre-time
   * @post: nanoseconds after now, or G_MAXUINT64 for lock-post-time
   *
   * Locks the segments covering [now - pre, now + post] in running time,
   * including segments yet to be recorded.
   */
  signals[SIGNAL_LOCK] = g_signal_new_class_handler ("lock",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_loop_rec_sink_lock), NULL, NULL, NULL, G_TYPE_NONE, 2,
      G_TYPE_UINT64, G_TYPE_UINT64);

  /**
   * GstLoopRecSink::split-now:
   * @sink: the #GstLoopRecSink
   *
   * Starts a new segment at the next keyframe, and asks upstream for one.
   */
  signals[SIGNAL_SPLIT_NOW] = g_signal_new_class_handler ("split-now",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_loop_rec_sink_split_now), NULL, NULL, NULL,
      G_TYPE_NONE, 0);

  gst_element_class_set_static_metadata (element_class,
      "Loop recording sink", "Sink/File",
      "Records MPEG-TS into keyframe-aligned, crash-safe segment files with "
      "loop retention and event locking",
      "gst-dashcam authors <dev@gst-dashcam.invalid>");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  element_class->send_event = GST_DEBUG_FUNCPTR (gst_loop_rec_sink_send_event);

  basesink_class->start = GST_DEBUG_FUNCPTR (gst_loop_rec_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_loop_rec_sink_stop);
  basesink_class->set_caps = GST_DEBUG_FUNCPTR (gst_loop_rec_sink_set_caps);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_loop_rec_sink_event);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_loop_rec_sink_render);
}

static void
gst_loop_rec_sink_init (GstLoopRecSink * self)
{
  GstLoopRecSinkSettings *s = &self->settings;

  s->location = g_strdup (DEFAULT_LOCATION);
  s->filename_format = g_strdup (DEFAULT_FILENAME_FORMAT);
  s->max_size_time = DEFAULT_MAX_SIZE_TIME;
  s->max_size_bytes = DEFAULT_MAX_SIZE_BYTES;
  s->send_keyframe_requests = DEFAULT_SEND_KEYFRAME_REQUESTS;
  s->align_to_wall_clock = DEFAULT_ALIGN_TO_WALL_CLOCK;
  s->max_total_bytes = DEFAULT_MAX_TOTAL_BYTES;
  s->max_files = DEFAULT_MAX_FILES;
  s->min_free_bytes = DEFAULT_MIN_FREE_BYTES;
  s->max_locked_bytes = DEFAULT_MAX_LOCKED_BYTES;
  s->sync_interval = DEFAULT_SYNC_INTERVAL;
  s->lock_pre_time = DEFAULT_LOCK_PRE_TIME;
  s->lock_post_time = DEFAULT_LOCK_POST_TIME;
  s->file_mode = DEFAULT_FILE_MODE;

  g_rec_mutex_init (&self->state_lock);
  self->fd = -1;

  /* a recorder has nothing to synchronise against the clock */
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
  gst_base_sink_set_async_enabled (GST_BASE_SINK (self), TRUE);
}

static void
gst_loop_rec_sink_finalize (GObject * object)
{
  GstLoopRecSink *self = GST_LOOP_REC_SINK (object);

  g_free (self->settings.location);
  g_free (self->settings.filename_format);
  g_free (self->current_location);
  g_rec_mutex_clear (&self->state_lock);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_loop_rec_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstLoopRecSink *self = GST_LOOP_REC_SINK (object);
  GstLoopRecSinkSettings *s = &self->settings;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_free (s->location);
      s->location = g_value_dup_string (value);
      break;
    case PROP_FILENAME_FORMAT:
      g_free (s->filename_format);
      s->filename_format = g_value_dup_string (value);
      break;
    case PROP_MAX_SIZE_TIME:
      s->max_size_time = g_value_get_uint64 (value);
      break;
    case PROP_MAX_SIZE_BYTES:
      s->max_size_bytes = g_value_get_uint64 (value);
      break;
    case PROP_SEND_KEYFRAME_REQUESTS:
      s->send_keyframe_requests = g_value_get_boolean (value);
      break;
    case PROP_ALIGN_TO_WALL_CLOCK:
      s->align_to_wall_clock = g_value_get_boolean (value);
      break;
    case PROP_MAX_TOTAL_BYTES:
      s->max_total_bytes = g_value_get_uint64 (value);
      break;
    case PROP_MAX_FILES:
      s->max_files = g_value_get_uint (value);
      break;
    case PROP_MIN_FREE_BYTES:
      s->min_free_bytes = g_value_get_uint64 (value);
      break;
    case PROP_MAX_LOCKED_BYTES:
      s->max_locked_bytes = g_value_get_uint64 (value);
      break;
    case PROP_SYNC_INTERVAL:
      s->sync_interval = g_value_get_uint64 (value);
      break;
    case PROP_LOCK_PRE_TIME:
      s->lock_pre_time = g_value_get_uint64 (value);
      break;
    case PROP_LOCK_POST_TIME:
      s->lock_post_time = g_value_get_uint64 (value);
      break;
    case PROP_FILE_MODE:
      s->file_mode = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_loop_rec_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstLoopRecSink *self = GST_LOOP_REC_SINK (object);
  GstLoopRecSinkSettings *s = &self->settings;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string (value, s->location);
      break;
    case PROP_FILENAME_FORMAT:
      g_value_set_string (value, s->filename_format);
      break;
    case PROP_MAX_SIZE_TIME:
      g_value_set_uint64 (value, s->max_size_time);
      break;
    case PROP_MAX_SIZE_BYTES:
      g_value_set_uint64 (value, s->max_size_bytes);
      break;
    case PROP_SEND_KEYFRAME_REQUESTS:
      g_value_set_boolean (value, s->send_keyframe_requests);
      break;
    case PROP_ALIGN_TO_WALL_CLOCK:
      g_value_set_boolean (value, s->align_to_wall_clock);
      break;
    case PROP_MAX_TOTAL_BYTES:
      g_value_set_uint64 (value, s->max_total_bytes);
      break;
    case PROP_MAX_FILES:
      g_value_set_uint (value, s->max_files);
      break;
    case PROP_MIN_FREE_BYTES:
      g_value_set_uint64 (value, s->min_free_bytes);
      break;
    case PROP_MAX_LOCKED_BYTES:
      g_value_set_uint64 (value, s->max_locked_bytes);
      break;
    case PROP_SYNC_INTERVAL:
      g_value_set_uint64 (value, s->sync_interval);
      break;
    case PROP_LOCK_PRE_TIME:
      g_value_set_uint64 (value, s->lock_pre_time);
      break;
    case PROP_LOCK_POST_TIME:
      g_value_set_uint64 (value, s->lock_post_time);
      break;
    case PROP_CURRENT_LOCATION:
      g_value_set_string (value, self->current_location);
      break;
    case PROP_FILE_MODE:
      g_value_set_uint (value, s->file_mode);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ------------------------------------------------------------------------ */
/* Messages */

/* Posts looprecsink-segment-EVENT about @seg. Extra fields: name, GType,
 * value, ..., NULL. */
static void
post_segment_message (GstLoopRecSink * self, const gchar * event,
    const DashcamSegment * seg, const gchar * reason,
    const gchar * first_extra, ...)
{
  gchar *name = g_strdup_printf ("looprecsink-segment-%s", event);
  gchar *path = g_build_filename (self->location, seg->name, NULL);
  GstStructure *s;

  s = gst_structure_new (name,
      "location", G_TYPE_STRING, path,
      "index", G_TYPE_UINT64, seg->index,
      "running-time", G_TYPE_UINT64, seg->running_time,
      "duration", G_TYPE_UINT64,
      GST_CLOCK_TIME_IS_VALID (seg->duration) ? seg->duration : 0,
      "size", G_TYPE_UINT64, seg->size,
      "locked", G_TYPE_BOOLEAN, seg->locked,
      "uploaded", G_TYPE_BOOLEAN, seg->uploaded,
      "run-id", G_TYPE_STRING, seg->run_id ? seg->run_id : "",
      "wall-time", G_TYPE_INT64, seg->wall_time,
      "reason", G_TYPE_STRING, reason, NULL);
  if (first_extra) {
    va_list args;

    va_start (args, first_extra);
    gst_structure_set_valist (s, first_extra, args);
    va_end (args);
  }
  GST_INFO_OBJECT (self, "%" GST_PTR_FORMAT, s);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
  g_free (path);
  g_free (name);
}

/* Reports a catalog write failure: the recording goes on, but the catalog
 * no longer describes it. Called with state_lock. */
static void
warn_catalog (GstLoopRecSink * self, GError * err)
{
  GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
      ("Could not update the catalog in \"%s\".", self->location),
      ("%s", err->message));
  g_clear_error (&err);
}

/* ------------------------------------------------------------------------ */
/* Retention */

static guint64
free_bytes (GstLoopRecSink * self)
{
  struct statvfs st;

  if (statvfs (self->location, &st) < 0)
    return G_MAXUINT64;
  return (guint64) st.f_bavail * st.f_frsize;
}

/* Deletes the file of a segment. A file gone already is fine; what is not
 * a regular file (a link planted under its name) is left alone and
 * forgotten. Called with state_lock. */
static gboolean
delete_segment_file (GstLoopRecSink * self, const gchar * name,
    GError ** error)
{
  GError *err = NULL;

  if (dashcam_catalog_unlink_file (self->catalog, name, &err)
      || g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_NOT_FOUND)) {
    gchar *gpx = dashcam_gpx_sidecar_name (name);

    /* its GPX sidecar goes with it */
    unlinkat (dashcam_catalog_get_dir_fd (self->catalog), gpx, 0);
    g_free (gpx);
    g_clear_error (&err);
    return TRUE;
  }
  if (g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_INVALID))
    dashcam_catalog_remove (self->catalog, name, "not-a-file", NULL);
  g_propagate_error (error, err);
  return FALSE;
}

/* TRUE when the program carries KLV (a PMT entry registered "KLVA", as
 * mpegtsmux writes it): only then do segments get a GPX sidecar. */
static gboolean
stream_has_klv (GstLoopRecSink * self)
{
  const DashcamTsParser *parser = &self->segmenter.parser;

  return parser->have_pmt
      && memmem (parser->pmt, sizeof (parser->pmt), "KLVA", 4) != NULL;
}

/* Writes the GPX sidecar of segment @name from its file @file (synced):
 * before the segment is renamed, so that a power cut leaves either a
 * complete pair or a NAME.part whose recovery writes the sidecar again.
 * Called with state_lock. */
static void
write_sidecar (GstLoopRecSink * self, const gchar * file, const gchar * name)
{
  GError *err = NULL;
  guint n = 0;

  if (!dashcam_gpx_write_sidecar (dashcam_catalog_get_dir_fd (self->catalog),
          file, name, &n, &err)) {
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("Could not write the GPX sidecar of \"%s\".", name),
        ("%s", err->message));
    g_clear_error (&err);
    return;
  }
  GST_DEBUG_OBJECT (self, "%s: GPX sidecar with %u track points", name, n);
}

/* Creates NAME.part with the file mode, inside the directory whatever a
 * link in it says. Returns the fd, or -1 with errno set (EEXIST: NAME or
 * NAME.part is taken by a file we must not replace). */
static gint
create_part_file (GstLoopRecSink * self, const gchar * name)
{
  gchar *part = g_strconcat (name, DASHCAM_PARTIAL_SUFFIX, NULL);
  GError *err = NULL;
  struct stat st;
  gint fd, e;

  if (fstatat (dashcam_catalog_get_dir_fd (self->catalog), name, &st,
          AT_SYMLINK_NOFOLLOW) == 0) {
    g_free (part);
    errno = EEXIST;
    return -1;
  }
  fd = dashcam_catalog_open_file (self->catalog, part,
      O_WRONLY | O_CREAT | O_EXCL, &err);
  e = errno;
  if (fd < 0)
    GST_DEBUG_OBJECT (self, "%s", err->message);
  g_clear_error (&err);
  g_free (part);
  errno = e;
  return fd;
}

/* Deletes what the limits say must go. With @need_space, deletes at least
 * one segment. Returns TRUE if something was deleted. Called with
 * state_lock. */
static gboolean
apply_retention (GstLoopRecSink * self, gboolean need_space)
{
  DashcamRetentionLimits limits;
  GPtrArray *list;
  GArray *actions;
  GPtrArray *names;
  gboolean satisfied, deleted = FALSE;
  GError *err = NULL;
  guint i;

  GST_OBJECT_LOCK (self);
  limits.max_files = self->settings.max_files;
  limits.max_total_bytes = self->settings.max_total_bytes;
  limits.min_free_bytes = self->settings.min_free_bytes;
  limits.max_locked_bytes = self->settings.max_locked_bytes;
  GST_OBJECT_UNLOCK (self);

  if (!limits.max_files && !limits.max_total_bytes && !limits.min_free_bytes
      && !limits.max_locked_bytes && !need_space)
    return FALSE;

  if (!dashcam_catalog_refresh (self->catalog, &err))
    warn_catalog (self, err);
  list = dashcam_catalog_list (self->catalog);
  actions = dashcam_retention_plan (list, &limits,
      limits.min_free_bytes || need_space ? free_bytes (self) : G_MAXUINT64,
      need_space, &satisfied);

  /* catalog updates invalidate the segments: copy what we need first */
  names = g_ptr_array_new_with_free_func (g_free);
  for (i = 0; i < actions->len; i++) {
    DashcamRetentionAction *a =
        &g_array_index (actions, DashcamRetentionAction, i);
    g_ptr_array_add (names, g_strdup (a->segment->name));
  }
  g_ptr_array_unref (list);

  for (i = 0; i < actions->len; i++) {
    DashcamRetentionAction *a =
        &g_array_index (actions, DashcamRetentionAction, i);
    const gchar *name = g_ptr_array_index (names, i);
    const gchar *reason = dashcam_retention_reason_to_string (a->reason);
    DashcamSegment *seg = dashcam_catalog_lookup (self->catalog, name);
    DashcamSegment copy;
    gchar *path;

    if (seg == NULL)
      continue;
    copy = *seg;
    copy.name = g_strdup (seg->name);
    copy.run_id = g_strdup (seg->run_id);

    if (a->unlock) {
      if (!dashcam_catalog_set_locked (self->catalog, name, FALSE, &err))
        warn_catalog (self, err);
      copy.locked = FALSE;
      post_segment_message (self, "locked", &copy, reason, NULL);
    } else {
      path = g_build_filename (self->location, name, NULL);
      if (!delete_segment_file (self, name, &err)) {
        GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
            ("Could not delete \"%s\".", path), ("%s", err->message));
        g_clear_error (&err);
      } else {
        deleted = TRUE;
        if (!dashcam_catalog_remove (self->catalog, name, reason, &err))
          warn_catalog (self, err);
        post_segment_message (self, "deleted", &copy, reason, NULL);
      }
      g_free (path);
    }
    g_free (copy.name);
    g_free (copy.run_id);
  }
  g_ptr_array_unref (names);
  g_array_unref (actions);

  if (!satisfied && !self->retention_stuck) {
    GST_ELEMENT_WARNING (self, RESOURCE, NO_SPACE_LEFT,
        ("Retention limits of \"%s\" cannot be met: everything left is "
            "locked or being written.", self->location), (NULL));
  }
  self->retention_stuck = !satisfied;
  return deleted;
}

/* ------------------------------------------------------------------------ */
/* Writing */

/* Writing batches data without copying it where it can: spans of the
 * input buffers are written straight from their (still mapped) memory with
 * writev(2), like filesink does with buffer lists; only small transient
 * pieces (re-inserted PAT/PMT, a packet split across buffers) are copied
 * into wbuf. */

static void
release_pending (GstLoopRecSink * self)
{
  guint i;

  for (i = 0; i < self->held->len; i++) {
    GstBuffer *buf = g_ptr_array_index (self->held, i);
    GstMapInfo *map = &g_array_index (self->held_maps, GstMapInfo, i);

    /* the buffer being rendered goes back to render(), still mapped */
    if (buf == self->render_buffer) {
      self->render_held = FALSE;
      continue;
    }
    gst_buffer_unmap (buf, map);
    gst_buffer_unref (buf);
  }
  g_ptr_array_set_size (self->held, 0);
  g_array_set_size (self->held_maps, 0);
  self->n_iov = 0;
  self->wbuf_len = 0;
  self->pending_len = 0;
  self->last_flush_us = g_get_monotonic_time ();
}

/* Writes what is pending to the open segment, freeing space when the disk
 * is full. Returns FALSE when nothing can be freed: the caller drops
 * data. */
static gboolean
flush_pending (GstLoopRecSink * self)
{
  struct iovec *iov = self->iov;
  guint n = self->n_iov;

  while (self->fd >= 0 && n > 0) {
    gssize w = writev (self->fd, iov, MIN (n, IOV_MAX));

    if (w < 0) {
      if (errno == EINTR)
        continue;
      if ((errno == ENOSPC || errno == EDQUOT) && apply_retention (self, TRUE))
        continue;
      if (errno != ENOSPC && errno != EDQUOT) {
        GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
            ("Could not write to file \"%s\".", self->part_path),
            ("%s", g_strerror (errno)));
        self->flow = GST_FLOW_ERROR;
      }
      release_pending (self);
      return FALSE;
    }
    self->file_size += w;
    while (n > 0 && (gsize) w >= iov->iov_len) {
      w -= iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (guint8 *) iov->iov_base + w;
      iov->iov_len -= w;
    }
  }
  release_pending (self);
  return TRUE;
}

/* Queues @data for the open segment; @data stays valid until the next
 * flush if it lies in the buffer being rendered. */
static gboolean
queue_pending (GstLoopRecSink * self, const guint8 * data, gsize len)
{
  struct iovec *last = self->n_iov ? &self->iov[self->n_iov - 1] : NULL;
  gboolean in_input = self->render_map.data && data >= self->render_map.data
      && data + len <= self->render_map.data + self->render_map.size;

  if (in_input && !self->render_held) {
    g_ptr_array_add (self->held, self->render_buffer);
    g_array_append_val (self->held_maps, self->render_map);
    self->render_held = TRUE;
  } else if (!in_input) {
    if (self->wbuf_len + len > WRITE_BUFFER_SIZE && !flush_pending (self))
      return FALSE;
    last = self->n_iov ? &self->iov[self->n_iov - 1] : NULL;
    memcpy (self->wbuf + self->wbuf_len, data, len);
    data = self->wbuf + self->wbuf_len;
    self->wbuf_len += len;
  }

  if (last && (guint8 *) last->iov_base + last->iov_len == data) {
    last->iov_len += len;
  } else {
    self->iov[self->n_iov].iov_base = (gpointer) data;
    self->iov[self->n_iov].iov_len = len;
    self->n_iov++;
  }
  self->pending_len += len;

  if (self->pending_len >= WRITE_BUFFER_SIZE || self->n_iov == MAX_IOV)
    return flush_pending (self);
  return TRUE;
}

static void close_segment (GstLoopRecSink * self, GstClockTime duration,
    const gchar * reason);

/* The disk is full and nothing can be deleted: end the segment at its last
 * whole packet and drop data until a new segment can start. */
static void
start_dropping (GstLoopRecSink * self, gsize pending)
{
  guint64 whole = self->file_size - self->file_size % DASHCAM_TS_PACKET_SIZE;

  if (self->flow != GST_FLOW_OK)
    return;
  GST_ELEMENT_WARNING (self, RESOURCE, NO_SPACE_LEFT,
      ("Disk full in \"%s\" and every segment left is locked: dropping "
          "video until space is available.", self->location), (NULL));
  self->dropped_bytes += pending;
  self->dropping = TRUE;
  if (self->fd >= 0) {
    if (whole != self->file_size && ftruncate (self->fd, whole) == 0)
      self->file_size = whole;
    /* the last frame is incomplete: cut it as a power cut would be */
    self->torn = TRUE;
  }
  close_segment (self, dashcam_segmenter_current_duration (&self->segmenter),
      "disk-full");
  dashcam_segmenter_request_split (&self->segmenter);
}

/* Segmenter callback: bytes for the current segment. Streaming thread,
 * with state_lock. */
static void
on_segmenter_write (gpointer user_data, gboolean open, const guint8 * data,
    gsize len)
{
  GstLoopRecSink *self = user_data;
  gsize pending;

  if (!open) {
    self->pre_start_bytes += len;
    return;
  }
  if (self->fd < 0) {
    self->dropped_bytes += len;
    return;
  }
  pending = self->pending_len + len;
  if (!queue_pending (self, data, len))
    start_dropping (self, pending);
}

static void
sync_segment (GstLoopRecSink * self)
{
  gsize pending = self->pending_len;

  if (self->fd < 0)
    return;
  if (!flush_pending (self)) {
    start_dropping (self, pending);
    return;
  }
  if (fdatasync (self->fd) < 0 && errno != EINVAL)
    GST_WARNING_OBJECT (self, "fdatasync failed: %s", g_strerror (errno));
  self->last_sync_us = g_get_monotonic_time ();
}

/* ------------------------------------------------------------------------ */
/* Segments */

static void
set_current_location (GstLoopRecSink * self, const gchar * name)
{
  gchar *path = name ? g_build_filename (self->location, name, NULL) : NULL;

  GST_OBJECT_LOCK (self);
  g_free (self->current_location);
  self->current_location = path;
  GST_OBJECT_UNLOCK (self);
}

/* Completes the open segment: sync, rename, record, report, retention.
 * Called with state_lock. */
static void
close_segment (GstLoopRecSink * self, GstClockTime duration,
    const gchar * reason)
{
  DashcamSegment *seg = &self->segment;
  gchar *final_path, *part;
  GError *err = NULL;
  gsize pending;

  if (self->fd < 0)
    return;
  part = g_strconcat (seg->name, DASHCAM_PARTIAL_SUFFIX, NULL);
  pending = self->pending_len;
  if (!flush_pending (self))
    self->dropped_bytes += pending;
  if (fdatasync (self->fd) < 0 && errno != EINVAL)
    GST_WARNING_OBJECT (self, "fdatasync failed: %s", g_strerror (errno));
  close (self->fd);
  self->fd = -1;
  set_current_location (self, NULL);

  final_path = g_build_filename (self->location, seg->name, NULL);
  seg->size = self->file_size;
  seg->duration = duration;
  if (self->torn) {
    guint64 cut;

    if (!dashcam_recover_segment_file (self->catalog, part, &seg->size,
            &seg->duration, &cut, &err))
      warn_catalog (self, err);
    self->torn = FALSE;
  }
  /* the offset to running time is known better now than at the start,
   * unless the timestamps jumped since: it is another recording's */
  if (!self->segmenter.discont && self->segmenter.have_rt_offset)
    seg->running_time = dashcam_segmenter_pts_to_running_time
        (&self->segmenter, self->segmenter.start.pts);

  if (seg->size > 2 * DASHCAM_TS_PACKET_SIZE && stream_has_klv (self))
    write_sidecar (self, part, seg->name);

  if (seg->size <= 2 * DASHCAM_TS_PACKET_SIZE) {
    /* nothing but PAT and PMT: not a segment */
    dashcam_catalog_unlink_file (self->catalog, part, NULL);
    if (!dashcam_catalog_remove (self->catalog, seg->name, "empty", &err))
      warn_catalog (self, err);
    post_segment_message (self, "deleted", seg, "empty", NULL);
  } else if (!dashcam_catalog_rename_file (self->catalog, part, seg->name,
          &err)) {
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("Could not rename \"%s\"; it will be recovered at the next start.",
            self->part_path), ("%s", err->message));
    g_clear_error (&err);
  } else {
    if (!dashcam_catalog_sync_dir (self->catalog, &err)
        || !dashcam_catalog_add_close (self->catalog, seg, &err))
      warn_catalog (self, err);
    post_segment_message (self, "closed", seg, reason, NULL);
  }

  g_free (final_path);
  g_free (part);
  g_clear_pointer (&self->part_path, g_free);
  g_clear_pointer (&seg->name, g_free);
  g_clear_pointer (&seg->run_id, g_free);

  apply_retention (self, FALSE);
  /* the journal grows by a few records a segment: rewrite it as a
   * snapshot of the live segments once it is well past them */
  if (!dashcam_catalog_compact (self->catalog, &err))
    warn_catalog (self, err);
}

static void
request_keyframe (GstLoopRecSink * self, GstClockTime running_time)
{
  GstEvent *event;

  event = gst_video_event_new_upstream_force_key_unit (running_time, TRUE, 0);
  GST_DEBUG_OBJECT (self, "requesting a keyframe at %" GST_TIME_FORMAT,
      GST_TIME_ARGS (running_time));
  gst_pad_push_event (GST_BASE_SINK_PAD (self), event);
}

/* Asks upstream for the keyframe that ends the segment, once it is due.
 * Called with state_lock. */
static void
maybe_request_keyframe (GstLoopRecSink * self)
{
  guint64 duration = dashcam_segmenter_current_duration (&self->segmenter);
  GstClockTime start;

  if (self->segment.name == NULL)
    return;
  /* The keyframe we asked for came too early on our clock (the muxer's
   * timestamps of a stream's first frames can be off by a frame or two)
   * or not at all: ask for one now rather than run a whole GOP over. */
  if (self->keyframe_overrun && duration > self->keyframe_overrun) {
    request_keyframe (self, GST_CLOCK_TIME_NONE);
    self->keyframe_overrun = 0;
  }
  if (self->keyframe_target == 0 || duration < self->keyframe_request_due)
    return;
  start = dashcam_segmenter_pts_to_running_time (&self->segmenter,
      self->segmenter.start.pts);
  if (GST_CLOCK_TIME_IS_VALID (start)) {
    /* on the encoder's clock, which can run ahead of ours (see
     * note_key_unit()) */
    gint64 rt = (gint64) (start + self->keyframe_target -
        DASHCAM_SPLIT_TOLERANCE) + self->keyframe_rt_skew -
        (gint64) self->segmenter.rt_base;

    self->keyframe_asked_rt = MAX (rt, 0);
    self->keyframe_asked_duration = self->keyframe_target;
    request_keyframe (self, self->keyframe_asked_rt);
  }
  self->keyframe_overrun = self->keyframe_target +
      MAX (2 * self->segmenter.frame_duration, 50 * GST_MSECOND);
  self->keyframe_target = 0;
}

/* A downstream force-key-unit event: the encoder forced a keyframe, which
 * comes next. Its running time is the encoder's, and ours (derived from
 * the muxer's timestamps, which count from the muxer's start rather than
 * the first frame's capture) can be behind it by a frame or, when the
 * first capture was late (a loaded machine, sanitizers), by several: the
 * keyframe asked for at the target then lands that much early on our
 * clock. The event is serialized: every frame before the keyframe is here
 * already (seen with mpegtsmux, which pushes it right before the
 * keyframe), so the keyframe starts where the segment ends now, and every
 * such event, asked for or not, tells the difference of the two clocks.
 * When it is the one asked for, the segment ends there; when it landed
 * early, it is asked for again, once, at the corrected running time
 * rather than left to the overrun a frame or more after the target. The
 * difference is measured again at the split, on the keyframe itself. */
static void
note_key_unit (GstLoopRecSink * self, GstEvent * event)
{
  GstClockTime rt = GST_CLOCK_TIME_NONE, ours;
  guint64 duration, early;

  if (!gst_video_event_parse_downstream_force_key_unit (event, NULL, NULL,
          &rt, NULL, NULL) || !GST_CLOCK_TIME_IS_VALID (rt))
    return;
  g_rec_mutex_lock (&self->state_lock);
  duration = dashcam_segmenter_current_duration (&self->segmenter);
  if (self->segment.name == NULL || duration == 0)
    goto done;

  ours = dashcam_segmenter_pts_to_running_time (&self->segmenter,
      self->segmenter.start.pts + duration);
  if (GST_CLOCK_TIME_IS_VALID (ours) && ours > 0) {
    gint64 skew = (gint64) rt - (gint64) ours;

    GST_DEBUG_OBJECT (self, "a keyframe comes at %" GST_TIME_FORMAT
        " upstream, %" GST_TIME_FORMAT " here, after %" GST_TIME_FORMAT,
        GST_TIME_ARGS (rt), GST_TIME_ARGS (ours), GST_TIME_ARGS (duration));
    if (ABS (skew) < GST_SECOND)
      self->keyframe_rt_skew = skew;
  }

  if (GST_CLOCK_TIME_IS_VALID (self->keyframe_asked_rt)
      && rt >= self->keyframe_asked_rt) {
    early = self->segmenter.frame_duration + DASHCAM_SPLIT_TOLERANCE;
    /* never more than a frame short of the target */
    if (duration + early >= self->keyframe_asked_duration) {
      GST_DEBUG_OBJECT (self, "the keyframe asked for comes at %"
          GST_TIME_FORMAT " upstream, after %" GST_TIME_FORMAT,
          GST_TIME_ARGS (rt), GST_TIME_ARGS (duration));
      dashcam_segmenter_request_split (&self->segmenter);
      self->keyframe_answered = TRUE;
      self->keyframe_answer_rt = rt;
    } else if (!self->keyframe_reasked) {
      GST_DEBUG_OBJECT (self, "the keyframe asked for comes after %"
          GST_TIME_FORMAT " of %" GST_TIME_FORMAT ": asking again",
          GST_TIME_ARGS (duration),
          GST_TIME_ARGS (self->keyframe_asked_duration));
      self->keyframe_target = self->keyframe_asked_duration;
      self->keyframe_request_due = 0;
      self->keyframe_reasked = TRUE;
    }
    self->keyframe_asked_rt = GST_CLOCK_TIME_NONE;
  }
done:
  g_rec_mutex_unlock (&self->state_lock);
}

/* How long the segment starting now at @wall_us should be. */
static guint64
target_duration (guint64 max_size_time, gboolean align, gint64 wall_us)
{
  guint64 wall_ns, next;

  if (!align || max_size_time == 0 || wall_us <= 0)
    return max_size_time;
  wall_ns = (guint64) wall_us * GST_USECOND;
  next = (wall_ns / max_size_time + 1) * max_size_time;
  /* a sliver of a segment up to the boundary is not worth a file */
  if (next - wall_ns < GST_SECOND)
    next += max_size_time;
  return next - wall_ns;
}

/* Forgets the name that could not be created, and its catalog record
 * unless @reason is NULL (it was not written). */
static void
abandon_segment (GstLoopRecSink * self, const gchar * reason)
{
  if (reason && self->segment.name)
    dashcam_catalog_remove (self->catalog, self->segment.name, reason, NULL);
  g_clear_pointer (&self->segment.name, g_free);
  g_clear_pointer (&self->part_path, g_free);
}

/* Creates the file of a new segment starting at @point. */
static gboolean
open_segment (GstLoopRecSink * self, const DashcamSplitPoint * point,
    gint64 wall_us)
{
  DashcamSegment *seg = &self->segment;
  GError *err = NULL;
  gboolean freed = FALSE;
  gint open_errno = EEXIST;
  guint attempts;

  memset (seg, 0, sizeof (*seg));
  seg->index = dashcam_catalog_next_index (self->catalog);
  seg->run_id = g_strdup (dashcam_run_get_id (self->run));
  seg->running_time = point->running_time;
  seg->duration = GST_CLOCK_TIME_NONE;
  seg->wall_time = wall_us;
  seg->locked = GST_CLOCK_TIME_IS_VALID (self->lock_until)
      && GST_CLOCK_TIME_IS_VALID (point->running_time)
      && point->running_time < self->lock_until;

  for (attempts = 0; attempts < 1000; attempts++, seg->index++) {
    seg->name = dashcam_filename_format_expand (self->filename_format,
        wall_us, seg->index, &err);
    if (seg->name == NULL)
      goto bad_name;
    self->part_path = g_strconcat (self->location, G_DIR_SEPARATOR_S,
        seg->name, DASHCAM_PARTIAL_SUFFIX, NULL);
    /* announce before creating: whatever a crash leaves is known as ours */
    if (!dashcam_catalog_add_open (self->catalog, seg, &err))
      goto catalog_failed;
    self->fd = create_part_file (self, seg->name);
    if (self->fd >= 0)
      break;
    open_errno = errno;
    if (errno == EEXIST) {
      /* a foreign file has this name: leave it, take the next index */
      abandon_segment (self, "name-taken");
    } else if ((errno == ENOSPC || errno == EDQUOT) && !freed
        && apply_retention (self, TRUE)) {
      /* out of inodes or space: try once more after deleting */
      freed = TRUE;
      abandon_segment (self, "disk-full");
    } else {
      goto open_failed;
    }
  }
  if (self->fd < 0)
    goto open_failed;

  self->file_size = 0;
  self->last_sync_us = g_get_monotonic_time ();
  set_current_location (self, seg->name);
  return TRUE;

  /* ERRORS */
bad_name:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid filename-format \"%s\".", self->filename_format),
        ("%s", err->message));
    g_clear_error (&err);
    abandon_segment (self, NULL);
    g_clear_pointer (&seg->run_id, g_free);
    self->flow = GST_FLOW_ERROR;
    return FALSE;
  }
catalog_failed:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("Could not write the catalog in \"%s\".", self->location),
        ("%s", err->message));
    g_clear_error (&err);
    abandon_segment (self, NULL);
    g_clear_pointer (&seg->run_id, g_free);
    self->flow = GST_FLOW_ERROR;
    return FALSE;
  }
open_failed:
  {
    gint e = open_errno;
    gboolean full = e == ENOSPC || e == EDQUOT;

    /* disk full: the caller drops data until a segment can be opened */
    if (!full) {
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
          ("Could not open file \"%s\" for writing.",
              self->part_path ? self->part_path : self->location),
          ("%s", g_strerror (e)));
      self->flow = GST_FLOW_ERROR;
    }
    abandon_segment (self, full ? "disk-full" : "open-failed");
    g_clear_pointer (&seg->run_id, g_free);
    return FALSE;
  }
}

static const gchar *
split_reason (GstLoopRecSink * self, gboolean requested)
{
  if (self->dropping)
    return "disk-full";
  if (self->segment.name == NULL)
    return self->flushed ? "flush" : "start";
  if (requested && !self->keyframe_answered)
    return "split-now";
  if (self->segmenter.max_bytes
      && self->segmenter.bytes >= self->segmenter.max_bytes)
    return "max-size-bytes";
  return "max-size-time";
}

/* Segmenter callback: a new segment starts at @point. Streaming thread,
 * with state_lock. */
static void
on_segmenter_split (gpointer user_data, const DashcamSplitPoint * point)
{
  GstLoopRecSink *self = user_data;
  const gchar *reason = split_reason (self, self->segmenter.split_requested);
  guint64 max_time, max_bytes, target;
  gboolean align, keyframes;
  gint64 wall_us = dashcam_wall_clock_now ();

  /* the request belonged to the segment that ends here */
  self->keyframe_asked_rt = GST_CLOCK_TIME_NONE;
  if (self->keyframe_answered && GST_CLOCK_TIME_IS_VALID (point->running_time)
      && GST_CLOCK_TIME_IS_VALID (self->keyframe_answer_rt)) {
    gint64 skew = (gint64) (self->keyframe_answer_rt +
        self->segmenter.rt_base) - (gint64) point->running_time;

    if (ABS (skew) < GST_SECOND)
      self->keyframe_rt_skew = skew;
    GST_DEBUG_OBJECT (self, "upstream running time - ours: %" G_GINT64_FORMAT
        " ns", skew);
  }
  self->keyframe_answered = FALSE;
  self->keyframe_answer_rt = GST_CLOCK_TIME_NONE;
  self->keyframe_reasked = FALSE;

  if (self->segment.name)
    close_segment (self, dashcam_segmenter_ending_duration (&self->segmenter,
            point), "split");

  GST_OBJECT_LOCK (self);
  max_time = self->settings.max_size_time;
  max_bytes = self->settings.max_size_bytes;
  align = self->settings.align_to_wall_clock;
  keyframes = self->settings.send_keyframe_requests;
  GST_OBJECT_UNLOCK (self);

  target = target_duration (max_time, align, wall_us);
  dashcam_segmenter_set_limits (&self->segmenter, target, max_bytes);
  self->bytes_keyframe_requested = FALSE;

  if (self->flow != GST_FLOW_OK)
    return;
  if (self->dropping && free_bytes (self) < RESUME_FREE_BYTES
      && !apply_retention (self, TRUE)) {
    /* still full: stay without a file until the next keyframe */
    return;
  }
  apply_retention (self, FALSE);

  if (!open_segment (self, point, wall_us)) {
    if (self->flow == GST_FLOW_OK && !self->dropping)
      start_dropping (self, 0);
    else if (self->flow == GST_FLOW_OK)
      return;
    else
      self->flow = GST_FLOW_ERROR;
    return;
  }
  if (self->dropping) {
    GST_ELEMENT_INFO (self, RESOURCE, NO_SPACE_LEFT,
        ("Recording again: %" G_GUINT64_FORMAT " bytes were dropped while "
            "the disk was full.", self->dropped_bytes), (NULL));
    self->dropping = FALSE;
    self->dropped_bytes = 0;
  }

  if (self->segment.locked) {
    GError *err = NULL;

    if (!dashcam_catalog_set_locked (self->catalog, self->segment.name, TRUE,
            &err))
      warn_catalog (self, err);
  }
  self->flushed = FALSE;
  post_segment_message (self, "opened", &self->segment, reason, NULL);
  if (self->segment.locked)
    post_segment_message (self, "locked", &self->segment, "lock", NULL);

  self->keyframe_target = keyframes && target > DASHCAM_SPLIT_TOLERANCE ?
      target : 0;
  /* The first timestamps of a stream can be off (a muxer stamps its first
   * buffers from its own start, not the frame's): for the first segment,
   * ask once the running time of its start is settled. */
  self->keyframe_request_due = self->segments_opened++ > 0 ? 0 :
      MIN (target / 4, GST_SECOND);
  self->keyframe_overrun = 0;
  /* sent from after_render(): the segmenter still describes the segment
   * that ends here */
}

/* ------------------------------------------------------------------------ */
/* Locking */

/* Locks the closed segments of this run that overlap [start, end). */
static void
lock_closed_segments (GstLoopRecSink * self, GstClockTime start,
    GstClockTime end)
{
  GPtrArray *list = dashcam_catalog_list (self->catalog);
  GPtrArray *hits = g_ptr_array_new_with_free_func (g_free);
  const gchar *run = dashcam_run_get_id (self->run);
  GError *err = NULL;
  guint i;

  for (i = 0; i < list->len; i++) {
    DashcamSegment *s = g_ptr_array_index (list, i);

    if (!s->complete || s->locked || g_strcmp0 (s->run_id, run) != 0
        || !GST_CLOCK_TIME_IS_VALID (s->running_time)
        || !GST_CLOCK_TIME_IS_VALID (s->duration))
      continue;
    if (s->running_time < end && s->running_time + s->duration > start)
      g_ptr_array_add (hits, g_strdup (s->name));
  }
  g_ptr_array_unref (list);

  for (i = 0; i < hits->len; i++) {
    const gchar *name = g_ptr_array_index (hits, i);
    DashcamSegment *s;

    if (!dashcam_catalog_set_locked (self->catalog, name, TRUE, &err)) {
      warn_catalog (self, err);
      continue;
    }
    if ((s = dashcam_catalog_lookup (self->catalog, name)))
      post_segment_message (self, "locked", s, "lock", "window-start",
          G_TYPE_UINT64, start, "window-end", G_TYPE_UINT64, end, NULL);
  }
  g_ptr_array_unref (hits);
}

/* "Now" for a lock request: the running time of the newest recorded data,
 * which is what the segments are measured in; the clock before that. */
static GstClockTime
current_running_time (GstLoopRecSink * self)
{
  GstClock *clock;
  GstClockTime now = GST_CLOCK_TIME_NONE;

  if (GST_CLOCK_TIME_IS_VALID (self->last_running_time))
    return self->last_running_time;
  clock = gst_element_get_clock (GST_ELEMENT (self));
  if (clock) {
    GstClockTime base = gst_element_get_base_time (GST_ELEMENT (self));
    GstClockTime t = gst_clock_get_time (clock);

    if (t >= base)
      now = t - base;
    gst_object_unref (clock);
  }
  return now;
}

/* Action signal handler; any thread. */
static void
gst_loop_rec_sink_lock (GstLoopRecSink * self, guint64 pre, guint64 post)
{
  GstClockTime now, start, end;
  GError *err = NULL;

  GST_OBJECT_LOCK (self);
  if (pre == G_MAXUINT64)
    pre = self->settings.lock_pre_time;
  if (post == G_MAXUINT64)
    post = self->settings.lock_post_time;
  GST_OBJECT_UNLOCK (self);

  g_rec_mutex_lock (&self->state_lock);
  if (self->catalog == NULL) {
    GST_WARNING_OBJECT (self, "lock requested while not recording");
    goto out;
  }
  now = current_running_time (self);
  if (!GST_CLOCK_TIME_IS_VALID (now)) {
    GST_WARNING_OBJECT (self, "lock requested before the first buffer");
    goto out;
  }
  start = now > pre ? now - pre : 0;
  end = now + post;
  GST_INFO_OBJECT (self, "locking [%" GST_TIME_FORMAT ", %" GST_TIME_FORMAT
      ")", GST_TIME_ARGS (start), GST_TIME_ARGS (end));

  if (!GST_CLOCK_TIME_IS_VALID (self->lock_until) || end > self->lock_until)
    self->lock_until = end;
  lock_closed_segments (self, start, end);

  if (self->segment.name && !self->segment.locked
      && GST_CLOCK_TIME_IS_VALID (self->segment.running_time)
      && self->segment.running_time < end) {
    self->segment.locked = TRUE;
    if (!dashcam_catalog_set_locked (self->catalog, self->segment.name, TRUE,
            &err))
      warn_catalog (self, err);
    post_segment_message (self, "locked", &self->segment, "lock",
        "window-start", G_TYPE_UINT64, start, "window-end", G_TYPE_UINT64,
        end, NULL);
  }
out:
  g_rec_mutex_unlock (&self->state_lock);
}

static void
gst_loop_rec_sink_split_now (GstLoopRecSink * self)
{
  g_rec_mutex_lock (&self->state_lock);
  dashcam_segmenter_request_split (&self->segmenter);
  g_rec_mutex_unlock (&self->state_lock);
  request_keyframe (self, GST_CLOCK_TIME_NONE);
}

static gboolean
handle_lock_event (GstLoopRecSink * self, GstEvent * event)
{
  const GstStructure *s = gst_event_get_structure (event);
  guint64 pre = G_MAXUINT64, post = G_MAXUINT64;

  if (s == NULL || !gst_structure_has_name (s, LOCK_EVENT_NAME))
    return FALSE;
  gst_structure_get_uint64 (s, "pre", &pre);
  gst_structure_get_uint64 (s, "post", &post);
  gst_loop_rec_sink_lock (self, pre, post);
  return TRUE;
}

static gboolean
gst_loop_rec_sink_send_event (GstElement * element, GstEvent * event)
{
  GstLoopRecSink *self = GST_LOOP_REC_SINK (element);

  if (handle_lock_event (self, event)) {
    gst_event_unref (event);
    return TRUE;
  }
  return GST_ELEMENT_CLASS (parent_class)->send_event (element, event);
}

/* ------------------------------------------------------------------------ */
/* Start and stop */

static void
on_recover_event (const DashcamRecoverEvent * ev, gpointer user_data)
{
  GstLoopRecSink *self = user_data;

  switch (ev->result) {
    case DASHCAM_RECOVER_RECOVERED:
      write_sidecar (self, ev->segment->name, ev->segment->name);
      post_segment_message (self, "recovered", ev->segment,
          ev->adopted ? "adopted" : "power-cut",
          "cut-bytes", G_TYPE_UINT64, ev->cut_bytes, NULL);
      break;
    case DASHCAM_RECOVER_REMOVED:{
      DashcamSegment seg = { 0, };

      seg.name = (gchar *) ev->name;
      seg.running_time = GST_CLOCK_TIME_NONE;
      post_segment_message (self, "deleted", &seg, "empty", NULL);
      break;
    }
    case DASHCAM_RECOVER_MISSING:
      GST_WARNING_OBJECT (self, "segment %s is gone: %s", ev->name,
          ev->detail);
      break;
    case DASHCAM_RECOVER_FOREIGN:
    case DASHCAM_RECOVER_FAILED:
      GST_ELEMENT_WARNING (self, RESOURCE, READ,
          ("Skipping \"%s\" in \"%s\": %s", ev->name, self->location,
              ev->detail), (NULL));
      break;
  }
}

/* A `.dashcam` that is a link (or holds links) is never followed: it is
 * renamed, and the segments are adopted into a new catalog. Called with
 * state_lock. */
static void
set_aside_state_dir (GstLoopRecSink * self)
{
  GError *err = NULL;
  gchar *aside = dashcam_catalog_set_aside_state_dir (self->location, &err);

  if (aside)
    GST_ELEMENT_WARNING (self, RESOURCE, READ,
        ("\"%s/%s\" is a symbolic link, or holds one where the catalog "
            "should be: not following it, moved it to \"%s\"",
            self->location, DASHCAM_STATE_DIR, aside),
        (NULL));
  g_free (aside);
  g_clear_error (&err);
}

static gboolean
prepare_location (GstLoopRecSink * self)
{
  if (self->location == NULL || *self->location == '\0')
    goto no_location;
  if (!dashcam_make_dir (self->location, self->file_mode, NULL))
    goto mkdir_failed;
  if (!g_file_test (self->location, G_FILE_TEST_IS_DIR))
    goto not_a_dir;
  if (access (self->location, W_OK | X_OK) < 0)
    goto not_writable;
  return TRUE;

  /* ERRORS */
no_location:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No location set: the property \"location\" must name a directory."),
        (NULL));
    return FALSE;
  }
mkdir_failed:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("Could not create the directory \"%s\" (property \"location\").",
            self->location), ("%s", g_strerror (errno)));
    return FALSE;
  }
not_a_dir:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("\"%s\" (property \"location\") is not a directory.", self->location),
        (NULL));
    return FALSE;
  }
not_writable:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("The directory \"%s\" (property \"location\") is not writable.",
            self->location), ("%s", g_strerror (errno)));
    return FALSE;
  }
}

static gboolean
gst_loop_rec_sink_start (GstBaseSink * sink)
{
  GstLoopRecSink *self = GST_LOOP_REC_SINK (sink);
  GError *err = NULL;

  g_rec_mutex_lock (&self->state_lock);
  GST_OBJECT_LOCK (self);
  self->location = g_strdup (self->settings.location);
  self->filename_format = g_strdup (self->settings.filename_format);
  self->file_mode = self->settings.file_mode;
  GST_OBJECT_UNLOCK (self);

  if (!dashcam_filename_format_validate (self->filename_format, &err))
    goto bad_format;
  if (!prepare_location (self))
    goto fail;

  set_aside_state_dir (self);
  self->catalog = dashcam_catalog_open_full (self->location, self->file_mode,
      &err);
  if (self->catalog == NULL)
    goto catalog_failed;
  if (!dashcam_catalog_lock_recorder (self->catalog, &err))
    goto catalog_failed;
  if (dashcam_catalog_n_corrupt_records (self->catalog) > 0)
    GST_ELEMENT_WARNING (self, RESOURCE, READ,
        ("Skipped %u corrupt records in the catalog of \"%s\".",
            dashcam_catalog_n_corrupt_records (self->catalog), self->location),
        (NULL));
  if (!dashcam_recover_directory_full (self->catalog, self->filename_format,
          on_recover_event, self, &err)
      || !dashcam_catalog_compact (self->catalog, &err))
    goto catalog_failed;

  self->run = dashcam_run_acquire (GST_ELEMENT (self));
  dashcam_segmenter_init (&self->segmenter, &segmenter_funcs, self);
  self->wbuf = g_malloc (WRITE_BUFFER_SIZE);
  self->wbuf_len = 0;
  self->iov = g_new (struct iovec, MAX_IOV);
  self->n_iov = 0;
  self->pending_len = 0;
  self->held = g_ptr_array_new ();
  self->held_maps = g_array_new (FALSE, FALSE, sizeof (GstMapInfo));
  self->fd = -1;
  self->flow = GST_FLOW_OK;
  self->last_running_time = GST_CLOCK_TIME_NONE;
  self->lock_until = GST_CLOCK_TIME_NONE;
  self->reported_skipped = 0;
  self->pre_start_bytes = 0;
  self->dropping = FALSE;
  self->torn = FALSE;
  self->flushed = FALSE;
  self->segments_opened = 0;
  self->keyframe_target = 0;
  self->keyframe_overrun = 0;
  self->keyframe_asked_rt = GST_CLOCK_TIME_NONE;
  self->keyframe_answered = FALSE;
  self->keyframe_answer_rt = GST_CLOCK_TIME_NONE;
  self->keyframe_reasked = FALSE;
  self->keyframe_rt_skew = 0;
  self->dropped_bytes = 0;
  self->retention_stuck = FALSE;
  g_rec_mutex_unlock (&self->state_lock);

  GST_INFO_OBJECT (self, "recording into %s, run %s", self->location,
      dashcam_run_get_id (self->run));
  return TRUE;

  /* ERRORS */
bad_format:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid property \"filename-format\": %s", err->message), (NULL));
    g_clear_error (&err);
    goto fail;
  }
catalog_failed:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("Could not use \"%s\" (property \"location\"): %s", self->location,
            err->message), (NULL));
    g_clear_error (&err);
    goto fail;
  }
fail:
  g_clear_pointer (&self->catalog, dashcam_catalog_free);
  g_clear_pointer (&self->location, g_free);
  g_clear_pointer (&self->filename_format, g_free);
  g_rec_mutex_unlock (&self->state_lock);
  return FALSE;
}

static gboolean
gst_loop_rec_sink_stop (GstBaseSink * sink)
{
  GstLoopRecSink *self = GST_LOOP_REC_SINK (sink);

  g_rec_mutex_lock (&self->state_lock);
  /* stopped without EOS: keep what was recorded */
  if (self->segment.name)
    close_segment (self, dashcam_segmenter_current_duration (&self->segmenter),
        "stop");
  if (self->held)
    release_pending (self);
  g_clear_pointer (&self->wbuf, g_free);
  g_clear_pointer (&self->iov, g_free);
  g_clear_pointer (&self->held, g_ptr_array_unref);
  g_clear_pointer (&self->held_maps, g_array_unref);
  g_clear_pointer (&self->run, dashcam_run_release);
  g_clear_pointer (&self->catalog, dashcam_catalog_free);
  g_clear_pointer (&self->location, g_free);
  g_clear_pointer (&self->filename_format, g_free);
  g_rec_mutex_unlock (&self->state_lock);
  set_current_location (self, NULL);
  return TRUE;
}

static gboolean
gst_loop_rec_sink_set_caps (GstBaseSink * sink, GstCaps * caps)
{
  GstStructure *s = gst_caps_get_structure (caps, 0);
  gint packet_size;

  if (gst_structure_get_int (s, "packetsize", &packet_size)
      && packet_size != DASHCAM_TS_PACKET_SIZE) {
    GST_ELEMENT_ERROR (sink, STREAM, FORMAT,
        ("Only 188-byte MPEG-TS packets are supported, not %d.", packet_size),
        ("caps: %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  return TRUE;
}

/* After a flush (a seek): what was received before it completes the open
 * segment, and the data of the new position starts a new one at its first
 * keyframe, with nothing of the old carried over (a partial packet, tables
 * held back, keyframe requests). Called with state_lock. */
static void
flush_recording (GstLoopRecSink * self)
{
  /* the flush can cut a frame: end the segment at its last whole one */
  if (self->fd >= 0)
    self->torn = TRUE;
  if (self->segment.name)
    close_segment (self, dashcam_segmenter_current_duration (&self->segmenter),
        "flush");
  dashcam_segmenter_flush (&self->segmenter);
  self->flushed = TRUE;
  self->bytes_keyframe_requested = FALSE;
  self->keyframe_target = 0;
  self->keyframe_overrun = 0;
  self->keyframe_asked_rt = GST_CLOCK_TIME_NONE;
  self->keyframe_answered = FALSE;
  self->keyframe_answer_rt = GST_CLOCK_TIME_NONE;
}

static gboolean
gst_loop_rec_sink_event (GstBaseSink * sink, GstEvent * event)
{
  GstLoopRecSink *self = GST_LOOP_REC_SINK (sink);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_FLUSH_STOP:
      g_rec_mutex_lock (&self->state_lock);
      if (self->catalog)
        flush_recording (self);
      g_rec_mutex_unlock (&self->state_lock);
      break;
    case GST_EVENT_EOS:
      g_rec_mutex_lock (&self->state_lock);
      dashcam_segmenter_finish (&self->segmenter);
      if (self->segment.name)
        close_segment (self,
            dashcam_segmenter_current_duration (&self->segmenter), "eos");
      g_rec_mutex_unlock (&self->state_lock);
      break;
    case GST_EVENT_CUSTOM_DOWNSTREAM:
      if (gst_video_event_is_force_key_unit (event))
        note_key_unit (self, event);
      /* fall through */
    case GST_EVENT_CUSTOM_DOWNSTREAM_OOB:
    case GST_EVENT_CUSTOM_BOTH:
      if (handle_lock_event (self, event)) {
        gst_event_unref (event);
        return TRUE;
      }
      break;
    default:
      break;
  }
  return GST_BASE_SINK_CLASS (parent_class)->event (sink, event);
}

/* ------------------------------------------------------------------------ */
/* Data flow */

static GstClockTime
buffer_running_time (GstBaseSink * sink, GstBuffer * buffer)
{
  GstSegment *segment = &sink->segment;
  GstClockTime ts = GST_BUFFER_DTS_OR_PTS (buffer);

  if (!GST_CLOCK_TIME_IS_VALID (ts) || segment->format != GST_FORMAT_TIME)
    return GST_CLOCK_TIME_NONE;
  return gst_segment_to_running_time (segment, GST_FORMAT_TIME, ts);
}

/* Periodic work after each buffer. Called with state_lock. */
static void
after_render (GstLoopRecSink * self)
{
  guint64 sync_interval, skipped;
  gint64 now_us;

  maybe_request_keyframe (self);

  if (self->segmenter.max_bytes && !self->bytes_keyframe_requested
      && self->segmenter.bytes >= self->segmenter.max_bytes) {
    gboolean keyframes;

    GST_OBJECT_LOCK (self);
    keyframes = self->settings.send_keyframe_requests;
    GST_OBJECT_UNLOCK (self);
    self->bytes_keyframe_requested = TRUE;
    if (keyframes)
      request_keyframe (self, GST_CLOCK_TIME_NONE);
  }

  /* nothing is due more often than every FLUSH_INTERVAL_US: spare the
   * object lock on the way of every buffer */
  now_us = g_get_monotonic_time ();
  if (now_us - self->last_flush_us < FLUSH_INTERVAL_US)
    goto check_garbage;
  GST_OBJECT_LOCK (self);
  sync_interval = self->settings.sync_interval;
  GST_OBJECT_UNLOCK (self);
  if (sync_interval > 0 && self->fd >= 0
      && (guint64) (now_us - self->last_sync_us) * GST_USECOND >=
      sync_interval) {
    sync_segment (self);
  } else if (self->pending_len > 0) {
    /* a crash of this process (not of the machine) then loses at most
     * this much: the kernel has the rest */
    gsize pending = self->pending_len;

    if (!flush_pending (self))
      start_dropping (self, pending);
  }

check_garbage:
  skipped = self->segmenter.skipped_bytes;
  if (skipped != self->reported_skipped) {
    GST_ELEMENT_WARNING (self, STREAM, DEMUX,
        ("Input is not a clean MPEG-TS stream: skipped %" G_GUINT64_FORMAT
            " bytes of garbage to find packet boundaries.",
            skipped - self->reported_skipped), (NULL));
    self->reported_skipped = skipped;
  }
}

static GstFlowReturn
gst_loop_rec_sink_render (GstBaseSink * sink, GstBuffer * buffer)
{
  GstLoopRecSink *self = GST_LOOP_REC_SINK (sink);
  GstClockTime rt = buffer_running_time (sink, buffer);
  GstFlowReturn ret;
  GstMapInfo map;

  if (!gst_buffer_map (buffer, &map, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Could not map a buffer."),
        (NULL));
    return GST_FLOW_ERROR;
  }

  g_rec_mutex_lock (&self->state_lock);
  self->render_buffer = gst_buffer_ref (buffer);
  self->render_map = map;
  self->render_held = FALSE;
  dashcam_segmenter_push (&self->segmenter, map.data, map.size, rt);
  /* on the segments' axis, which goes on when upstream's went back */
  if (GST_CLOCK_TIME_IS_VALID (rt))
    self->last_running_time = rt + self->segmenter.rt_base;
  if (!GST_CLOCK_TIME_IS_VALID (rt) && self->segmenter.have_max_pts)
    self->last_running_time = dashcam_segmenter_pts_to_running_time
        (&self->segmenter, self->segmenter.max_pts);
  after_render (self);
  ret = self->flow;
  /* pending writes may point into it: then it is released by the flush */
  if (!self->render_held) {
    gst_buffer_unmap (buffer, &map);
    gst_buffer_unref (buffer);
  }
  self->render_buffer = NULL;
  memset (&self->render_map, 0, sizeof (self->render_map));
  g_rec_mutex_unlock (&self->state_lock);
  return ret;
}
