/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/**
 * SECTION:element-srtuploadsink
 * @title: srtuploadsink
 *
 * Streams MPEG-TS live to an SRT server (caller mode, libsrt) and, when the
 * link was down, uploads the recorded segments the server missed from the
 * looprecsink directory in #GstSrtUploadSink:backlog-location, over a
 * second SRT connection, while live streaming goes on.
 *
 * The streaming thread never waits on the network: it copies data into a
 * bounded queue (#GstSrtUploadSink:live-buffer-time) that a sender thread
 * drains. When the link is down or too slow, live data is dropped — the
 * recorder has it — and the running-time range is recorded as a gap. Every
 * live session starts with PAT, PMT and a keyframe (requested from
 * upstream), so the server can decode from its first byte. While the
 * first connection is being set up, the stream is held from its first
 * keyframe (up to #GstSrtUploadSink:live-buffer-time), so a server that
 * is reachable at start gets it from the first frame. Going PLAYING
 * never fails because the server is unreachable: the element reconnects
 * forever, with exponential backoff up to
 * #GstSrtUploadSink:reconnect-max-interval.
 *
 * A segment recorded in this run is uploaded when it overlaps a gap
 * (#GstSrtUploadSink:backlog-policy `gaps`), and marked uploaded without
 * being sent when the server played all of it out live. Segments of
 * earlier runs that were never confirmed are uploaded too. A segment
 * counts as uploaded only once libsrt reports every byte acknowledged and
 * none dropped, and the receiver's latency has passed since the last
 * packet (an acknowledged packet waits that long in the receiver's libsrt
 * before the server reads it; a server that stops reading at a disconnect
 * would lose it) and the receiver is known to have lived that long (one
 * killed before loses what its libsrt held); an interrupted upload is
 * retried from the start.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -e videotestsrc is-live=true ! video/x-raw,format=I420 ! \
 *     x264enc tune=zerolatency key-int-max=30 ! h264parse ! mpegtsmux ! \
 *     tee name=t \
 *   t. ! queue ! looprecsink location=rec max-size-time=10000000000 \
 *   t. ! queue ! srtuploadsink uri=srt://127.0.0.1:8890 device-id=car42 \
 *          backlog-location=rec
 * ]|
 *
 * ## Messages
 *
 * * `srtuploadsink-link`: `state` (string: `connecting`, `up`, `down`),
 *   `reason` (string: `start` or `reconnect` when connecting, `connected`
 *   when up, `unreachable`, `rejected`, `bad-passphrase`, `timeout` or
 *   `lost` when down), `streamid` (string),
 *   `detail` (string)
 * * `srtuploadsink-backlog`: `segment` (string, file name), `location`
 *   (string, full path), `state` (string: `queued`, `started`, `done`,
 *   `failed`), `bytes` (guint64, segment size), `progress` (gdouble, 0 to
 *   1), `reason` (string: why it was queued or why it failed;
 *   `one-at-a-time` when the server refused a second connection while one
 *   was open: it takes one caller at a time, and uploads go one after
 *   another from then on)
 *
 * The passphrase never appears in logs, messages or stats; streamids
 * appear with their credentials masked (a MediaMTX password, `s=`,
 * `secret=`, `token=`...).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsrtuploadsink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gst/video/video.h>

#include "dashcamnaming.h"
#include "dashcamtemplate.h"

GST_DEBUG_CATEGORY_STATIC (gst_srt_upload_sink_debug);
#define GST_CAT_DEFAULT gst_srt_upload_sink_debug

#define DEFAULT_URI NULL
#define DEFAULT_BACKLOG_URI NULL
#define DEFAULT_DEVICE_ID NULL
#define DEFAULT_STREAMID_FORMAT "publish:{device}/{start}"
#define DEFAULT_BACKLOG_STREAMID_FORMAT "publish:{device}/{segment}"
#define DEFAULT_BACKLOG_LOCATION NULL
#define DEFAULT_BACKLOG_POLICY DASHCAM_BACKLOG_POLICY_GAPS
#define DEFAULT_BACKLOG_MAX_BITRATE 0
#define DEFAULT_LATENCY 125
#define DEFAULT_PASSPHRASE NULL
#define DEFAULT_PBKEYLEN 0
#define DEFAULT_LINK_TIMEOUT (2 * GST_SECOND)
#define DEFAULT_RECONNECT_MAX_INTERVAL (10 * GST_SECOND)
#define DEFAULT_LIVE_BUFFER_TIME GST_SECOND

/* a partial payload waits this long for more data before it is sent */
#define CHUNK_MAX_AGE_US (10 * 1000)
/* the sleeping sender is woken early once this many payloads wait; below
 * that it wakes when the oldest is CHUNK_MAX_AGE_US old, which bounds the
 * added latency and saves a thread wake-up per payload (~700 a second at
 * 8 Mbit/s) */
#define WAKE_CHUNKS 8
/* libsrt's counters are read when a payload is sent this long after the
 * last reading, and by a timer twice as long when nothing is sent */
#define STATS_INTERVAL_US (100 * 1000)
/* how long libsrt's receiving thread of the live connection may wait for
 * a packet (see DashcamSrtConfig) */
#define LIVE_RECEIVE_POLL_MS 50
#define BACKLOG_POLL_US (500 * 1000)
/* A backlog receiver's latency (it takes the larger of its own and ours)
 * is link-timeout plus this, and an upload with a packet unacknowledged
 * for latency less this is given up and sent again whole: a receiver with
 * too-late drop on (libsrt's default) skips a packet only at its playout
 * time and then acknowledges past it, so it cannot have skipped one of a
 * segment that counts as uploaded. The margin covers the round trip and
 * the checks' pace. */
#define BACKLOG_LATENCY_MARGIN_MS 1000
#define BACKLOG_CHECK_US (50 * 1000)
#define MIN_AUTO_BITRATE (2 * 1000 * 1000)
/* Bounds on stopping, whatever link-timeout, latency and the network are:
 * EOS waits this long at most for the live tail to be acknowledged, and
 * the live connection lingers this long at most after it */
#define EOS_DRAIN_MAX_US (1500 * 1000)
#define STOP_LINGER_MAX_US (500 * 1000)
/* a loss reported this long before a packet was sent may be its own: the
 * statistics are read every STATS_INTERVAL_US */
#define LOSS_SLACK_US (2 * STATS_INTERVAL_US)
/* an upload that starts this soon after the last one was due keeps its
 * pace, in us */
#define PACE_CATCH_UP_US (500 * 1000)
/* a late packet without a loss report is looked at again after this */
#define LATE_RECHECK_US (20 * 1000)
/* the round-trip estimate is libsrt's guess before this, in us */
#define RTT_SETTLE_US (500 * 1000)
/* no backlog upload starts until live went this long without congestion */
#define CONGESTION_QUIET_US (2 * G_USEC_PER_SEC)

enum
{
  PROP_0,
  PROP_URI,
  PROP_BACKLOG_URI,
  PROP_DEVICE_ID,
  PROP_STREAMID_FORMAT,
  PROP_BACKLOG_STREAMID_FORMAT,
  PROP_BACKLOG_LOCATION,
  PROP_BACKLOG_POLICY,
  PROP_BACKLOG_MAX_BITRATE,
  PROP_LATENCY,
  PROP_PASSPHRASE,
  PROP_PBKEYLEN,
  PROP_LINK_TIMEOUT,
  PROP_RECONNECT_MAX_INTERVAL,
  PROP_LIVE_BUFFER_TIME,
  PROP_STATS,
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/mpegts, systemstream = (boolean) true"));

GType
gst_srt_upload_sink_backlog_policy_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {DASHCAM_BACKLOG_POLICY_GAPS,
        "Upload the segments that overlap a live gap", "gaps"},
    {DASHCAM_BACKLOG_POLICY_ALL, "Upload every segment", "all"},
    {DASHCAM_BACKLOG_POLICY_LOCKED,
        "Upload locked segments that overlap a live gap", "locked"},
    {DASHCAM_BACKLOG_POLICY_NONE, "Upload nothing", "none"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSrtUploadSinkBacklogPolicy", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

#define GST_TYPE_SRT_UPLOAD_SINK_KEY_LENGTH \
  (gst_srt_upload_sink_key_length_get_type ())
static GType
gst_srt_upload_sink_key_length_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {0, "libsrt default (16)", "default"},
    {16, "128-bit AES", "16"},
    {24, "192-bit AES", "24"},
    {32, "256-bit AES", "32"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSrtUploadSinkKeyLength", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

#define gst_srt_upload_sink_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstSrtUploadSink, gst_srt_upload_sink,
    GST_TYPE_BASE_SINK,
    GST_DEBUG_CATEGORY_INIT (gst_srt_upload_sink_debug, "srtuploadsink", 0,
        "SRT live and backlog upload sink"));
GST_ELEMENT_REGISTER_DEFINE (srtuploadsink, "srtuploadsink", GST_RANK_NONE,
    GST_TYPE_SRT_UPLOAD_SINK);

static void gst_srt_upload_sink_finalize (GObject * object);
static void gst_srt_upload_sink_set_property (GObject * object,
    guint prop_id, const GValue * value, GParamSpec * pspec);
static void gst_srt_upload_sink_get_property (GObject * object,
    guint prop_id, GValue * value, GParamSpec * pspec);
static gboolean gst_srt_upload_sink_start (GstBaseSink * sink);
static gboolean gst_srt_upload_sink_stop (GstBaseSink * sink);
static gboolean gst_srt_upload_sink_event (GstBaseSink * sink,
    GstEvent * event);
static gboolean gst_srt_upload_sink_unlock (GstBaseSink * sink);
static gboolean gst_srt_upload_sink_unlock_stop (GstBaseSink * sink);
static GstFlowReturn gst_srt_upload_sink_render (GstBaseSink * sink,
    GstBuffer * buffer);

static void on_segmenter_write (gpointer user_data, gboolean open,
    const guint8 * data, gsize len);
static void on_segmenter_split (gpointer user_data,
    const DashcamSplitPoint * point);

static const DashcamSegmenterFuncs segmenter_funcs = {
  on_segmenter_write,
  on_segmenter_split,
};

#define PARAM_FLAGS_READY \
  (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)

static void
gst_srt_upload_sink_class_init (GstSrtUploadSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);

  gobject_class->finalize = gst_srt_upload_sink_finalize;
  gobject_class->set_property = gst_srt_upload_sink_set_property;
  gobject_class->get_property = gst_srt_upload_sink_get_property;

  g_object_class_install_property (gobject_class, PROP_URI,
      g_param_spec_string ("uri", "URI",
          "Live server, srt://host:port (query parameters latency, "
          "passphrase, pbkeylen and streamid are accepted, as by srtsink, "
          "and sndbuf, libsrt's send buffer in bytes)",
          DEFAULT_URI, PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_BACKLOG_URI,
      g_param_spec_string ("backlog-uri", "Backlog URI",
          "Server for backlog uploads, srt://host:port (NULL = same as uri)",
          DEFAULT_BACKLOG_URI, PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_DEVICE_ID,
      g_param_spec_string ("device-id", "Device ID",
          "The device's name for {device} in streamids, without : , / # = & "
          "? or spaces (NULL = the machine id from /etc/machine-id)",
          DEFAULT_DEVICE_ID, PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_STREAMID_FORMAT,
      g_param_spec_string ("streamid-format", "Streamid format",
          "Streamid of live sessions; placeholders {device} and {start} (UTC "
          "start of the session, %Y%m%d-%H%M%S); at most 512 bytes",
          DEFAULT_STREAMID_FORMAT, PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class,
      PROP_BACKLOG_STREAMID_FORMAT,
      g_param_spec_string ("backlog-streamid-format",
          "Backlog streamid format",
          "Streamid of backlog uploads; placeholders {device}, {segment} "
          "(file name without extension) and {start} (UTC start of the "
          "segment); at most 512 bytes", DEFAULT_BACKLOG_STREAMID_FORMAT,
          PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_BACKLOG_LOCATION,
      g_param_spec_string ("backlog-location", "Backlog location",
          "The looprecsink directory to upload missed segments from "
          "(NULL = no backlog)", DEFAULT_BACKLOG_LOCATION, PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_BACKLOG_POLICY,
      g_param_spec_enum ("backlog-policy", "Backlog policy",
          "Which segments to upload", GST_TYPE_SRT_UPLOAD_SINK_BACKLOG_POLICY,
          DEFAULT_BACKLOG_POLICY, PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_BACKLOG_MAX_BITRATE,
      g_param_spec_uint64 ("backlog-max-bitrate", "Backlog max bitrate",
          "Pace of backlog uploads, in bits per second (0 = automatic: "
          "twice the live bitrate, at least 2 Mbit/s)", 0, G_MAXUINT64,
          DEFAULT_BACKLOG_MAX_BITRATE, PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_LATENCY,
      g_param_spec_int ("latency", "Latency",
          "SRT latency, in milliseconds", 20, 60000, DEFAULT_LATENCY,
          PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_PASSPHRASE,
      g_param_spec_string ("passphrase", "Passphrase",
          "AES encryption passphrase of both connections, 10 to 79 "
          "characters (NULL = no encryption); write-only, never logged",
          DEFAULT_PASSPHRASE, G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_PBKEYLEN,
      g_param_spec_enum ("pbkeylen", "Key length",
          "AES key length, in bytes", GST_TYPE_SRT_UPLOAD_SINK_KEY_LENGTH,
          DEFAULT_PBKEYLEN, PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_LINK_TIMEOUT,
      g_param_spec_uint64 ("link-timeout", "Link timeout",
          "A silent or stuck link is declared down after this, in "
          "nanoseconds", 100 * GST_MSECOND, G_MAXUINT64, DEFAULT_LINK_TIMEOUT,
          PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class,
      PROP_RECONNECT_MAX_INTERVAL,
      g_param_spec_uint64 ("reconnect-max-interval", "Reconnect max interval",
          "Longest wait between reconnection attempts (the backoff doubles "
          "from 250 ms up to this), in nanoseconds", 100 * GST_MSECOND,
          G_MAXUINT64, DEFAULT_RECONNECT_MAX_INTERVAL, PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_LIVE_BUFFER_TIME,
      g_param_spec_uint64 ("live-buffer-time", "Live buffer time",
          "Live data waiting for the network beyond this is dropped (and "
          "uploaded later from the recording), in nanoseconds",
          10 * GST_MSECOND, G_MAXUINT64, DEFAULT_LIVE_BUFFER_TIME,
          PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Link state, rtt-ms, bytes, packets sent/retransmitted/dropped, "
          "bandwidth-mbps, gaps, gap-time (ns), backlog pending segments "
          "and bytes, uploaded segments and bytes, the segment uploading "
          "and its progress (0-1)", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_set_static_metadata (element_class,
      "SRT live and backlog upload sink", "Sink/Network",
      "Streams MPEG-TS live over SRT and uploads what the server missed "
      "from the recording directory",
      "gst-dashcam authors <dev@gst-dashcam.invalid>");
  gst_element_class_add_static_pad_template (element_class, &sink_template);

  basesink_class->start = GST_DEBUG_FUNCPTR (gst_srt_upload_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_srt_upload_sink_stop);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_srt_upload_sink_event);
  basesink_class->unlock = GST_DEBUG_FUNCPTR (gst_srt_upload_sink_unlock);
  basesink_class->unlock_stop =
      GST_DEBUG_FUNCPTR (gst_srt_upload_sink_unlock_stop);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_srt_upload_sink_render);

  gst_type_mark_as_plugin_api (GST_TYPE_SRT_UPLOAD_SINK_BACKLOG_POLICY, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_SRT_UPLOAD_SINK_KEY_LENGTH, 0);
}

static void
gst_srt_upload_sink_init (GstSrtUploadSink * self)
{
  GstSrtUploadSinkSettings *s = &self->settings;

  s->streamid_format = g_strdup (DEFAULT_STREAMID_FORMAT);
  s->backlog_streamid_format = g_strdup (DEFAULT_BACKLOG_STREAMID_FORMAT);
  s->backlog_policy = DEFAULT_BACKLOG_POLICY;
  s->backlog_max_bitrate = DEFAULT_BACKLOG_MAX_BITRATE;
  s->latency = DEFAULT_LATENCY;
  s->pbkeylen = DEFAULT_PBKEYLEN;
  s->link_timeout = DEFAULT_LINK_TIMEOUT;
  s->reconnect_max_interval = DEFAULT_RECONNECT_MAX_INTERVAL;
  s->live_buffer_time = DEFAULT_LIVE_BUFFER_TIME;

  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->chunks);

  /* live: render as data comes, never wait for the clock */
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
}

static void
settings_clear (GstSrtUploadSinkSettings * s)
{
  g_clear_pointer (&s->uri, g_free);
  g_clear_pointer (&s->backlog_uri, g_free);
  g_clear_pointer (&s->device_id, g_free);
  g_clear_pointer (&s->streamid_format, g_free);
  g_clear_pointer (&s->backlog_streamid_format, g_free);
  g_clear_pointer (&s->backlog_location, g_free);
  if (s->passphrase)
    memset (s->passphrase, 0, strlen (s->passphrase));
  g_clear_pointer (&s->passphrase, g_free);
}

static void
settings_copy (GstSrtUploadSinkSettings * dst,
    const GstSrtUploadSinkSettings * src)
{
  *dst = *src;
  dst->uri = g_strdup (src->uri);
  dst->backlog_uri = g_strdup (src->backlog_uri);
  dst->device_id = g_strdup (src->device_id);
  dst->streamid_format = g_strdup (src->streamid_format);
  dst->backlog_streamid_format = g_strdup (src->backlog_streamid_format);
  dst->backlog_location = g_strdup (src->backlog_location);
  dst->passphrase = g_strdup (src->passphrase);
}

static void
gst_srt_upload_sink_finalize (GObject * object)
{
  GstSrtUploadSink *self = GST_SRT_UPLOAD_SINK (object);

  settings_clear (&self->settings);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
set_string (gchar ** field, const GValue * value)
{
  g_free (*field);
  *field = g_value_dup_string (value);
}

static void
gst_srt_upload_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstSrtUploadSink *self = GST_SRT_UPLOAD_SINK (object);
  GstSrtUploadSinkSettings *s = &self->settings;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_URI:
      set_string (&s->uri, value);
      break;
    case PROP_BACKLOG_URI:
      set_string (&s->backlog_uri, value);
      break;
    case PROP_DEVICE_ID:
      set_string (&s->device_id, value);
      break;
    case PROP_STREAMID_FORMAT:
      set_string (&s->streamid_format, value);
      break;
    case PROP_BACKLOG_STREAMID_FORMAT:
      set_string (&s->backlog_streamid_format, value);
      break;
    case PROP_BACKLOG_LOCATION:
      set_string (&s->backlog_location, value);
      break;
    case PROP_BACKLOG_POLICY:
      s->backlog_policy = g_value_get_enum (value);
      break;
    case PROP_BACKLOG_MAX_BITRATE:
      s->backlog_max_bitrate = g_value_get_uint64 (value);
      break;
    case PROP_LATENCY:
      s->latency = g_value_get_int (value);
      break;
    case PROP_PASSPHRASE:
      if (s->passphrase)
        memset (s->passphrase, 0, strlen (s->passphrase));
      set_string (&s->passphrase, value);
      break;
    case PROP_PBKEYLEN:
      s->pbkeylen = g_value_get_enum (value);
      break;
    case PROP_LINK_TIMEOUT:
      s->link_timeout = g_value_get_uint64 (value);
      break;
    case PROP_RECONNECT_MAX_INTERVAL:
      s->reconnect_max_interval = g_value_get_uint64 (value);
      break;
    case PROP_LIVE_BUFFER_TIME:
      s->live_buffer_time = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static const gchar *
state_to_string (GstSrtUploadSinkLinkState state)
{
  switch (state) {
    case LINK_CONNECTING:
      return "connecting";
    case LINK_UP:
      return "up";
    case LINK_DOWN:
      return "down";
  }
  return "unknown";
}

/* Called with lock. */
static GstStructure *
build_stats (GstSrtUploadSink * self)
{
  GstClockTime now = self->render_rt;

  return gst_structure_new ("srtuploadsink-stats",
      "state", G_TYPE_STRING, state_to_string (self->state),
      "rtt-ms", G_TYPE_DOUBLE, self->live_stats.rtt_ms,
      "bandwidth-mbps", G_TYPE_DOUBLE, self->live_stats.bandwidth_mbps,
      "bytes-sent", G_TYPE_UINT64, self->live_stats.bytes_sent,
      "packets-sent", G_TYPE_UINT64, self->live_stats.packets_sent,
      "packets-retransmitted", G_TYPE_UINT64,
      self->live_stats.packets_retransmitted,
      "packets-dropped", G_TYPE_UINT64, self->live_stats.packets_dropped,
      "live-dropped-bytes", G_TYPE_UINT64, self->live_dropped_bytes,
      "gaps", G_TYPE_UINT, self->gaps.gaps ?
      dashcam_gap_list_count (&self->gaps) : 0,
      "gap-time", G_TYPE_UINT64, self->gaps.gaps ?
      dashcam_gap_list_total (&self->gaps, now) : 0,
      "backlog-pending", G_TYPE_UINT, self->n_pending,
      "backlog-pending-bytes", G_TYPE_UINT64, self->pending_bytes,
      "uploaded", G_TYPE_UINT, self->n_uploaded,
      "uploaded-bytes", G_TYPE_UINT64, self->uploaded_bytes,
      "uploading", G_TYPE_STRING, self->uploading ? self->uploading : "",
      "upload-progress", G_TYPE_DOUBLE, self->upload_progress, NULL);
}

static void
gst_srt_upload_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstSrtUploadSink *self = GST_SRT_UPLOAD_SINK (object);
  GstSrtUploadSinkSettings *s = &self->settings;

  if (prop_id == PROP_STATS) {
    g_mutex_lock (&self->lock);
    g_value_take_boxed (value, build_stats (self));
    g_mutex_unlock (&self->lock);
    return;
  }

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_URI:
      g_value_set_string (value, s->uri);
      break;
    case PROP_BACKLOG_URI:
      g_value_set_string (value, s->backlog_uri);
      break;
    case PROP_DEVICE_ID:
      g_value_set_string (value, s->device_id);
      break;
    case PROP_STREAMID_FORMAT:
      g_value_set_string (value, s->streamid_format);
      break;
    case PROP_BACKLOG_STREAMID_FORMAT:
      g_value_set_string (value, s->backlog_streamid_format);
      break;
    case PROP_BACKLOG_LOCATION:
      g_value_set_string (value, s->backlog_location);
      break;
    case PROP_BACKLOG_POLICY:
      g_value_set_enum (value, s->backlog_policy);
      break;
    case PROP_BACKLOG_MAX_BITRATE:
      g_value_set_uint64 (value, s->backlog_max_bitrate);
      break;
    case PROP_LATENCY:
      g_value_set_int (value, s->latency);
      break;
    case PROP_PBKEYLEN:
      g_value_set_enum (value, s->pbkeylen);
      break;
    case PROP_LINK_TIMEOUT:
      g_value_set_uint64 (value, s->link_timeout);
      break;
    case PROP_RECONNECT_MAX_INTERVAL:
      g_value_set_uint64 (value, s->reconnect_max_interval);
      break;
    case PROP_LIVE_BUFFER_TIME:
      g_value_set_uint64 (value, s->live_buffer_time);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ------------------------------------------------------------------------ */
/* Messages */

static void
post_link (GstSrtUploadSink * self, GstSrtUploadSinkLinkState state,
    const gchar * reason, const gchar * streamid, const gchar * detail)
{
  /* a streamid may carry credentials (user:pass, s=...): never shown */
  gchar *shown = dashcam_streamid_mask (streamid);
  GstStructure *s = gst_structure_new ("srtuploadsink-link",
      "state", G_TYPE_STRING, state_to_string (state),
      "reason", G_TYPE_STRING, reason,
      "streamid", G_TYPE_STRING, shown,
      "detail", G_TYPE_STRING, detail ? detail : "", NULL);

  GST_INFO_OBJECT (self, "%" GST_PTR_FORMAT, s);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
  g_free (shown);
}

static void
post_backlog (GstSrtUploadSink * self, const gchar * name, const gchar * state,
    guint64 bytes, gdouble progress, const gchar * reason)
{
  gchar *path = g_build_filename (self->cfg.backlog_location, name, NULL);
  GstStructure *s = gst_structure_new ("srtuploadsink-backlog",
      "segment", G_TYPE_STRING, name,
      "location", G_TYPE_STRING, path,
      "state", G_TYPE_STRING, state,
      "bytes", G_TYPE_UINT64, bytes,
      "progress", G_TYPE_DOUBLE, progress,
      "reason", G_TYPE_STRING, reason ? reason : "", NULL);

  GST_INFO_OBJECT (self, "%" GST_PTR_FORMAT, s);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
  g_free (path);
}

/* ------------------------------------------------------------------------ */
/* The live queue: streaming thread in, sender thread out */

/* Drops everything queued; the next session starts at a keyframe. Called
 * with lock. */
static void
flush_queue (GstSrtUploadSink * self)
{
  GstSrtUploadSinkChunk *c;

  while ((c = g_queue_pop_head (&self->chunks))) {
    self->live_dropped_bytes += c->len;
    g_free (c);
  }
  self->queued_bytes = 0;
  self->need_start = TRUE;
  self->keyframe_requested = FALSE;
}

/* Called with lock, from the streaming thread. */
static void
queue_data (GstSrtUploadSink * self, const guint8 * data, gsize len)
{
  GstClockTime rt = self->segmenter.have_max_pts ?
      dashcam_segmenter_pts_to_running_time (&self->segmenter,
      self->segmenter.max_pts) : self->render_rt;
  GstSrtUploadSinkChunk *tail = g_queue_peek_tail (&self->chunks);
  GstSrtUploadSinkChunk *head;
  gboolean was_empty = tail == NULL;
  gboolean filled = FALSE;

  while (len > 0) {
    gsize n;

    if (tail == NULL || tail->len == DASHCAM_SRT_PAYLOAD_SIZE) {
      tail = g_new (GstSrtUploadSinkChunk, 1);
      tail->len = 0;
      tail->complete = FALSE;
      tail->created_us = g_get_monotonic_time ();
      g_queue_push_tail (&self->chunks, tail);
    }
    n = MIN (len, DASHCAM_SRT_PAYLOAD_SIZE - tail->len);
    memcpy (tail->data + tail->len, data, n);
    tail->len += n;
    tail->running_time = rt;
    self->queued_bytes += n;
    filled |= tail->len == DASHCAM_SRT_PAYLOAD_SIZE;
    data += n;
    len -= n;
  }

  /* the network does not keep up: drop, the recorder has it */
  head = g_queue_peek_head (&self->chunks);
  if (GST_CLOCK_TIME_IS_VALID (rt) && GST_CLOCK_TIME_IS_VALID
      (head->running_time) && rt > head->running_time
      && rt - head->running_time > self->cfg.live_buffer_time) {
    GST_WARNING_OBJECT (self, "live queue over %" GST_TIME_FORMAT
        ": dropping it", GST_TIME_ARGS (self->cfg.live_buffer_time));
    dashcam_gap_list_open (&self->gaps, head->running_time);
    flush_queue (self);
  }
  /* the sleeping sender (awake, it drains the queue) is woken at the end
   * of the buffer (see render()) for a batch of whole payloads (muxers push
   * 188-byte buffers), or when data arrives in an empty queue: it then
   * sleeps until that payload is due */
  if (was_empty || (filled && self->chunks.length > WAKE_CHUNKS))
    self->wake_sender = TRUE;
}

/* Segmenter callback, streaming thread, with lock. */
static void
on_segmenter_write (gpointer user_data, gboolean open, const guint8 * data,
    gsize len)
{
  GstSrtUploadSink *self = user_data;

  if ((self->state != LINK_UP && !self->hold) || self->need_start
      || self->eos) {
    self->live_dropped_bytes += len;
    return;
  }
  queue_data (self, data, len);
}

/* Segmenter callback, streaming thread, with lock: a keyframe with PAT and
 * PMT comes next; a new session starts there if one is wanted. */
static void
on_segmenter_split (gpointer user_data, const DashcamSplitPoint * point)
{
  GstSrtUploadSink *self = user_data;

  if ((self->state != LINK_UP && !self->hold) || !self->need_start)
    return;
  GST_INFO_OBJECT (self, "live session starts at %" GST_TIME_FORMAT "%s",
      GST_TIME_ARGS (point->running_time), self->state == LINK_UP ? "" :
      ", held until the link is up");
  self->need_start = FALSE;
  self->keyframe_requested = FALSE;
  if (self->state == LINK_UP)
    dashcam_gap_list_close (&self->gaps, point->running_time);
  else
    self->hold_rt = point->running_time;
}

/* ------------------------------------------------------------------------ */
/* The live sender thread */

/* Waits up to @us or until stopped. Called with lock. */
static void
wait_locked (GstSrtUploadSink * self, gint64 us)
{
  gint64 end = g_get_monotonic_time () + us;

  while (self->running && g_get_monotonic_time () < end)
    g_cond_wait_until (&self->cond, &self->lock, end);
}

/* Reports link states once per outage: down (again only if the reason
 * changes), connecting after each report of down, up when it is back. */
/* Waits @us, even when stopping, but never more than STOP_LINGER_MAX_US:
 * stop() waits for it. Called with lock. */
static void
linger_locked (GstSrtUploadSink * self, gint64 us)
{
  g_mutex_unlock (&self->lock);
  g_usleep (MIN (us, STOP_LINGER_MAX_US));
  g_mutex_lock (&self->lock);
}

static void
set_link_state (GstSrtUploadSink * self, GstSrtUploadSinkLinkState state,
    DashcamSrtReason reason, const gchar * reason_str, const gchar * streamid,
    const gchar * detail)
{
  gboolean post = FALSE;

  g_mutex_lock (&self->lock);
  switch (state) {
    case LINK_DOWN:
      post = self->reported_state == LINK_UP
          || self->reported_reason != reason;
      break;
    case LINK_CONNECTING:
      post = self->reported_state == LINK_DOWN;
      break;
    case LINK_UP:
      post = self->reported_state != LINK_UP;
      break;
  }
  if (post) {
    self->reported_state = state;
    if (state != LINK_CONNECTING)
      self->reported_reason = reason;
  }
  self->state = state;
  self->reason = reason;
  g_mutex_unlock (&self->lock);
  if (post)
    post_link (self, state, reason_str, streamid, detail);
}

static DashcamSrtLink *
connect_live (GstSrtUploadSink * self, gchar ** streamid)
{
  DashcamTemplateValues values = { self->cfg.device_id,
    dashcam_wall_clock_now (), NULL
  };
  DashcamSrtConfig config = self->live_config;
  DashcamSrtReason reason;
  DashcamSrtLink *link;
  gchar *detail = NULL;

  *streamid = dashcam_template_expand (self->cfg.streamid_format, &values,
      NULL);
  config.streamid = *streamid;
  link = dashcam_srt_link_connect (&config, &reason, &detail);
  if (link == NULL && g_cancellable_is_cancelled (self->cancel)) {
    GST_DEBUG_OBJECT (self, "stopped while connecting");
  } else if (link == NULL) {
    GST_DEBUG_OBJECT (self, "connect failed: %s", detail);
    set_link_state (self, LINK_DOWN, reason,
        dashcam_srt_reason_to_string (reason), *streamid, detail);
  }
  g_free (detail);
  return link;
}

/* The link broke: what was not acknowledged is missing on the server. */
static void
link_down (GstSrtUploadSink * self, DashcamSrtReason reason,
    const gchar * streamid)
{
  g_mutex_lock (&self->lock);
  dashcam_gap_list_open (&self->gaps, self->confirmed);
  flush_queue (self);
  self->live_up_us = self->live_ack_us = 0;
  g_mutex_unlock (&self->lock);
  set_link_state (self, LINK_DOWN, reason,
      dashcam_srt_reason_to_string (reason), streamid, NULL);
}

/* Acknowledgement progress of the live connection. */
typedef struct
{
  guint64 handed;               /* packets given to libsrt */
  guint64 acked;
  guint64 dropped;
  guint64 acks;
  gint64 progress_us;           /* when acked last grew, or nothing was due */
  gint64 connected_us;
  gint64 poll_us;               /* the last statistics poll */
  gint64 alive_us;              /* the receiver was surely alive then */
  gint64 last_send_us;          /* when the last packet went to libsrt */
  gint peer_latency_ms;         /* the receiver's TSBPD delay */
  gdouble rtt_min_ms;
  guint64 lost;                 /* packets the receiver reported missing */
  guint64 lost_seen;
  gint64 lost_us;               /* when lost_seen last grew */
  gint64 check_us;              /* next look for late packets, 0 = none */
  gboolean late;                /* packets are late */
  gboolean late_gap;            /* ... and we opened the gap for them */
} LiveProgress;

static void
live_progress_reset (LiveProgress * p, DashcamSrtLink * link, gint latency)
{
  gint64 now = g_get_monotonic_time ();

  memset (p, 0, sizeof (*p));
  p->progress_us = p->poll_us = p->alive_us = p->connected_us = now;
  p->peer_latency_ms = link ? dashcam_srt_link_get_peer_latency (link) : -1;
  if (p->peer_latency_ms < 0)
    p->peer_latency_ms = latency;
  p->rtt_min_ms = -1;
}

/* How long a packet may stay unacknowledged before the receiver may have
 * skipped it: a receiver with too-late drop on (libsrt's default) gives a
 * missing packet up at its playout time, send time + latency + one-way
 * delay, and acknowledges past it; its acknowledgement of that arrives
 * here no sooner than latency + the round trip after the sending. A third
 * of the latency is left for our timer to fire before that. */
static gint64
late_after_us (const LiveProgress * p)
{
  return ((gint64) p->peer_latency_ms * 1000) * 2 / 3 +
      (gint64) (MAX (p->rtt_min_ms, 0.0) * 1000);
}

/* Notes when the receiver last reported packets missing. */
static void
note_losses (LiveProgress * p, guint64 lost, gint64 now)
{
  if (lost > p->lost_seen) {
    p->lost_seen = lost;
    p->lost_us = now;
  }
}

/* Congestion: a packet still in libsrt's send buffer (@in_buffer packets
 * are) longer than late_after_us() may never be played out by the
 * receiver, which then acknowledges past it without a word; the sender
 * sees no drop. The receiver skips only a hole (a packet that arrives
 * late but whole is handed out late), and reports a hole at once: so a
 * late packet counts when the receiver reported a loss since it was sent,
 * which keeps a round trip that merely grew from counting. Such a stretch
 * is a gap: it opens at what was acknowledged in time and closes at the
 * first packet that is not late. The last packets after EOS are not
 * checked: nothing follows them that the receiver could play out instead
 * (and libsrt acknowledges the last packets of a stream late). Sender
 * thread. */
static void
check_late (GstSrtUploadSink * self, DashcamSrtLink * link,
    DashcamAckTracker * acks, LiveProgress * p, guint64 in_buffer,
    gint64 now)
{
  gint64 sent_us = 0;
  GstClockTime rt = GST_CLOCK_TIME_NONE;
  gboolean have = in_buffer > 0 && in_buffer <= p->handed
      && dashcam_ack_tracker_packet (acks, p->handed - in_buffer + 1,
      &sent_us, &rt);
  gboolean late = have && now - sent_us > late_after_us (p);

  p->check_us = have ? sent_us + late_after_us (p) + 1000 : 0;
  if (late && !p->late) {
    DashcamSrtStats st;

    dashcam_srt_link_get_stats (link, &st);
    note_losses (p, st.packets_lost, now);
    late = p->lost_us > 0 && p->lost_us + LOSS_SLACK_US >= sent_us;
    /* no loss reported yet: look again soon, the report may be on its
     * way */
    if (!late)
      p->check_us = now + LATE_RECHECK_US;
  }
  g_mutex_lock (&self->lock);
  if (self->eos && self->chunks.length == 0) {
    late = FALSE;
    p->check_us = 0;
  }
  /* also when the gap was closed meanwhile (a new session started after
   * a queue overflow) while packets are still late */
  if (late && (!p->late || !dashcam_gap_list_is_open (&self->gaps))) {
    if (!p->late)
      GST_WARNING_OBJECT (self, "live packets unacknowledged for %"
          G_GINT64_FORMAT " ms (receiver latency %d ms): the receiver may "
          "skip them", (now - sent_us) / 1000, p->peer_latency_ms);
    /* nothing acknowledged yet: from a little before this packet */
    p->late_gap = dashcam_gap_list_open (&self->gaps,
        GST_CLOCK_TIME_IS_VALID (acks->confirmed) ? acks->confirmed :
        rt > 100 * GST_MSECOND ? rt - 100 * GST_MSECOND : 0);
    p->late = TRUE;
  } else if (!late && p->late) {
    if (!GST_CLOCK_TIME_IS_VALID (rt))
      rt = dashcam_ack_tracker_last_sent (acks);
    /* a gap opened otherwise, or a queue overflow meanwhile, closes at
     * the next session */
    if (p->late_gap && !self->need_start && GST_CLOCK_TIME_IS_VALID (rt))
      dashcam_gap_list_close (&self->gaps, rt);
    GST_INFO_OBJECT (self, "live packets acknowledged in time again");
    p->late = p->late_gap = FALSE;
  }
  /* a backlog upload would compete with a link that holds packets past
   * the receiver's latency; one that is late now and then has room */
  if (late && now - sent_us > late_after_us (p) +
      (gint64) p->peer_latency_ms * 1000 / 3)
    self->congested_us = now;
  g_mutex_unlock (&self->lock);
}

/* Polls libsrt; returns FALSE when the link must be declared down: broken,
 * or data outstanding without a single acknowledgement for link-timeout
 * (libsrt's own peer-idle detection takes 5 s or more). */
static gboolean
poll_live_stats (GstSrtUploadSink * self, DashcamSrtLink * link,
    DashcamAckTracker * acks, LiveProgress * p, DashcamSrtReason * reason)
{
  DashcamSrtStats st;
  GstClockTime played;
  guint64 gone, handed = p->handed;
  gboolean ack_arrived, eos;
  gint64 now = g_get_monotonic_time ();

  dashcam_srt_link_get_stats (link, &st);
  /* Packets leave the send buffer when acknowledged, or when libsrt drops
   * them as too late; the counters cannot tell these apart exactly, so
   * acknowledgements only count while ACKs really arrive. */
  gone = st.packets_in_flight + st.packets_dropped;
  ack_arrived = st.acks_received > p->acks;
  p->acks = st.acks_received;
  if (ack_arrived || (st.packets_in_flight == 0
          && st.packets_dropped == p->dropped)) {
    p->progress_us = now;
    if (handed > gone && handed - gone > p->acked)
      p->acked = handed - gone;
  }
  /* an ACK that came after the last poll was sent after it, less the way
   * back: the round trip is part of dashcam_srt_playout_wait_us() */
  if (ack_arrived)
    p->alive_us = p->poll_us;
  p->poll_us = now;
  /* libsrt starts from a guess of 100 ms, and its estimate follows the
   * measurements after a few acknowledgements; under loss, it sometimes
   * takes a sample that is far too short (an ACKACK matched to another
   * ACK) */
  if (st.rtt_ms > 0 && now - p->connected_us > RTT_SETTLE_US
      && st.packets_lost == p->lost
      && (p->rtt_min_ms < 0 || st.rtt_ms < p->rtt_min_ms))
    p->rtt_min_ms = st.rtt_ms;
  p->lost = st.packets_lost;
  GST_LOG_OBJECT (self, "handed %" G_GUINT64_FORMAT " in flight %"
      G_GUINT64_FORMAT " (%" G_GINT64_FORMAT " ms) dropped %" G_GUINT64_FORMAT
      " acks %" G_GUINT64_FORMAT " acked %" G_GUINT64_FORMAT " rtt %.1f ms "
      "(min %.1f)", handed, st.packets_in_flight, st.ms_in_flight,
      st.packets_dropped, st.acks_received, p->acked, st.rtt_ms,
      p->rtt_min_ms);

  note_losses (p, st.packets_lost, now);
  check_late (self, link, acks, p, st.packets_in_flight, now);
  dashcam_ack_tracker_acked (acks, p->acked);
  g_mutex_lock (&self->lock);
  if (st.packets_dropped > p->dropped) {
    GST_WARNING_OBJECT (self, "libsrt dropped %" G_GUINT64_FORMAT
        " live packets", st.packets_dropped - p->dropped);
    dashcam_gap_list_open (&self->gaps, self->confirmed);
    flush_queue (self);
    self->congested_us = now;
  }
  played = dashcam_ack_tracker_played (acks, p->alive_us -
      dashcam_srt_playout_wait_us (p->peer_latency_ms, st.rtt_ms));
  p->dropped = st.packets_dropped;
  if (ack_arrived)
    self->live_ack_us = p->alive_us;
  self->live_stats = st;
  if (GST_CLOCK_TIME_IS_VALID (played))
    self->confirmed = played;
  if (handed > 0 && st.packets_in_flight == 0
      && p->acked + st.packets_dropped >= handed)
    self->all_confirmed = TRUE;
  else if (handed > 0)
    self->all_confirmed = FALSE;
  /* after EOS the stream is the server's once the receiver played the
   * last packet out: a receiver that stops reading when we close (SRS
   * does) would lose what its libsrt still holds */
  if (self->eos && self->all_confirmed && self->chunks.length == 0
      && !st.broken && !self->tail_played && now >= p->last_send_us +
      dashcam_srt_playout_wait_us (p->peer_latency_ms, st.rtt_ms)) {
    GST_DEBUG_OBJECT (self, "the receiver played the stream out");
    self->tail_played = TRUE;
    g_cond_broadcast (&self->cond);
  }
  self->live_bitrate = st.send_rate_mbps * 1000000;
  eos = self->eos;
  g_mutex_unlock (&self->lock);

  if (st.broken) {
    *reason = DASHCAM_SRT_LOST;
    return FALSE;
  }
  /* after EOS, libsrt may acknowledge the last packets late (nothing
   * follows them): while the link holds, the wait is drain_live()'s */
  if (!eos && ((guint64) (now - p->progress_us) * GST_USECOND >
          self->cfg.link_timeout
          || (guint64) st.ms_in_flight * GST_MSECOND >
          self->cfg.link_timeout)) {
    *reason = DASHCAM_SRT_TIMEOUT;
    return FALSE;
  }
  return TRUE;
}

/* Takes the next payload that is ready. Called with lock. */
static GstSrtUploadSinkChunk *
pop_ready_chunk (GstSrtUploadSink * self)
{
  GstSrtUploadSinkChunk *head = g_queue_peek_head (&self->chunks);

  if (head == NULL)
    return NULL;
  if (head->len < DASHCAM_SRT_PAYLOAD_SIZE && !head->complete
      && self->chunks.length == 1 && !self->eos
      && g_get_monotonic_time () - head->created_us < CHUNK_MAX_AGE_US)
    return NULL;
  self->queued_bytes -= head->len;
  return g_queue_pop_head (&self->chunks);
}

static gpointer
sender_thread (gpointer data)
{
  GstSrtUploadSink *self = data;
  DashcamSrtLink *link = NULL;
  DashcamAckTracker acks;
  gchar *streamid = NULL;
  gint64 backoff_us = 250 * 1000, next_stats = 0;
  LiveProgress progress;
  gboolean ever_up = FALSE;

  dashcam_ack_tracker_init (&acks);
  live_progress_reset (&progress, NULL, self->cfg.latency);
  g_mutex_lock (&self->lock);
  while (self->running) {
    GstSrtUploadSinkChunk *chunk;
    DashcamSrtReason reason = DASHCAM_SRT_OK;
    gboolean would_block, ok;

    if (link == NULL) {
      gint64 attempt_us = g_get_monotonic_time ();

      g_mutex_unlock (&self->lock);
      g_clear_pointer (&streamid, g_free);
      set_link_state (self, LINK_CONNECTING, DASHCAM_SRT_OK,
          ever_up ? "reconnect" : "start", NULL, NULL);
      link = connect_live (self, &streamid);
      g_mutex_lock (&self->lock);
      if (link == NULL && self->hold) {
        /* what was held for the first session will not reach the server */
        self->hold = FALSE;
        flush_queue (self);
      }
      if (link == NULL) {
        /* attempts start every backoff_us: a server that comes back is
         * found within one interval */
        wait_locked (self, attempt_us + backoff_us - g_get_monotonic_time ());
        backoff_us = MIN (backoff_us * 2,
            (gint64) (self->cfg.reconnect_max_interval / GST_USECOND));
        continue;
      }
      backoff_us = 250 * 1000;
      live_progress_reset (&progress, link, self->live_config.latency_ms);
      dashcam_ack_tracker_reset (&acks);
      GST_DEBUG_OBJECT (self, "receiver latency %d ms",
          progress.peer_latency_ms);
      self->live_latency_ms = progress.peer_latency_ms;
      self->live_up_us = progress.connected_us;
      self->live_ack_us = 0;
      if (self->hold && !self->need_start) {
        /* the held first session goes out now, from its first keyframe;
         * the state is up before the lock is released so that the
         * streaming thread keeps appending to it */
        GST_INFO_OBJECT (self, "sending the held session from %"
            GST_TIME_FORMAT, GST_TIME_ARGS (self->hold_rt));
        dashcam_gap_list_close (&self->gaps, self->hold_rt);
        self->state = LINK_UP;
      } else {
        flush_queue (self);
      }
      self->hold = FALSE;
      memset (&self->live_stats, 0, sizeof (self->live_stats));
      g_free (self->live_streamid);
      self->live_streamid = g_strdup (streamid);
      g_mutex_unlock (&self->lock);
      set_link_state (self, LINK_UP, DASHCAM_SRT_OK, "connected", streamid,
          NULL);
      ever_up = TRUE;
      g_mutex_lock (&self->lock);
      continue;
    }

    chunk = pop_ready_chunk (self);
    if (chunk == NULL
        && g_get_monotonic_time () < next_stats + STATS_INTERVAL_US
        && (progress.check_us == 0
            || g_get_monotonic_time () < progress.check_us)) {
      GstSrtUploadSinkChunk *head = g_queue_peek_head (&self->chunks);
      gint64 until = next_stats + STATS_INTERVAL_US;

      /* sleep until the statistics are due or the partial payload is old
       * enough to go; new data wakes us (see render()) */
      if (head)
        until = MIN (until, head->created_us + CHUNK_MAX_AGE_US);
      if (progress.check_us)
        until = MIN (until, progress.check_us);
      self->sender_waiting = TRUE;
      g_cond_wait_until (&self->cond, &self->lock, until);
      self->sender_waiting = FALSE;
      continue;
    }
    g_mutex_unlock (&self->lock);

    ok = TRUE;
    if (chunk) {
      ok = dashcam_srt_link_send (link, chunk->data, chunk->len, &reason,
          &would_block);
      if (ok) {
        progress.last_send_us = g_get_monotonic_time ();
        dashcam_ack_tracker_sent (&acks, ++progress.handed,
            chunk->running_time, progress.last_send_us);
        if (progress.check_us == 0)
          progress.check_us = progress.last_send_us +
              late_after_us (&progress) + 1000;
      } else if (would_block) {
        /* the send buffer stayed full: the link is alive but too slow
         * for the live stream; what libsrt holds may come too late */
        GST_WARNING_OBJECT (self, "live send buffer full: dropping the "
            "queue");
        g_mutex_lock (&self->lock);
        dashcam_gap_list_open (&self->gaps, self->confirmed);
        flush_queue (self);
        self->congested_us = g_get_monotonic_time ();
        g_mutex_unlock (&self->lock);
        ok = TRUE;
      }
      g_free (chunk);
    }
    if (ok && progress.check_us
        && g_get_monotonic_time () >= progress.check_us) {
      gint64 unacked = dashcam_srt_link_get_unacked (link);

      if (unacked >= 0)
        check_late (self, link, &acks, &progress, unacked,
            g_get_monotonic_time ());
    }
    if (ok && g_get_monotonic_time () >= next_stats) {
      ok = poll_live_stats (self, link, &acks, &progress, &reason);
      next_stats = g_get_monotonic_time () + STATS_INTERVAL_US;
      dashcam_srt_release_memory ();
    }
    if (!ok) {
      link_down (self, reason, streamid);
      dashcam_srt_link_close (link);
      link = NULL;
    }
    g_mutex_lock (&self->lock);
  }
  self->state = LINK_DOWN;
  self->live_up_us = 0;
  /* after EOS the receiver still delivers the last latency's worth of
   * acknowledged packets: do not cut it short (a draining receiver gets
   * them even when the wait for tail_played ran out) */
  if (link && self->eos && !self->tail_played)
    linger_locked (self, dashcam_srt_playout_wait_us
        (progress.peer_latency_ms, self->live_stats.rtt_ms));
  g_mutex_unlock (&self->lock);

  dashcam_srt_link_close (link);
  dashcam_ack_tracker_clear (&acks);
  g_free (streamid);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* The backlog thread */

/* A segment whose bytes are all sent, waiting on its own connection for
 * the last acknowledgements and then for the receiver to play the last
 * packet out, while the next one is sent. */
typedef struct
{
  DashcamSrtLink *link;
  gchar *name;
  guint64 size;
  gint64 deadline_us;
  gint64 connected_us;
  gint64 last_send_us;          /* when the last packet went to libsrt */
  gint peer_latency_ms;         /* the receiver's TSBPD delay */
  gboolean acked;               /* every byte acknowledged */
  /* ACKs counted at the first look after the playout time, -1 before */
  gint64 acks_after;
} Draining;

typedef struct
{
  DashcamCatalog *catalog;
  GPtrArray *pending;           /* names, oldest (or locked) first */
  GHashTable *failed;           /* names whose last attempt failed */
  GPtrArray *draining;          /* Draining */
  /* Draining, closed at their playout time without evidence that the
   * receiver lived that long, because a receiver that may take one caller
   * at a time had to be left free for the next upload: done once the next
   * connection to it is accepted, failed if it is refused */
  GPtrArray *unconfirmed;
  /* A receiver that takes one caller at a time refuses (or never
   * answers) a second connection while one is open, and accepts it once
   * alone. A refusal while another is open makes the next attempt wait
   * until it is alone (probe); if that one connects, a second such refusal
   * means one caller at a time, and there is no overlap from then on. A
   * server that is down fails alone too, one that takes several callers
   * connects while another is open: either clears the evidence. */
  gboolean probe;
  guint evidence;
  gboolean one_at_a_time;
  gint64 next_due_us;           /* when the next byte is due */
} Backlog;

static gint
compare_pending (gconstpointer a, gconstpointer b, gpointer user_data)
{
  Backlog *bl = user_data;
  DashcamSegment *sa = dashcam_catalog_lookup (bl->catalog,
      *(const gchar **) a);
  DashcamSegment *sb = dashcam_catalog_lookup (bl->catalog,
      *(const gchar **) b);

  if (sa == NULL || sb == NULL)
    return (sa == NULL) - (sb == NULL);
  if (sa->locked != sb->locked)
    return sa->locked ? -1 : 1;
  return sa->index < sb->index ? -1 : (sa->index > sb->index);
}

static gboolean
pending_contains (Backlog * bl, const gchar * name)
{
  guint i;

  for (i = 0; i < bl->pending->len; i++) {
    if (g_str_equal (g_ptr_array_index (bl->pending, i), name))
      return TRUE;
  }
  return FALSE;
}

static void
pending_remove (Backlog * bl, const gchar * name)
{
  guint i;

  for (i = 0; i < bl->pending->len; i++) {
    if (g_str_equal (g_ptr_array_index (bl->pending, i), name)) {
      g_ptr_array_remove_index (bl->pending, i);
      return;
    }
  }
}

static void
update_pending_stats (GstSrtUploadSink * self, Backlog * bl)
{
  guint64 bytes = 0;
  guint i;

  for (i = 0; i < bl->pending->len; i++) {
    DashcamSegment *s = dashcam_catalog_lookup (bl->catalog,
        g_ptr_array_index (bl->pending, i));
    if (s)
      bytes += s->size;
  }
  g_mutex_lock (&self->lock);
  self->n_pending = bl->pending->len;
  self->pending_bytes = bytes;
  g_mutex_unlock (&self->lock);
}

/* Decides, for every segment of the directory, whether the server needs
 * it. Backlog thread. */
static void
evaluate_backlog (GstSrtUploadSink * self, Backlog * bl)
{
  DashcamGapList gaps;
  GstClockTime needed_from = GST_CLOCK_TIME_NONE, newest_end =
      GST_CLOCK_TIME_NONE;
  GstClockTime confirmed;
  GPtrArray *list, *live_done;
  GError *err = NULL;
  guint i;

  if (!dashcam_catalog_refresh (bl->catalog, &err)) {
    GST_WARNING_OBJECT (self, "catalog: %s", err->message);
    g_clear_error (&err);
    return;
  }

  g_mutex_lock (&self->lock);
  gaps.gaps = g_array_copy (self->gaps.gaps);
  confirmed = self->tail_played && !dashcam_gap_list_is_open (&self->gaps)
      && self->eos ? G_MAXUINT64 - 1 : self->confirmed;
  g_mutex_unlock (&self->lock);

  list = dashcam_catalog_list (bl->catalog);
  live_done = g_ptr_array_new_with_free_func (g_free);
  for (i = 0; i < list->len; i++) {
    DashcamSegment *s = g_ptr_array_index (list, i);
    DashcamBacklogDecision d = dashcam_backlog_decide (s,
        dashcam_run_get_id (self->run), self->cfg.backlog_policy, &gaps,
        confirmed);

    /* gaps matter only to segments of this run that are not uploaded
     * (even skipped ones: a segment locked later is wanted again) and to
     * those still to come, which start after the newest */
    if (g_strcmp0 (s->run_id, dashcam_run_get_id (self->run)) == 0
        && GST_CLOCK_TIME_IS_VALID (s->running_time)) {
      GstClockTime end = s->running_time +
          (GST_CLOCK_TIME_IS_VALID (s->duration) ? s->duration : 0);

      if (!s->uploaded)
        needed_from = MIN (needed_from, s->running_time);
      newest_end = GST_CLOCK_TIME_IS_VALID (newest_end) ?
          MAX (newest_end, end) : end;
    }

    if (d == DASHCAM_BACKLOG_QUEUE && !pending_contains (bl, s->name)) {
      g_ptr_array_add (bl->pending, g_strdup (s->name));
      post_backlog (self, s->name, "queued", s->size, 0.0,
          g_strcmp0 (s->run_id, dashcam_run_get_id (self->run)) ?
          "earlier-run" : "gap");
    } else if (d == DASHCAM_BACKLOG_LIVE_DONE) {
      g_ptr_array_add (live_done, g_strdup (s->name));
    }
  }
  g_ptr_array_unref (list);
  if (GST_CLOCK_TIME_IS_VALID (newest_end)) {
    guint before;

    g_mutex_lock (&self->lock);
    before = self->gaps.gaps->len;
    dashcam_gap_list_forget_before (&self->gaps, MIN (needed_from,
            newest_end));
    if (self->gaps.gaps->len < before)
      GST_DEBUG_OBJECT (self, "forgot %u gaps before %" GST_TIME_FORMAT
          ", %u left", before - self->gaps.gaps->len,
          GST_TIME_ARGS (MIN (needed_from, newest_end)),
          self->gaps.gaps->len);
    g_mutex_unlock (&self->lock);
  }

  /* forget what retention deleted meanwhile */
  for (i = 0; i < bl->pending->len;) {
    if (dashcam_catalog_lookup (bl->catalog, g_ptr_array_index (bl->pending,
                i)) == NULL)
      g_ptr_array_remove_index (bl->pending, i);
    else
      i++;
  }
  g_ptr_array_sort_with_data (bl->pending, compare_pending, bl);

  for (i = 0; i < live_done->len; i++) {
    GST_DEBUG_OBJECT (self, "%s was streamed live entirely",
        (gchar *) g_ptr_array_index (live_done, i));
    if (!dashcam_catalog_set_uploaded (bl->catalog,
            g_ptr_array_index (live_done, i), &err)) {
      GST_WARNING_OBJECT (self, "catalog: %s", err->message);
      g_clear_error (&err);
    }
  }
  g_ptr_array_unref (live_done);
  g_array_unref (gaps.gaps);
  update_pending_stats (self, bl);
}

static guint64
backlog_bitrate (GstSrtUploadSink * self)
{
  guint64 live;

  if (self->cfg.backlog_max_bitrate > 0)
    return self->cfg.backlog_max_bitrate;
  g_mutex_lock (&self->lock);
  live = self->live_bitrate;
  g_mutex_unlock (&self->lock);
  return MAX (2 * live, MIN_AUTO_BITRATE);
}

static gboolean
live_is_up (GstSrtUploadSink * self)
{
  gboolean up;

  g_mutex_lock (&self->lock);
  up = self->running && self->state == LINK_UP;
  g_mutex_unlock (&self->lock);
  return up;
}

/* The live link has room for a backlog upload: up, and no live data lost
 * to congestion for a while. */
static gboolean
live_has_room (GstSrtUploadSink * self)
{
  gboolean room;

  g_mutex_lock (&self->lock);
  room = self->running && self->state == LINK_UP && (self->congested_us == 0
      || g_get_monotonic_time () - self->congested_us >
      CONGESTION_QUIET_US);
  g_mutex_unlock (&self->lock);
  return room;
}

static void poll_draining (GstSrtUploadSink * self, Backlog * bl,
    gboolean stopping);
static gboolean is_draining (Backlog * bl, const gchar * name);

/* Segments wait that are not being sent or drained. */
static gboolean
others_pending (Backlog * bl)
{
  guint i;

  for (i = 0; i < bl->pending->len; i++) {
    if (!is_draining (bl, g_ptr_array_index (bl->pending, i)))
      return TRUE;
  }
  return FALSE;
}

/* How long a backlog packet may stay unacknowledged (see
 * BACKLOG_LATENCY_MARGIN_MS). */
static gint64
backlog_stall_us (GstSrtUploadSink * self)
{
  return (gint64) (self->backlog_config.latency_ms -
      BACKLOG_LATENCY_MARGIN_MS) * 1000;
}

/* When the oldest packet of @link that is not acknowledged was handed to
 * libsrt (@sent_us holds the time of each), or now if none is. */
static gint64
oldest_unacked_us (DashcamSrtLink * link, GArray * sent_us)
{
  DashcamSrtStats st;

  dashcam_srt_link_get_stats (link, &st);
  if (st.packets_in_flight == 0 || st.packets_in_flight > sent_us->len)
    return g_get_monotonic_time ();
  return g_array_index (sent_us, gint64, sent_us->len -
      st.packets_in_flight);
}

/* Sends @fd paced at @bitrate; returns FALSE when interrupted, or when a
 * packet stayed unacknowledged so long that the receiver may skip it.
 * @oldest_us: when the oldest packet not yet acknowledged at the end was
 * sent. */
static gboolean
send_file (GstSrtUploadSink * self, Backlog * bl, DashcamSrtLink * link,
    gint fd, guint64 size, guint64 bitrate, DashcamSrtReason * reason,
    gint64 * oldest_us)
{
  guint8 buf[DASHCAM_SRT_PAYLOAD_SIZE];
  gint64 start = g_get_monotonic_time (), next_check = start;
  GArray *sent_us = g_array_sized_new (FALSE, FALSE, sizeof (gint64),
      size / DASHCAM_SRT_PAYLOAD_SIZE + 1);
  guint64 sent = 0;
  gssize n;
  gboolean ok = FALSE;

  /* uploads that follow each other keep one pace: the time spent between
   * them (connecting, reading the catalog) is caught up */
  if (bl->next_due_us > start - PACE_CATCH_UP_US && bl->next_due_us < start)
    start = bl->next_due_us;

  while ((n = read (fd, buf, sizeof (buf))) > 0) {
    gboolean would_block, done;
    gint64 due, now;

    do {
      done = dashcam_srt_link_send (link, buf, n, reason, &would_block);
      now = g_get_monotonic_time ();
      if (done)
        g_array_append_val (sent_us, now);
      else if (!would_block || !live_is_up (self))
        goto out;
      if (now >= next_check) {
        next_check = now + BACKLOG_CHECK_US;
        if (now - oldest_unacked_us (link, sent_us) > backlog_stall_us (self)) {
          GST_INFO_OBJECT (self, "a backlog packet is unacknowledged for "
              "%" G_GINT64_FORMAT " ms: giving the upload up",
              backlog_stall_us (self) / 1000);
          *reason = DASHCAM_SRT_TIMEOUT;
          goto out;
        }
      }
    } while (!done);
    sent += n;
    due = start + (gint64) (sent * 8 * G_USEC_PER_SEC / bitrate);
    bl->next_due_us = due;
    poll_draining (self, bl, FALSE);
    g_mutex_lock (&self->lock);
    self->upload_progress = size ? (gdouble) sent / size : 1.0;
    wait_locked (self, due - g_get_monotonic_time ());
    g_mutex_unlock (&self->lock);
    if (!live_is_up (self)) {
      *reason = DASHCAM_SRT_LOST;
      goto out;
    }
  }
  ok = n == 0;
  *oldest_us = oldest_unacked_us (link, sent_us);

out:
  g_array_unref (sent_us);
  return ok;
}

static void
draining_free (Draining * d)
{
  dashcam_srt_link_close (d->link);
  g_free (d->name);
  g_free (d);
}

static gboolean
is_draining (Backlog * bl, const gchar * name)
{
  guint i;

  for (i = 0; i < bl->draining->len; i++) {
    Draining *d = g_ptr_array_index (bl->draining, i);

    if (g_str_equal (d->name, name))
      return TRUE;
  }
  for (i = 0; i < bl->unconfirmed->len; i++) {
    Draining *d = g_ptr_array_index (bl->unconfirmed, i);

    if (g_str_equal (d->name, name))
      return TRUE;
  }
  return FALSE;
}

static void
upload_failed (GstSrtUploadSink * self, Backlog * bl, const gchar * name,
    guint64 size, DashcamSrtReason reason)
{
  post_backlog (self, name, "failed", size, 0.0,
      dashcam_srt_reason_to_string (reason));
  g_hash_table_add (bl->failed, g_strdup (name));
}

/* Records a segment the receiver has played out entirely. */
static void
upload_done (GstSrtUploadSink * self, Backlog * bl, const gchar * name,
    guint64 size)
{
  GError *err = NULL;

  if (!dashcam_catalog_set_uploaded (bl->catalog, name, &err)) {
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("Could not record the upload of \"%s\" in \"%s\".", name,
            self->cfg.backlog_location), ("%s", err->message));
    g_clear_error (&err);
  }
  g_mutex_lock (&self->lock);
  self->n_uploaded++;
  self->uploaded_bytes += size;
  g_mutex_unlock (&self->lock);
  pending_remove (bl, name);
  post_backlog (self, name, "done", size, 1.0, NULL);
}

/* Whether the receiver of @d was surely alive at @playout_us, after it
 * played the last packet out: a receiver killed before (SIGKILL, a power
 * cut) loses what its libsrt still held, acknowledged or not. Evidence is
 * an ACK that arrived after @playout_us, on this connection or on a live
 * session to the same server that was up before this upload connected (a
 * restarted server would have broken it); an idle receiver sends no ACK,
 * only keepalives that libsrt does not count, so otherwise the connection
 * must still be unbroken when libsrt would have noticed a peer that went
 * silent before @playout_us. Backlog thread. */
static gboolean
receiver_was_alive (GstSrtUploadSink * self, Draining * d,
    const DashcamSrtStats * st, gint64 playout_us, gint64 now)
{
  gboolean alive;

  if (d->acks_after < 0) {
    /* the first look after the playout time */
    d->acks_after = (gint64) st->acks_received;
  } else if ((gint64) st->acks_received > d->acks_after) {
    return TRUE;
  }
  g_mutex_lock (&self->lock);
  alive = self->backlog_is_live_server && self->live_up_us > 0
      && self->live_up_us <= d->connected_us
      && self->live_ack_us >= playout_us;
  g_mutex_unlock (&self->lock);
  return alive || now >= playout_us + dashcam_srt_silence_detect_us
      (st->rtt_ms);
}

/* Finishes the uploads that the receiver has played out entirely; fails
 * those that broke, dropped a packet or took too long. Backlog thread.
 *
 * An acknowledged packet is not yet the server's: the receiver's libsrt
 * holds it until its playout time (send time + the negotiated latency),
 * and a server that stops reading when the connection closes (SRS does)
 * never gets what was still held. So the connection stays open until the
 * last packet's playout time has passed and the receiver is known to have
 * lived that long, and only then is the segment done. */
static void
poll_draining (GstSrtUploadSink * self, Backlog * bl, gboolean stopping)
{
  gint64 now = g_get_monotonic_time ();
  guint i = 0;

  while (i < bl->draining->len) {
    Draining *d = g_ptr_array_index (bl->draining, i);
    DashcamSrtStats st;
    gint64 playout_us;

    dashcam_srt_link_get_stats (d->link, &st);
    if (st.packets_dropped > 0 || st.broken) {
      upload_failed (self, bl, d->name, d->size, DASHCAM_SRT_LOST);
      g_ptr_array_remove_index (bl->draining, i);
      continue;
    }
    if (!d->acked && st.packets_in_flight == 0) {
      GST_DEBUG_OBJECT (self, "%s acknowledged, played out in %"
          G_GINT64_FORMAT " ms", d->name, (d->last_send_us +
              dashcam_srt_playout_wait_us (d->peer_latency_ms,
                  st.rtt_ms) - now) / 1000);
      d->acked = TRUE;
    }
    playout_us = d->last_send_us + dashcam_srt_playout_wait_us
        (d->peer_latency_ms, st.rtt_ms);
    if (d->acked && now >= playout_us
        && receiver_was_alive (self, d, &st, playout_us, now)) {
      upload_done (self, bl, d->name, d->size);
      g_ptr_array_remove_index (bl->draining, i);
    } else if (d->acked && now >= playout_us && (bl->one_at_a_time
            || bl->probe) && !stopping && others_pending (bl)) {
      /* a one-caller receiver accepts the next upload only once this
       * connection is closed: the evidence is that it answers it */
      g_clear_pointer (&d->link, dashcam_srt_link_close);
      g_ptr_array_add (bl->unconfirmed, g_ptr_array_steal_index
          (bl->draining, i));
    } else if (stopping || now > MAX (d->deadline_us, playout_us +
            dashcam_srt_silence_detect_us (st.rtt_ms) + G_USEC_PER_SEC)) {
      upload_failed (self, bl, d->name, d->size, DASHCAM_SRT_TIMEOUT);
      /* sent whole to a receiver that is there: most often its last packet
       * was lost, which nothing after it shows the receiver and libsrt
       * does not resend. Not a server to spare: it goes again in its
       * turn (oldest first), not after the rest of the backlog, which a
       * short run may not outlast */
      if (!stopping)
        g_hash_table_remove (bl->failed, d->name);
      g_ptr_array_remove_index (bl->draining, i);
    } else {
      i++;
    }
  }
}

/* The uploads closed at their playout time for a one-caller receiver
 * (see Backlog): done when it answered a connection attempt after them
 * (@alive: accepted or refused it), else to be sent again. Backlog
 * thread. */
static void
settle_unconfirmed (GstSrtUploadSink * self, Backlog * bl, gboolean alive,
    DashcamSrtReason reason)
{
  guint i;

  for (i = 0; i < bl->unconfirmed->len; i++) {
    Draining *d = g_ptr_array_index (bl->unconfirmed, i);

    if (alive)
      upload_done (self, bl, d->name, d->size);
    else
      upload_failed (self, bl, d->name, d->size, reason);
  }
  g_ptr_array_set_size (bl->unconfirmed, 0);
}

static gchar *
segment_stem (const gchar * name)
{
  const gchar *dot = strrchr (name, '.');

  return dot && dot != name ? g_strndup (name, dot - name) : g_strdup (name);
}

/* Sends one segment; its acknowledgement is awaited by poll_draining().
 * Returns FALSE if it failed. Backlog thread. */
static gboolean
upload_segment (GstSrtUploadSink * self, Backlog * bl, const gchar * name)
{
  DashcamSegment *seg = dashcam_catalog_lookup (bl->catalog, name);
  DashcamSrtConfig config = self->backlog_config;
  DashcamTemplateValues values = { self->cfg.device_id, 0, NULL };
  DashcamSrtReason reason = DASHCAM_SRT_OK;
  DashcamSrtLink *link = NULL;
  gchar *path, *stem, *streamid, *detail = NULL;
  GError *err = NULL;
  gboolean ok = FALSE;
  Draining *d;
  guint64 size;
  gint64 oldest_us = 0, connected_us;
  gboolean overlap;
  gint fd;

  if (seg == NULL)
    return FALSE;
  size = seg->size;
  path = g_build_filename (self->cfg.backlog_location, name, NULL);
  stem = segment_stem (name);
  values.start_us = seg->wall_time;
  values.segment = stem;
  streamid = dashcam_template_expand (self->cfg.backlog_streamid_format,
      &values, NULL);

  /* never through a link planted in the directory: that would send a file
   * from elsewhere to the server */
  fd = dashcam_catalog_open_file (bl->catalog, name, O_RDONLY, &err);
  if (fd < 0) {
    /* forgotten by the catalog, left as it is */
    if (!g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_NOT_FOUND)) {
      GST_ELEMENT_WARNING (self, RESOURCE, OPEN_READ,
          ("Not uploading \"%s\": %s", path, err->message), (NULL));
      dashcam_catalog_remove (bl->catalog, name, "not-a-file", NULL);
    }
    post_backlog (self, name, "failed", size, 0.0,
        g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_NOT_FOUND) ?
        "deleted" : "not-a-file");
    g_clear_error (&err);
    pending_remove (bl, name);
    goto out;
  }

  post_backlog (self, name, "started", size, 0.0, NULL);
  config.streamid = streamid;
  link = dashcam_srt_link_connect (&config, &reason, &detail);
  connected_us = g_get_monotonic_time ();
  overlap = bl->draining->len > 0;
  if (!overlap && bl->probe)
    bl->evidence = link ? bl->evidence + 1 : 0;
  else if (overlap && link)
    bl->evidence = 0;
  bl->probe = overlap && link == NULL && reason != DASHCAM_SRT_BAD_PASSPHRASE;
  if (bl->probe && !bl->one_at_a_time && bl->evidence > 0) {
    /* srt-live-transmit, ffmpeg and the like serve one caller at a time:
     * retry once the open connection is closed, and never overlap again */
    GST_INFO_OBJECT (self, "backlog connect failed while %u other "
        "connections were open (%s): uploads go one at a time from now on",
        bl->draining->len, detail);
    bl->one_at_a_time = TRUE;
    post_backlog (self, name, "failed", size, 0.0, "one-at-a-time");
    goto out;
  }
  settle_unconfirmed (self, bl, link != NULL || reason ==
      DASHCAM_SRT_REJECTED || reason == DASHCAM_SRT_BAD_PASSPHRASE, reason);
  if (link == NULL) {
    GST_INFO_OBJECT (self, "backlog connect failed: %s", detail);
    upload_failed (self, bl, name, size, reason);
    goto out;
  }
  if (gst_debug_category_get_threshold (GST_CAT_DEFAULT) >= GST_LEVEL_DEBUG) {
    gchar *shown = dashcam_streamid_mask (streamid);

    GST_DEBUG_OBJECT (self, "uploading %s as \"%s\"", name, shown);
    g_free (shown);
  }
  g_mutex_lock (&self->lock);
  g_free (self->uploading);
  self->uploading = g_strdup (name);
  self->upload_progress = 0.0;
  g_mutex_unlock (&self->lock);
  ok = send_file (self, bl, link, fd, size, backlog_bitrate (self), &reason,
      &oldest_us);
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->uploading, g_free);
  self->upload_progress = 0.0;
  g_mutex_unlock (&self->lock);
  if (!ok) {
    upload_failed (self, bl, name, size, reason);
    goto out;
  }

  d = g_new0 (Draining, 1);
  d->link = g_steal_pointer (&link);
  d->name = g_strdup (name);
  d->size = size;
  d->connected_us = connected_us;
  d->acks_after = -1;
  d->last_send_us = g_get_monotonic_time ();
  d->peer_latency_ms = dashcam_srt_link_get_peer_latency (d->link);
  if (d->peer_latency_ms < 0)
    d->peer_latency_ms = config.latency_ms;
  d->deadline_us = d->last_send_us + dashcam_srt_playout_wait_us
      (d->peer_latency_ms, 0) + MAX (5 * G_USEC_PER_SEC,
      2 * self->cfg.link_timeout / GST_USECOND);
  /* Not checked here: that the tail is acknowledged within the stall
   * time. libsrt 1.5.1 acknowledges the last packets of a connection 1-2 s
   * late, and with a round trip of 160 ms every upload was given up. */
  (void) oldest_us;
  g_ptr_array_add (bl->draining, d);
  ok = TRUE;

out:
  if (fd >= 0)
    close (fd);
  dashcam_srt_link_close (link);
  g_free (detail);
  g_free (streamid);
  g_free (stem);
  g_free (path);
  return ok;
}

/* The next segment to send: pending, not being drained, not failed in the
 * last round. */
static gchar *
next_upload (Backlog * bl)
{
  guint i;

  for (i = 0; i < bl->pending->len; i++) {
    const gchar *name = g_ptr_array_index (bl->pending, i);

    if (!is_draining (bl, name) && !g_hash_table_contains (bl->failed, name))
      return g_strdup (name);
  }
  return NULL;
}

static gpointer
uploader_thread (gpointer data)
{
  GstSrtUploadSink *self = data;
  Backlog bl = { NULL, NULL, NULL, NULL, 0 };

  bl.catalog = g_steal_pointer (&self->backlog_catalog);
  bl.pending = g_ptr_array_new_with_free_func (g_free);
  bl.failed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  bl.draining = g_ptr_array_new_with_free_func ((GDestroyNotify)
      draining_free);
  bl.unconfirmed = g_ptr_array_new_with_free_func ((GDestroyNotify)
      draining_free);

  g_mutex_lock (&self->lock);
  while (self->running) {
    gchar *next = NULL;
    gboolean serial;

    g_mutex_unlock (&self->lock);
    evaluate_backlog (self, &bl);
    poll_draining (self, &bl, FALSE);
    serial = (bl.one_at_a_time || bl.probe) && bl.draining->len > 0;
    if (live_has_room (self) && !serial)
      next = next_upload (&bl);
    if (next)
      upload_segment (self, &bl, next);
    else if (bl.unconfirmed->len > 0 && !others_pending (&bl))
      /* nothing follows that could show the receiver alive */
      settle_unconfirmed (self, &bl, FALSE, DASHCAM_SRT_TIMEOUT);
    update_pending_stats (self, &bl);
    g_mutex_lock (&self->lock);
    /* go on at once while there is work; failures wait for the next round */
    if (next == NULL) {
      if (!serial)
        g_hash_table_remove_all (bl.failed);
      wait_locked (self, bl.draining->len > 0 || bl.unconfirmed->len > 0 ?
          20 * 1000 : BACKLOG_POLL_US);
    }
    g_free (next);
  }
  g_mutex_unlock (&self->lock);

  /* unconfirmed uploads stay pending for the next run */
  poll_draining (self, &bl, TRUE);
  settle_unconfirmed (self, &bl, FALSE, DASHCAM_SRT_TIMEOUT);
  /* last word: mark what was streamed live before stopping */
  evaluate_backlog (self, &bl);

  g_ptr_array_unref (bl.draining);
  g_ptr_array_unref (bl.unconfirmed);
  g_hash_table_unref (bl.failed);
  g_ptr_array_unref (bl.pending);
  dashcam_catalog_free (bl.catalog);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Start and stop */

/* Fills @config from @uri and the properties. @host and @passphrase
 * receive copies that @config points to, owned by the caller: each link
 * has its own, since a query may give each its own passphrase. */
static gboolean
parse_uri (GstSrtUploadSink * self, const gchar * property, const gchar * uri,
    DashcamSrtConfig * config, gchar ** host, gchar ** passphrase)
{
  GError *err = NULL;
  DashcamSrtUri *parsed = dashcam_srt_uri_parse (uri, &err);
  const gchar *v;

  if (parsed == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid property \"%s\": %s", property, err->message), (NULL));
    g_clear_error (&err);
    return FALSE;
  }
  *host = g_strdup (parsed->host);
  config->host = *host;
  config->port = parsed->port;
  config->latency_ms = self->cfg.latency;
  config->pbkeylen = self->cfg.pbkeylen;
  config->idle_timeout_ms = self->cfg.link_timeout / GST_MSECOND;
  /* keep each attempt within the retry interval, so that attempts start
   * every reconnect-max-interval at the most while the server is away */
  config->connect_timeout_ms = CLAMP (self->cfg.reconnect_max_interval / 2 /
      GST_MSECOND, 500, 3000);
  config->send_timeout_ms = 50;

  if ((v = g_hash_table_lookup (parsed->params, "latency")))
    config->latency_ms = atoi (v);
  if ((v = g_hash_table_lookup (parsed->params, "pbkeylen")))
    config->pbkeylen = atoi (v);
  if ((v = g_hash_table_lookup (parsed->params, "sndbuf"))) {
    gchar *end = NULL;
    gint64 bytes = g_ascii_strtoll (v, &end, 10);

    /* at least a few packets; libsrt counts it in packets of 1472 bytes */
    if (end == v || *end != '\0' || bytes < 16 * 1500 || bytes > G_MAXINT)
      goto bad_sndbuf;
    config->send_buffer_bytes = bytes;
  }
  v = g_hash_table_lookup (parsed->params, "passphrase");
  *passphrase = g_strdup (v ? v : self->cfg.passphrase);
  config->passphrase = *passphrase;
  if ((v = g_hash_table_lookup (parsed->params, "streamid"))
      && g_str_equal (property, "uri")) {
    g_free (self->cfg.streamid_format);
    self->cfg.streamid_format = g_strdup (v);
  }
  if (v && (strlen (v) < 10 || strlen (v) > 79)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid property \"%s\": the passphrase in its query must have "
            "10 to 79 characters, not %u.", property, (guint) strlen (v)),
        (NULL));
    dashcam_srt_uri_free (parsed);
    return FALSE;
  }
  if ((v = g_hash_table_lookup (parsed->params, "mode"))
      && !g_str_equal (v, "caller")) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid property \"%s\": only mode=caller is supported.", property),
        (NULL));
    dashcam_srt_uri_free (parsed);
    return FALSE;
  }
  dashcam_srt_uri_free (parsed);
  return TRUE;

  /* ERRORS */
bad_sndbuf:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid property \"%s\": sndbuf in its query must be a number of "
            "bytes from 24000 on, not \"%s\".", property, v), (NULL));
    dashcam_srt_uri_free (parsed);
    return FALSE;
  }
}

static gboolean
validate_settings (GstSrtUploadSink * self)
{
  GError *err = NULL;
  const gchar *property = NULL;
  gsize plen = self->cfg.passphrase ? strlen (self->cfg.passphrase) : 0;
  gboolean default_device = FALSE;

  if (self->cfg.uri == NULL)
    goto no_uri;
  if (plen > 0 && (plen < 10 || plen > 79))
    goto bad_passphrase;
  if (!parse_uri (self, "uri", self->cfg.uri, &self->live_config,
          &self->live_host, &self->live_passphrase))
    return FALSE;
  if (!parse_uri (self, "backlog-uri", self->cfg.backlog_uri ?
          self->cfg.backlog_uri : self->cfg.uri, &self->backlog_config,
          &self->backlog_host, &self->backlog_passphrase))
    return FALSE;
  /* A backlog upload must arrive whole, not in time: a receiver that drops
   * late packets still acknowledges them, and the segment would count as
   * uploaded with holes. No drop, and room for queues on a slow link. */
  self->backlog_config.reliable = TRUE;
  self->backlog_is_live_server = self->backlog_config.port ==
      self->live_config.port && g_str_equal (self->backlog_host,
      self->live_host);
  self->live_config.receive_poll_ms = LIVE_RECEIVE_POLL_MS;
  self->backlog_config.latency_ms = MAX (self->backlog_config.latency_ms,
      (gint) CLAMP (self->cfg.link_timeout / GST_MSECOND +
          BACKLOG_LATENCY_MARGIN_MS, 2000, 60000));
  if (self->cfg.device_id == NULL) {
    self->cfg.device_id = dashcam_default_device_id ();
    default_device = TRUE;
  }
  if (!dashcam_device_id_validate (self->cfg.device_id, &err))
    goto bad_device;
  /* with the real device id: a template that passes always fits */
  if (!dashcam_template_check (self->cfg.streamid_format,
          self->cfg.device_id, FALSE, &err)) {
    property = "streamid-format";
    goto bad_template;
  }
  if (!dashcam_template_check (self->cfg.backlog_streamid_format,
          self->cfg.device_id, TRUE, &err)) {
    property = "backlog-streamid-format";
    goto bad_template;
  }
  return TRUE;

  /* ERRORS */
no_uri:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("No server: the property \"uri\" must be srt://host:port."), (NULL));
    return FALSE;
  }
bad_passphrase:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid property \"passphrase\": it must have 10 to 79 characters, "
            "not %u.", (guint) plen), (NULL));
    return FALSE;
  }
bad_device:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid property \"device-id\"%s: %s", default_device ?
            " (unset: the machine id or host name)" : "", err->message),
        (NULL));
    g_clear_error (&err);
    return FALSE;
  }
bad_template:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid property \"%s\": %s", property, err->message), (NULL));
    g_clear_error (&err);
    return FALSE;
  }
}

static void
clear_secret (gchar ** secret)
{
  if (*secret)
    memset (*secret, 0, strlen (*secret));
  g_clear_pointer (secret, g_free);
}

/* Frees what validate_settings() made. */
static void
clear_link_configs (GstSrtUploadSink * self)
{
  g_clear_pointer (&self->live_host, g_free);
  g_clear_pointer (&self->backlog_host, g_free);
  clear_secret (&self->live_passphrase);
  clear_secret (&self->backlog_passphrase);
  memset (&self->live_config, 0, sizeof (self->live_config));
  memset (&self->backlog_config, 0, sizeof (self->backlog_config));
}

static gboolean
gst_srt_upload_sink_start (GstBaseSink * sink)
{
  GstSrtUploadSink *self = GST_SRT_UPLOAD_SINK (sink);

  GST_OBJECT_LOCK (self);
  settings_copy (&self->cfg, &self->settings);
  GST_OBJECT_UNLOCK (self);

  if (!validate_settings (self)) {
    settings_clear (&self->cfg);
    clear_link_configs (self);
    return FALSE;
  }

  self->cancel = g_cancellable_new ();
  self->live_config.cancellable = self->cancel;
  self->backlog_config.cancellable = self->cancel;
  self->run = dashcam_run_acquire (GST_ELEMENT (self));
  dashcam_segmenter_init (&self->segmenter, &segmenter_funcs, self);
  self->render_rt = GST_CLOCK_TIME_NONE;

  g_mutex_lock (&self->lock);
  self->running = TRUE;
  self->eos = FALSE;
  self->unlocked = FALSE;
  self->wake_sender = FALSE;
  self->state = LINK_CONNECTING;
  self->reason = DASHCAM_SRT_OK;
  /* the first attempt is reported as connecting */
  self->reported_state = LINK_DOWN;
  self->reported_reason = DASHCAM_SRT_OK;
  self->need_start = TRUE;
  self->keyframe_requested = FALSE;
  self->hold = TRUE;
  self->hold_rt = GST_CLOCK_TIME_NONE;
  self->confirmed = GST_CLOCK_TIME_NONE;
  self->all_confirmed = FALSE;
  self->tail_played = FALSE;
  self->live_latency_ms = self->live_config.latency_ms;
  self->live_up_us = self->live_ack_us = 0;
  self->congested_us = 0;
  self->live_dropped_bytes = 0;
  self->n_pending = self->n_uploaded = 0;
  self->pending_bytes = self->uploaded_bytes = 0;
  self->live_bitrate = 0;
  memset (&self->live_stats, 0, sizeof (self->live_stats));
  dashcam_gap_list_init (&self->gaps);
  /* nothing reaches the server before the first session */
  dashcam_gap_list_open (&self->gaps, 0);
  g_mutex_unlock (&self->lock);

  self->sender = g_thread_new ("srtupload-live", sender_thread, self);
  if (self->cfg.backlog_location && self->cfg.backlog_policy !=
      DASHCAM_BACKLOG_POLICY_NONE) {
    GError *err = NULL;

    dashcam_make_dir (self->cfg.backlog_location, DASHCAM_DEFAULT_FILE_MODE,
        NULL);
    /* local and quick: a refused directory is reported by the state change
     * itself, not by a thread that a short pipeline may outrun */
    self->backlog_catalog = dashcam_catalog_open (self->cfg.backlog_location,
        &err);
    if (self->backlog_catalog == NULL) {
      GST_ELEMENT_WARNING (self, RESOURCE, OPEN_READ,
          ("Cannot read the recordings in \"%s\" (property "
              "\"backlog-location\"): no backlog upload.",
              self->cfg.backlog_location), ("%s", err->message));
      g_clear_error (&err);
    } else {
      self->uploader = g_thread_new ("srtupload-backlog", uploader_thread,
          self);
    }
  }
  return TRUE;
}

static gboolean
gst_srt_upload_sink_stop (GstBaseSink * sink)
{
  GstSrtUploadSink *self = GST_SRT_UPLOAD_SINK (sink);

  g_mutex_lock (&self->lock);
  self->running = FALSE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  /* a name lookup or connection attempt in a thread ends at once */
  if (self->cancel)
    g_cancellable_cancel (self->cancel);

  g_clear_pointer (&self->sender, g_thread_join);
  g_clear_pointer (&self->uploader, g_thread_join);
  g_clear_object (&self->cancel);

  g_mutex_lock (&self->lock);
  flush_queue (self);
  self->live_dropped_bytes = 0;
  dashcam_gap_list_clear (&self->gaps);
  g_clear_pointer (&self->live_streamid, g_free);
  g_clear_pointer (&self->uploading, g_free);
  g_mutex_unlock (&self->lock);

  g_clear_pointer (&self->run, dashcam_run_release);
  settings_clear (&self->cfg);
  clear_link_configs (self);
  return TRUE;
}

/* At EOS: give the sender up to link-timeout to get the rest acknowledged
 * and the receiver the time to play it out (EOS_DRAIN_MAX_US at most), so
 * that the last segment counts as streamed live; otherwise it is uploaded
 * by the next run. unlock() ends the wait. Streaming thread, with the
 * preroll lock. */
static void
drain_live (GstSrtUploadSink * self)
{
  gint64 deadline;

  g_mutex_lock (&self->lock);
  deadline = g_get_monotonic_time () +
      MIN ((gint64) (self->cfg.link_timeout / GST_USECOND) +
      dashcam_srt_playout_wait_us (self->live_latency_ms,
          self->live_stats.rtt_ms), EOS_DRAIN_MAX_US);
  self->eos = TRUE;
  self->all_confirmed = FALSE;
  g_cond_broadcast (&self->cond);
  while (self->running && !self->unlocked && self->state == LINK_UP
      && !self->tail_played
      && g_get_monotonic_time () < deadline)
    g_cond_wait_until (&self->cond, &self->lock,
        g_get_monotonic_time () + 20 * 1000);
  g_mutex_unlock (&self->lock);
}

/* After a flush (a flushing seek): nothing of the old position goes on,
 * neither the queue nor a packet cut across buffers, the next session
 * starts at a keyframe, and an EOS before the flush is forgotten. What
 * was queued and not sent is a gap. Streaming thread. */
static void
flush_stop (GstSrtUploadSink * self)
{
  GstSrtUploadSinkChunk *head;

  g_mutex_lock (&self->lock);
  head = g_queue_peek_head (&self->chunks);
  if (head)
    dashcam_gap_list_open (&self->gaps, head->running_time);
  flush_queue (self);
  self->eos = FALSE;
  self->all_confirmed = FALSE;
  self->tail_played = FALSE;
  dashcam_segmenter_init (&self->segmenter, &segmenter_funcs, self);
  self->render_rt = GST_CLOCK_TIME_NONE;
  g_mutex_unlock (&self->lock);
}

static gboolean
gst_srt_upload_sink_event (GstBaseSink * sink, GstEvent * event)
{
  GstSrtUploadSink *self = GST_SRT_UPLOAD_SINK (sink);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    g_mutex_lock (&self->lock);
    dashcam_segmenter_finish (&self->segmenter);
    g_mutex_unlock (&self->lock);
    drain_live (self);
  } else if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP) {
    flush_stop (self);
  }
  return GST_BASE_SINK_CLASS (parent_class)->event (sink, event);
}

/* A state change or a flush is coming: stop waiting in drain_live(). Any
 * thread. */
static gboolean
gst_srt_upload_sink_unlock (GstBaseSink * sink)
{
  GstSrtUploadSink *self = GST_SRT_UPLOAD_SINK (sink);

  g_mutex_lock (&self->lock);
  self->unlocked = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
gst_srt_upload_sink_unlock_stop (GstBaseSink * sink)
{
  GstSrtUploadSink *self = GST_SRT_UPLOAD_SINK (sink);

  g_mutex_lock (&self->lock);
  self->unlocked = FALSE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static GstClockTime
buffer_running_time (GstBaseSink * sink, GstBuffer * buffer)
{
  GstClockTime ts = GST_BUFFER_DTS_OR_PTS (buffer);

  if (!GST_CLOCK_TIME_IS_VALID (ts) || sink->segment.format != GST_FORMAT_TIME)
    return GST_CLOCK_TIME_NONE;
  return gst_segment_to_running_time (&sink->segment, GST_FORMAT_TIME, ts);
}

static GstFlowReturn
gst_srt_upload_sink_render (GstBaseSink * sink, GstBuffer * buffer)
{
  GstSrtUploadSink *self = GST_SRT_UPLOAD_SINK (sink);
  GstClockTime rt = buffer_running_time (sink, buffer);
  gboolean request_keyframe = FALSE, wake;
  GstMapInfo map;

  if (!gst_buffer_map (buffer, &map, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Could not map a buffer."),
        (NULL));
    return GST_FLOW_ERROR;
  }

  g_mutex_lock (&self->lock);
  if (GST_CLOCK_TIME_IS_VALID (rt))
    self->render_rt = rt;
  if (self->state == LINK_UP && self->need_start && !self->keyframe_requested) {
    self->keyframe_requested = TRUE;
    dashcam_segmenter_request_split (&self->segmenter);
    request_keyframe = TRUE;
  }
  dashcam_segmenter_push (&self->segmenter, map.data, map.size, rt);
  if (self->state != LINK_UP)
    dashcam_gap_list_open (&self->gaps, self->confirmed);
  if (map.size >= DASHCAM_SRT_PAYLOAD_SIZE) {
    GstSrtUploadSinkChunk *tail = g_queue_peek_tail (&self->chunks);

    /* upstream writes in big units (a parser, a file): the end of one is
     * a boundary worth sending at once, rather than waiting for the next
     * buffer to fill the payload */
    if (tail) {
      tail->complete = TRUE;
      self->wake_sender = TRUE;
    }
  }
  wake = self->sender_waiting && self->wake_sender;
  self->wake_sender = FALSE;
  g_mutex_unlock (&self->lock);
  gst_buffer_unmap (buffer, &map);

  /* once per buffer, and after unlocking: the sender does not wake up
   * only to wait for the lock */
  if (wake)
    g_cond_broadcast (&self->cond);

  /* a new live session wants a keyframe now, not at the end of the GOP */
  if (request_keyframe)
    gst_pad_push_event (GST_BASE_SINK_PAD (self),
        gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE,
            TRUE, 0));
  return GST_FLOW_OK;
}
