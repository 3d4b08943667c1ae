/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/**
 * SECTION:element-gpsklvsrc
 * @title: gpsklvsrc
 *
 * Reads positions from gpsd and produces one MISB ST 0601 KLV local set
 * per fix (`meta/x-klv, parsed=true`), the timed metadata that mpegtsmux
 * carries in MPEG-TS as asynchronous KLV (stream_type 0x06, `KLVA`
 * registration) and that ffmpeg, players and media servers understand.
 *
 * Each set holds the fix's UTC time (Precision Time Stamp), latitude,
 * longitude, altitude above mean sea level (3D fixes), ground speed,
 * heading, satellites used and the positioning source: GPS for a current
 * fix, none for a repeated one. It is a live source: a fix is stamped with
 * the running time at which gpsd delivered it, on the pipeline clock, so it
 * sits next to the video frames captured at that moment.
 *
 * A live muxer waits on a sparse pad, so the source never falls silent:
 * when no fix came for #GstGpsKlvSrc:repeat-interval, it repeats the last
 * one flagged stale (positioning source 0), or a set without a position
 * (latitude and longitude set to the standard's error indicator) when
 * there never was a fix. gpsd is read by a thread of the element that
 * connects, and reconnects after a loss, forever (every 0.1 s, backing off
 * to 1 s): a missing, killed or silent gpsd never holds the pipeline.
 *
 * ## Messages
 *
 * `gpsklvsrc-state` (element message), posted at every change:
 * - `state` (string): `connecting` (no gpsd yet, or the connection was
 *   lost; retrying), `no-fix` (connected, gpsd has no fix), `fix`
 *   (reporting fixes)
 * - `server` (string): the gpsd address
 * - `error` (string, with `connecting` after a failure): why the last
 *   connection failed or ended
 * - `fixes` (guint64): fixes received since start
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -e -m gpsklvsrc server=localhost:2947 ! fakesink dump=true
 * gst-launch-1.0 -e videotestsrc is-live=true ! x264enc tune=zerolatency \
 *     ! h264parse ! mpegtsmux name=mux ! filesink location=drive.ts \
 *     gpsklvsrc ! mux.
 * ]|
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstgpsklvsrc.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <gps.h>

GST_DEBUG_CATEGORY_STATIC (gst_gps_klv_src_debug);
#define GST_CAT_DEFAULT gst_gps_klv_src_debug

#define DEFAULT_SERVER "localhost:2947"
#define DEFAULT_REPEAT_INTERVAL GST_SECOND
#define MIN_REPEAT_INTERVAL (10 * GST_MSECOND)

#define RECONNECT_MIN_US (100 * 1000)
#define RECONNECT_MAX_US (1000 * 1000)
#define POLL_US (100 * 1000)
/* a connected gpsd that reports nothing this long has no fix for us */
#define SILENCE_US (2 * G_USEC_PER_SEC)
/* fixes waiting for create(): 10 s at 5 Hz; older ones are dropped */
#define MAX_PENDING 50

enum
{
  PROP_0,
  PROP_SERVER,
  PROP_REPEAT_INTERVAL,
};

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("meta/x-klv, parsed = (boolean) true"));

#define gst_gps_klv_src_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstGpsKlvSrc, gst_gps_klv_src, GST_TYPE_PUSH_SRC,
    GST_DEBUG_CATEGORY_INIT (gst_gps_klv_src_debug, "gpsklvsrc", 0,
        "gpsd to MISB ST 0601 KLV source"));
GST_ELEMENT_REGISTER_DEFINE (gpsklvsrc, "gpsklvsrc", GST_RANK_NONE,
    GST_TYPE_GPS_KLV_SRC);

/* What the reader thread owns. It holds a reference to the element and
 * frees itself when it ends, after stop() set @stop: stop() never waits
 * for it (a connect to an unreachable host can take minutes). */
struct _GstGpsKlvReader
{
  GstGpsKlvSrc *src;
  gchar *server;
  gchar *host;
  gchar *port;
  gint stop;                    /* atomic */
  const gchar *state;
  gchar *error;
  guint64 fixes;
  gint64 last_time_us;          /* of the last fix queued */
};

typedef struct
{
  DashcamGpsFix fix;
  GstClockTime running_time;
} GstGpsKlvSample;

static void gst_gps_klv_src_finalize (GObject * object);
static void gst_gps_klv_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_gps_klv_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static gboolean gst_gps_klv_src_start (GstBaseSrc * bsrc);
static gboolean gst_gps_klv_src_stop (GstBaseSrc * bsrc);
static gboolean gst_gps_klv_src_unlock (GstBaseSrc * bsrc);
static gboolean gst_gps_klv_src_unlock_stop (GstBaseSrc * bsrc);
static gboolean gst_gps_klv_src_query (GstBaseSrc * bsrc, GstQuery * query);
static GstFlowReturn gst_gps_klv_src_create (GstPushSrc * psrc,
    GstBuffer ** buf);

#define PARAM_FLAGS_READY \
  (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)

static void
gst_gps_klv_src_class_init (GstGpsKlvSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);

  gobject_class->finalize = gst_gps_klv_src_finalize;
  gobject_class->set_property = gst_gps_klv_src_set_property;
  gobject_class->get_property = gst_gps_klv_src_get_property;

  g_object_class_install_property (gobject_class, PROP_SERVER,
      g_param_spec_string ("server", "Server",
          "gpsd address, host[:port] or [IPv6]:port (port 2947 if absent)",
          DEFAULT_SERVER, PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_REPEAT_INTERVAL,
      g_param_spec_uint64 ("repeat-interval", "Repeat interval",
          "Longest time without output, in nanoseconds: the last fix is "
          "repeated, flagged stale, when no new one came (at most 1 s, so "
          "that a live muxer never waits)", MIN_REPEAT_INTERVAL, GST_SECOND,
          DEFAULT_REPEAT_INTERVAL, PARAM_FLAGS_READY));

  gst_element_class_set_static_metadata (element_class,
      "gpsd KLV source", "Source/Metadata",
      "Reads positions from gpsd and outputs MISB ST 0601 KLV, one local "
      "set per fix, on the pipeline clock",
      "gst-dashcam authors <dev@gst-dashcam.invalid>");
  gst_element_class_add_static_pad_template (element_class, &src_template);

  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_gps_klv_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_gps_klv_src_stop);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR (gst_gps_klv_src_unlock);
  basesrc_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_gps_klv_src_unlock_stop);
  basesrc_class->query = GST_DEBUG_FUNCPTR (gst_gps_klv_src_query);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_gps_klv_src_create);
}

static void
gst_gps_klv_src_init (GstGpsKlvSrc * self)
{
  self->server = g_strdup (DEFAULT_SERVER);
  self->repeat_interval = DEFAULT_REPEAT_INTERVAL;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->pending);
  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
}

static void
gst_gps_klv_src_finalize (GObject * object)
{
  GstGpsKlvSrc *self = GST_GPS_KLV_SRC (object);

  g_queue_clear_full (&self->pending, g_free);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_free (self->server);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_gps_klv_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstGpsKlvSrc *self = GST_GPS_KLV_SRC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SERVER:
      g_free (self->server);
      self->server = g_value_dup_string (value);
      break;
    case PROP_REPEAT_INTERVAL:
      self->repeat_interval = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_gps_klv_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstGpsKlvSrc *self = GST_GPS_KLV_SRC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SERVER:
      g_value_set_string (value, self->server);
      break;
    case PROP_REPEAT_INTERVAL:
      g_value_set_uint64 (value, self->repeat_interval);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* The running time now on the pipeline clock; 0 before PLAYING. Any
 * thread. */
static GstClockTime
current_running_time (GstGpsKlvSrc * self)
{
  GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
  GstClockTime now, base, rt = 0;

  if (clock == NULL)
    return 0;
  now = gst_clock_get_time (clock);
  base = gst_element_get_base_time (GST_ELEMENT (self));
  if (GST_CLOCK_TIME_IS_VALID (base) && now > base)
    rt = now - base;
  gst_object_unref (clock);
  return rt;
}

/* Reader thread: posts a state change, once per change. */
static void
reader_set_state (GstGpsKlvReader * r, const gchar * state,
    const gchar * error)
{
  GstGpsKlvSrc *self = r->src;
  GstStructure *s;
  gboolean current;

  if (g_strcmp0 (r->state, state) == 0 && (error == NULL
          || g_strcmp0 (r->error, error) == 0))
    return;
  r->state = state;
  g_free (r->error);
  r->error = g_strdup (error);
  GST_INFO_OBJECT (self, "%s: %s%s%s", r->server, state, error ? ": " : "",
      error ? error : "");

  g_mutex_lock (&self->lock);
  current = self->reader == r;
  g_mutex_unlock (&self->lock);
  if (!current)
    return;
  s = gst_structure_new ("gpsklvsrc-state", "state", G_TYPE_STRING, state,
      "server", G_TYPE_STRING, r->server, "fixes", G_TYPE_UINT64, r->fixes,
      NULL);
  if (error)
    gst_structure_set (s, "error", G_TYPE_STRING, error, NULL);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* Reader thread: a fix as our local set describes it. */
static void
fix_from_gpsd (const struct gps_data_t *gd, DashcamGpsFix * fix)
{
  dashcam_gps_fix_init (fix);
  fix->time_us = (gint64) gd->fix.time.tv_sec * G_USEC_PER_SEC
      + gd->fix.time.tv_nsec / 1000;
  fix->latitude = gd->fix.latitude;
  fix->longitude = gd->fix.longitude;
  if (gd->fix.mode >= MODE_3D && isfinite (gd->fix.altMSL))
    fix->altitude = gd->fix.altMSL;
  if (isfinite (gd->fix.speed))
    fix->speed = gd->fix.speed;
  if (isfinite (gd->fix.track))
    fix->track = gd->fix.track;
  if (gd->satellites_used > 0)
    fix->satellites = gd->satellites_used;
  fix->quality = isnan (fix->altitude) ? DASHCAM_GPS_FIX_2D :
      DASHCAM_GPS_FIX_3D;
}

/* Reader thread: queues a fix for create(), stamped now. gpsd may report
 * one fix more than once (before it learned the end of the receiver's
 * cycle): a fix with the time of the previous one is not queued again. */
static void
reader_queue_fix (GstGpsKlvReader * r, const DashcamGpsFix * fix)
{
  GstGpsKlvSrc *self = r->src;
  GstGpsKlvSample *sample;

  if (fix->time_us != 0 && fix->time_us == r->last_time_us)
    return;
  r->last_time_us = fix->time_us;
  r->fixes++;
  sample = g_new (GstGpsKlvSample, 1);
  sample->fix = *fix;
  sample->running_time = current_running_time (self);

  g_mutex_lock (&self->lock);
  if (self->reader != r) {
    g_mutex_unlock (&self->lock);
    g_free (sample);
    return;
  }
  if (g_queue_get_length (&self->pending) >= MAX_PENDING) {
    GST_WARNING_OBJECT (self, "output stalled, dropping the oldest fix");
    g_free (g_queue_pop_head (&self->pending));
  }
  g_queue_push_tail (&self->pending, sample);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

/* Reader thread: sleeps @us unless told to stop. */
static void
reader_sleep (GstGpsKlvReader * r, gint64 us)
{
  gint64 end = g_get_monotonic_time () + us;

  while (!g_atomic_int_get (&r->stop) && g_get_monotonic_time () < end)
    g_usleep (MIN (POLL_US / 2, end - g_get_monotonic_time ()));
}

/* Reader thread: reads reports until the connection ends or stop. */
static const gchar *
reader_watch (GstGpsKlvReader * r, struct gps_data_t *gd)
{
  gint64 last_report = g_get_monotonic_time ();

  reader_set_state (r, "no-fix", NULL);
  while (!g_atomic_int_get (&r->stop)) {
    if (!gps_waiting (gd, POLL_US)) {
      if (errno != 0 && errno != EINTR && errno != EAGAIN)
        return g_strerror (errno);
      if (g_get_monotonic_time () - last_report > SILENCE_US)
        reader_set_state (r, "no-fix", NULL);
      continue;
    }
    if (gps_read (gd, NULL, 0) < 0)
      return "gpsd closed the connection";
    if (!(gd->set & MODE_SET))
      continue;                 /* not a TPV report */
    last_report = g_get_monotonic_time ();
    if (gd->fix.mode >= MODE_2D && isfinite (gd->fix.latitude)
        && isfinite (gd->fix.longitude)) {
      DashcamGpsFix fix;

      fix_from_gpsd (gd, &fix);
      reader_queue_fix (r, &fix);
      reader_set_state (r, "fix", NULL);
    } else {
      reader_set_state (r, "no-fix", NULL);
    }
  }
  return NULL;
}

static gpointer
reader_thread (gpointer data)
{
  GstGpsKlvReader *r = data;
  gint64 backoff = RECONNECT_MIN_US;

  reader_set_state (r, "connecting", NULL);
  while (!g_atomic_int_get (&r->stop)) {
    struct gps_data_t gd;
    const gchar *why;

    memset (&gd, 0, sizeof (gd));
    if (gps_open (r->host, r->port, &gd) != 0) {
      reader_set_state (r, "connecting", gps_errstr (errno));
      reader_sleep (r, backoff);
      backoff = MIN (backoff * 2, RECONNECT_MAX_US);
      continue;
    }
    backoff = RECONNECT_MIN_US;
    errno = 0;
    gps_stream (&gd, WATCH_ENABLE | WATCH_JSON, NULL);
    why = reader_watch (r, &gd);
    gps_close (&gd);
    if (why) {
      reader_set_state (r, "connecting", why);
      reader_sleep (r, backoff);
    }
  }
  GST_DEBUG_OBJECT (r->src, "reader of %s ends", r->server);
  gst_object_unref (r->src);
  g_free (r->server);
  g_free (r->host);
  g_free (r->port);
  g_free (r->error);
  g_free (r);
  return NULL;
}

static gboolean
gst_gps_klv_src_start (GstBaseSrc * bsrc)
{
  GstGpsKlvSrc *self = GST_GPS_KLV_SRC (bsrc);
  GstGpsKlvReader *r = g_new0 (GstGpsKlvReader, 1);
  GThread *thread;
  GError *err = NULL;

  GST_OBJECT_LOCK (self);
  r->server = g_strdup (self->server);
  self->interval_us = self->repeat_interval / GST_USECOND;
  GST_OBJECT_UNLOCK (self);
  if (!dashcam_gps_server_parse (r->server, &r->host, &r->port))
    goto bad_server;
  r->src = gst_object_ref (self);

  g_mutex_lock (&self->lock);
  g_queue_clear_full (&self->pending, g_free);
  dashcam_gps_fix_init (&self->last);
  self->last_push = 0;          /* the first buffer goes out at once */
  self->last_pts = 0;
  self->flushing = FALSE;
  self->reader = r;
  g_mutex_unlock (&self->lock);

  thread = g_thread_try_new ("gpsklvsrc", reader_thread, r, &err);
  if (thread == NULL)
    goto no_thread;
  g_thread_unref (thread);
  return TRUE;

  /* ERRORS */
bad_server:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid gpsd address \"%s\" (property \"server\"): expected "
            "host[:port] with a port from 1 to 65535.",
            GST_STR_NULL (r->server)), (NULL));
    g_free (r->server);
    g_free (r);
    return FALSE;
  }
no_thread:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, FAILED,
        ("Could not start the gpsd reader thread."), ("%s", err->message));
    g_mutex_lock (&self->lock);
    self->reader = NULL;
    g_mutex_unlock (&self->lock);
    g_clear_error (&err);
    gst_object_unref (self);
    g_free (r->server);
    g_free (r->host);
    g_free (r->port);
    g_free (r);
    return FALSE;
  }
}

static gboolean
gst_gps_klv_src_stop (GstBaseSrc * bsrc)
{
  GstGpsKlvSrc *self = GST_GPS_KLV_SRC (bsrc);

  g_mutex_lock (&self->lock);
  if (self->reader)
    g_atomic_int_set (&self->reader->stop, 1);
  self->reader = NULL;
  g_queue_clear_full (&self->pending, g_free);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
gst_gps_klv_src_unlock (GstBaseSrc * bsrc)
{
  GstGpsKlvSrc *self = GST_GPS_KLV_SRC (bsrc);

  g_mutex_lock (&self->lock);
  self->flushing = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
gst_gps_klv_src_unlock_stop (GstBaseSrc * bsrc)
{
  GstGpsKlvSrc *self = GST_GPS_KLV_SRC (bsrc);

  g_mutex_lock (&self->lock);
  self->flushing = FALSE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/* Live, without latency of its own (a fix is stamped when it arrives), and
 * able to hold its output as long as downstream needs: the base class's
 * maximum of 0 would leave a live muxer with an impossible latency. */
static gboolean
gst_gps_klv_src_query (GstBaseSrc * bsrc, GstQuery * query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    gst_query_set_latency (query, TRUE, 0, GST_CLOCK_TIME_NONE);
    return TRUE;
  }
  return GST_BASE_SRC_CLASS (parent_class)->query (bsrc, query);
}

/* Called with the lock: the next set to send, a queued fix or, once the
 * repeat interval passed without one, the last fix again; FALSE if it is
 * not time yet. */
static gboolean
next_sample (GstGpsKlvSrc * self, GstGpsKlvSample * out)
{
  GstGpsKlvSample *sample = g_queue_pop_head (&self->pending);

  if (sample) {
    *out = *sample;
    g_free (sample);
    self->last = out->fix;
    return TRUE;
  }
  if (self->last_push != 0
      && g_get_monotonic_time () < self->last_push + (gint64) self->interval_us)
    return FALSE;
  out->fix = self->last;
  if (out->fix.quality == DASHCAM_GPS_NO_POSITION)
    out->fix.time_us = g_get_real_time ();
  else
    out->fix.quality = DASHCAM_GPS_STALE;
  out->running_time = GST_CLOCK_TIME_NONE;
  return TRUE;
}

static GstFlowReturn
gst_gps_klv_src_create (GstPushSrc * psrc, GstBuffer ** buf)
{
  GstGpsKlvSrc *self = GST_GPS_KLV_SRC (psrc);
  GstGpsKlvSample sample;
  guint8 data[DASHCAM_KLV_FIX_MAX_SIZE];
  GstBuffer *out;
  gsize len;

  g_mutex_lock (&self->lock);
  while (!self->flushing && !next_sample (self, &sample))
    g_cond_wait_until (&self->cond, &self->lock,
        self->last_push + self->interval_us);
  if (self->flushing) {
    g_mutex_unlock (&self->lock);
    return GST_FLOW_FLUSHING;
  }
  self->last_push = g_get_monotonic_time ();
  if (!GST_CLOCK_TIME_IS_VALID (sample.running_time))
    sample.running_time = current_running_time (self);
  /* never backwards, whatever the clock did */
  sample.running_time = MAX (sample.running_time, self->last_pts);
  self->last_pts = sample.running_time;
  g_mutex_unlock (&self->lock);

  len = dashcam_klv_encode_fix (&sample.fix, data);
  out = gst_buffer_new_memdup (data, len);
  GST_BUFFER_PTS (out) = sample.running_time;
  GST_BUFFER_DTS (out) = sample.running_time;
  GST_LOG_OBJECT (self, "%s set at %" GST_TIME_FORMAT,
      dashcam_gps_fix_is_current (&sample.fix) ? "fix" : "repeated",
      GST_TIME_ARGS (sample.running_time));
  *buf = out;
  return GST_FLOW_OK;
}
