/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/**
 * SECTION:element-dashcambin
 * @title: dashcambin
 *
 * The whole dashcam client in one element: raw video (and, through the
 * `audio` request pad, raw audio) in; H.264 (8-bit 4:2:0, one keyframe a
 * second) and AAC at 128 kbit/s, muxed into MPEG-TS, recorded by a
 * looprecsink and, when #GstDashcamBin:uri is set, streamed by an
 * srtuploadsink that uploads what the server missed from the recording.
 * When #GstDashcamBin:gps names a gpsd, a gpsklvsrc adds the positions to
 * the TS as a KLV data stream.
 *
 * |[
 *   video ! queue ! videoconvert ! I420 ! x264enc ! h264parse ! queue ! mpegtsmux ! tee
 *   audio ! audioconvert ! audioresample ! AAC encoder ! aacparse ! queue ! mux.
 *   gpsklvsrc name=gps ! queue ! mux.                         (only with gps)
 *   tee. ! queue (leaky) ! looprecsink name=recorder
 *   tee. ! queue (leaky) ! srtuploadsink name=uploader      (only with a uri)
 * ]|
 *
 * The children are reachable by name through #GstChildProxy:
 * `recorder::max-files=60`, `uploader::backlog-max-bitrate=2000000` on a
 * gst-launch line. Their messages (`looprecsink-*`, `srtuploadsink-*`)
 * reach the application unchanged.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -e v4l2src ! videoconvert ! dashcambin location=/data/dashcam \
 *     uri=srt://ingest.example.com:8890 device-id=car42
 * gst-launch-1.0 -e videotestsrc is-live=true ! dashcambin location=rec \
 *     recorder::max-files=2
 * gst-launch-1.0 -e videotestsrc is-live=true ! d.video \
 *     audiotestsrc is-live=true ! d.audio dashcambin name=d location=rec
 * ]|
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstdashcambin.h"

#include <gst/video/video.h>

GST_DEBUG_CATEGORY_STATIC (gst_dashcam_bin_debug);
#define GST_CAT_DEFAULT gst_dashcam_bin_debug

#define DEFAULT_ENCODER "x264enc"
#define DEFAULT_BITRATE 4000
#define DEFAULT_SEGMENT_DURATION (60 * GST_SECOND)
#define AUDIO_BITRATE "128000"

enum
{
  PROP_0,
  PROP_LOCATION,
  PROP_URI,
  PROP_DEVICE_ID,
  PROP_SEGMENT_DURATION,
  PROP_BITRATE,
  PROP_ENCODER,
  PROP_GPS,
};

static GstStaticPadTemplate video_template = GST_STATIC_PAD_TEMPLATE ("video",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-raw"));

static GstStaticPadTemplate audio_template = GST_STATIC_PAD_TEMPLATE ("audio",
    GST_PAD_SINK,
    GST_PAD_REQUEST,
    GST_STATIC_CAPS ("audio/x-raw"));

#define gst_dashcam_bin_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstDashcamBin, gst_dashcam_bin, GST_TYPE_BIN,
    GST_DEBUG_CATEGORY_INIT (gst_dashcam_bin_debug, "dashcambin", 0,
        "Dashcam bin"));
GST_ELEMENT_REGISTER_DEFINE (dashcambin, "dashcambin", GST_RANK_NONE,
    GST_TYPE_DASHCAM_BIN);

static void gst_dashcam_bin_dispose (GObject * object);
static void gst_dashcam_bin_finalize (GObject * object);
static void gst_dashcam_bin_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_dashcam_bin_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static GstStateChangeReturn gst_dashcam_bin_change_state (GstElement *
    element, GstStateChange transition);
static GstPad *gst_dashcam_bin_request_new_pad (GstElement * element,
    GstPadTemplate * templ, const gchar * name, const GstCaps * caps);
static void gst_dashcam_bin_release_pad (GstElement * element, GstPad * pad);
static GstPadProbeReturn on_video_eos (GstPad * pad, GstPadProbeInfo * info,
    gpointer user_data);

#define PARAM_FLAGS_READY \
  (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)

static void
gst_dashcam_bin_class_init (GstDashcamBinClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->dispose = gst_dashcam_bin_dispose;
  gobject_class->finalize = gst_dashcam_bin_finalize;
  gobject_class->set_property = gst_dashcam_bin_set_property;
  gobject_class->get_property = gst_dashcam_bin_get_property;

  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "Recording directory (recorder::location and "
          "uploader::backlog-location)", NULL, PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_URI,
      g_param_spec_string ("uri", "URI",
          "SRT server, srt://host:port (uploader::uri; NULL = record only)",
          NULL, PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_DEVICE_ID,
      g_param_spec_string ("device-id", "Device ID",
          "The device's name in streamids (uploader::device-id; NULL = the "
          "machine id)", NULL, PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_SEGMENT_DURATION,
      g_param_spec_uint64 ("segment-duration", "Segment duration",
          "Length of the recorded segments, in nanoseconds "
          "(recorder::max-size-time)", GST_SECOND, G_MAXUINT64,
          DEFAULT_SEGMENT_DURATION, PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_BITRATE,
      g_param_spec_uint ("bitrate", "Bitrate",
          "Video bitrate, in kbit/s", 100, 100000, DEFAULT_BITRATE,
          PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_ENCODER,
      g_param_spec_string ("encoder", "Encoder",
          "Element factory of the H.264 encoder (x264enc, or a hardware "
          "encoder such as vaapih264enc or v4l2h264enc)", DEFAULT_ENCODER,
          PARAM_FLAGS_READY));
  g_object_class_install_property (gobject_class, PROP_GPS,
      g_param_spec_string ("gps", "GPS",
          "gpsd address, host[:port] (gps::server); the positions go into "
          "the TS as KLV (NULL = no GPS)", NULL, PARAM_FLAGS_READY));

  gst_element_class_set_static_metadata (element_class, "Dashcam",
      "Sink/Video/Network",
      "Encodes, loop-records and streams over SRT a dashcam's camera, with "
      "exact backlog upload of what the server missed",
      "gst-dashcam authors <dev@gst-dashcam.invalid>");
  gst_element_class_add_static_pad_template (element_class, &video_template);
  gst_element_class_add_static_pad_template (element_class, &audio_template);

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_dashcam_bin_change_state);
  element_class->request_new_pad =
      GST_DEBUG_FUNCPTR (gst_dashcam_bin_request_new_pad);
  element_class->release_pad = GST_DEBUG_FUNCPTR (gst_dashcam_bin_release_pad);
}

static GstElement *
make (GstDashcamBin * self, const gchar * factory, const gchar * name)
{
  GstElement *e = gst_element_factory_make (factory, name);

  if (e == NULL) {
    GST_ERROR_OBJECT (self, "element %s is missing", factory);
    if (self->missing == NULL)
      self->missing = g_strdup (factory);
    return NULL;
  }
  return gst_object_ref_sink (e);
}

/* Where a child's factory comes from, for the error message. */
static const gchar *
package_of (const gchar * factory)
{
  if (g_str_equal (factory, "mpegtsmux") || g_str_equal (factory, "h264parse"))
    return "gst-plugins-bad";
  if (g_str_equal (factory, "videoconvert"))
    return "gst-plugins-base";
  return "gstreamer";
}

/* One keyframe a second. Encoders take their GOP length only before they
 * start, when the frame rate is not known yet, so instead every second's
 * first frame is sent to the encoder behind a force-key-unit event, which
 * every GstVideoEncoder (x264enc and hardware ones alike) honours. */
static GstPadProbeReturn
on_encoder_input (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GstDashcamBin *self = user_data;

  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    GstCaps *caps;
    gint num, den;

    if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
      gst_event_parse_caps (event, &caps);
      if (gst_structure_get_fraction (gst_caps_get_structure (caps, 0),
              "framerate", &num, &den) && num > 0 && den > 0) {
        self->gop_frames = MAX (1, (num + den - 1) / den);
        GST_INFO_OBJECT (self, "%d/%d fps: a keyframe every %u frames", num,
            den, self->gop_frames);
      }
    }
    return GST_PAD_PROBE_OK;
  }
  if (self->gop_frames && self->frames++ % self->gop_frames == 0
      && self->frames > 1)
    gst_pad_send_event (pad,
        gst_video_event_new_downstream_force_key_unit (GST_CLOCK_TIME_NONE,
            GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, TRUE, 0));
  return GST_PAD_PROBE_OK;
}

static void
gst_dashcam_bin_init (GstDashcamBin * self)
{
  GstCaps *caps;
  GstPad *target;

  self->encoder_name = g_strdup (DEFAULT_ENCODER);
  self->bitrate = DEFAULT_BITRATE;

  self->vqueue = make (self, "queue", "videoqueue");
  self->convert = make (self, "videoconvert", "videoconvert");
  self->rawcaps = make (self, "capsfilter", "rawcaps");
  self->parse = make (self, "h264parse", "h264parse");
  self->muxqueue = make (self, "queue", "muxqueue");
  self->mux = make (self, "mpegtsmux", "mux");
  self->tee = make (self, "tee", "tee");
  self->recqueue = make (self, "queue", "recorderqueue");
  self->recorder = make (self, "looprecsink", "recorder");
  self->upqueue = make (self, "queue", "uploaderqueue");
  self->uploader = make (self, "srtuploadsink", "uploader");
  if (self->missing) {
    /* fails at the first state change, naming it; linking and the
     * properties (ours and the sinks' own) still work until then */
    gst_clear_object (&self->vqueue);
    gst_clear_object (&self->convert);
    gst_clear_object (&self->rawcaps);
    gst_clear_object (&self->parse);
    gst_clear_object (&self->muxqueue);
    gst_clear_object (&self->mux);
    gst_clear_object (&self->tee);
    gst_clear_object (&self->recqueue);
    if (self->recorder) {
      gst_bin_add (GST_BIN (self), self->recorder);
      gst_object_unref (self->recorder);
    }
    self->video_pad = gst_ghost_pad_new_no_target_from_template ("video",
        gst_static_pad_template_get (&video_template));
    gst_element_add_pad (GST_ELEMENT (self), self->video_pad);
    return;
  }

  /* 8-bit 4:2:0: what every player and phone decodes */
  caps = gst_caps_from_string ("video/x-raw,format=I420");
  g_object_set (self->rawcaps, "caps", caps, NULL);
  gst_caps_unref (caps);
  g_object_set (self->recorder, "max-size-time", DEFAULT_SEGMENT_DURATION,
      NULL);
  /* Neither branch may hold the other: the uploader never blocks, and a
   * recorder stuck on a slow card for seconds loses data, not the live
   * stream. */
  g_object_set (self->recqueue, "max-size-buffers", 0, "max-size-bytes", 0,
      "max-size-time", 5 * GST_SECOND, "leaky", 2, NULL);
  g_object_set (self->upqueue, "max-size-buffers", 0, "max-size-bytes", 0,
      "max-size-time", 2 * GST_SECOND, "leaky", 2, NULL);

  /* the uploader joins at start, if it has a uri: we keep a reference to
   * it and its queue, the bin takes the others' */
  gst_bin_add_many (GST_BIN (self), self->vqueue, self->convert,
      self->rawcaps, self->parse, self->muxqueue, self->mux, self->tee,
      self->recqueue, self->recorder, self->upqueue, self->uploader, NULL);
  gst_object_unref (self->vqueue);
  gst_object_unref (self->convert);
  gst_object_unref (self->rawcaps);
  gst_object_unref (self->parse);
  gst_object_unref (self->muxqueue);
  gst_object_unref (self->mux);
  gst_object_unref (self->tee);
  gst_object_unref (self->recqueue);
  gst_object_unref (self->recorder);
  gst_element_link_many (self->vqueue, self->convert, self->rawcaps, NULL);
  gst_element_link_many (self->parse, self->muxqueue, self->mux, self->tee,
      self->recqueue, self->recorder, NULL);

  target = gst_element_get_static_pad (self->parse, "src");
  gst_pad_add_probe (target, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      on_video_eos, self, NULL);
  gst_object_unref (target);

  target = gst_element_get_static_pad (self->vqueue, "sink");
  self->video_pad = gst_ghost_pad_new_from_template ("video", target,
      gst_static_pad_template_get (&video_template));
  gst_object_unref (target);
  gst_element_add_pad (GST_ELEMENT (self), self->video_pad);
}

static void
gst_dashcam_bin_dispose (GObject * object)
{
  GstDashcamBin *self = GST_DASHCAM_BIN (object);

  gst_clear_object (&self->upqueue);
  gst_clear_object (&self->uploader);
  gst_clear_object (&self->gpssrc);
  gst_clear_object (&self->gpsqueue);
  G_OBJECT_CLASS (parent_class)->dispose (object);
}

static void
gst_dashcam_bin_finalize (GObject * object)
{
  GstDashcamBin *self = GST_DASHCAM_BIN (object);

  g_free (self->encoder_name);
  g_free (self->gps);
  g_free (self->missing);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_dashcam_bin_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstDashcamBin *self = GST_DASHCAM_BIN (object);

  switch (prop_id) {
    case PROP_LOCATION:
      g_object_set_property (G_OBJECT (self->recorder), "location", value);
      g_object_set_property (G_OBJECT (self->uploader), "backlog-location",
          value);
      break;
    case PROP_URI:
      g_object_set_property (G_OBJECT (self->uploader), "uri", value);
      break;
    case PROP_DEVICE_ID:
      g_object_set_property (G_OBJECT (self->uploader), "device-id", value);
      break;
    case PROP_SEGMENT_DURATION:
      g_object_set_property (G_OBJECT (self->recorder), "max-size-time",
          value);
      break;
    case PROP_BITRATE:
      GST_OBJECT_LOCK (self);
      self->bitrate = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_ENCODER:
      GST_OBJECT_LOCK (self);
      g_free (self->encoder_name);
      self->encoder_name = g_value_dup_string (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_GPS:
      GST_OBJECT_LOCK (self);
      g_free (self->gps);
      self->gps = g_value_dup_string (value);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_dashcam_bin_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstDashcamBin *self = GST_DASHCAM_BIN (object);

  switch (prop_id) {
    case PROP_LOCATION:
      g_object_get_property (G_OBJECT (self->recorder), "location", value);
      break;
    case PROP_URI:
      g_object_get_property (G_OBJECT (self->uploader), "uri", value);
      break;
    case PROP_DEVICE_ID:
      g_object_get_property (G_OBJECT (self->uploader), "device-id", value);
      break;
    case PROP_SEGMENT_DURATION:
      g_object_get_property (G_OBJECT (self->recorder), "max-size-time",
          value);
      break;
    case PROP_BITRATE:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->bitrate);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_ENCODER:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->encoder_name);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_GPS:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->gps);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

/* Creates the encoder named by the "encoder" property. */
static gboolean
setup_encoder (GstDashcamBin * self)
{
  gchar *name;
  guint bitrate;

  GST_OBJECT_LOCK (self);
  name = g_strdup (self->encoder_name);
  bitrate = self->bitrate;
  GST_OBJECT_UNLOCK (self);

  if (self->encoder) {
    gst_element_set_state (self->encoder, GST_STATE_NULL);
    gst_bin_remove (GST_BIN (self), self->encoder);
    self->encoder = NULL;
  }
  self->encoder = gst_element_factory_make (name, "encoder");
  if (self->encoder == NULL)
    goto no_encoder;

  if (g_str_equal (name, "x264enc"))
    gst_util_set_object_arg (G_OBJECT (self->encoder), "tune", "zerolatency");
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (self->encoder),
          "speed-preset"))
    gst_util_set_object_arg (G_OBJECT (self->encoder), "speed-preset",
        "veryfast");
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (self->encoder),
          "bitrate"))
    g_object_set (self->encoder, "bitrate", bitrate, NULL);

  gst_bin_add (GST_BIN (self), self->encoder);
  if (!gst_element_link_many (self->rawcaps, self->encoder, self->parse,
          NULL))
    goto link_failed;
  {
    GstPad *sink = gst_element_get_static_pad (self->encoder, "sink");

    self->frames = 0;
    gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER |
        GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_encoder_input, self, NULL);
    gst_object_unref (sink);
  }
  gst_element_sync_state_with_parent (self->encoder);
  g_free (name);
  return TRUE;

  /* ERRORS */
no_encoder:
  {
    GST_ELEMENT_ERROR (self, CORE, MISSING_PLUGIN,
        ("No element \"%s\" (property \"encoder\").", name), (NULL));
    g_free (name);
    return FALSE;
  }
link_failed:
  {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("The encoder \"%s\" (property \"encoder\") does not produce "
            "H.264 from I420.", name), (NULL));
    g_free (name);
    return FALSE;
  }
}

/* Links the uploader if it has a server, else takes it out: an unlinked
 * sink would never preroll. */
static void
setup_uploader (GstDashcamBin * self)
{
  gchar *uri = NULL;
  gboolean in_bin = GST_OBJECT_PARENT (self->uploader) == GST_OBJECT (self);

  g_object_get (self->uploader, "uri", &uri, NULL);
  if (uri && !in_bin) {
    gst_bin_add_many (GST_BIN (self), gst_object_ref (self->upqueue),
        gst_object_ref (self->uploader), NULL);
    in_bin = TRUE;
  }
  if (uri && !self->uploader_linked) {
    gst_element_link_many (self->tee, self->upqueue, self->uploader, NULL);
    self->uploader_linked = TRUE;
  } else if (!uri && in_bin) {
    GST_INFO_OBJECT (self, "no uri: recording only");
    gst_bin_remove_many (GST_BIN (self), self->upqueue, self->uploader, NULL);
    self->uploader_linked = FALSE;
  }
  g_free (uri);
}

/* The video's end is the recording's end: the GPS source, which would run
 * forever, is ended with it so that the muxer can finish. */
static GstPadProbeReturn
on_video_eos (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GstDashcamBin *self = user_data;
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  GstElement *gpssrc = NULL;

  if (GST_EVENT_TYPE (event) != GST_EVENT_EOS)
    return GST_PAD_PROBE_OK;
  GST_OBJECT_LOCK (self);
  if (self->gpssrc)
    gpssrc = gst_object_ref (self->gpssrc);
  GST_OBJECT_UNLOCK (self);
  if (gpssrc) {
    GST_INFO_OBJECT (self, "video ended: ending the GPS stream");
    gst_element_send_event (gpssrc, gst_event_new_eos ());
    gst_object_unref (gpssrc);
  }
  return GST_PAD_PROBE_OK;
}

/* Adds gpsklvsrc ! queue ! mux when the gps property is set, takes them
 * out when it was cleared (the muxer's pad goes with them). */
static gboolean
setup_gps (GstDashcamBin * self)
{
  gchar *gps;

  GST_OBJECT_LOCK (self);
  gps = g_strdup (self->gps);
  GST_OBJECT_UNLOCK (self);

  if (gps && self->gpssrc == NULL) {
    GstElement *gpssrc = gst_element_factory_make ("gpsklvsrc", "gps");

    if (gpssrc == NULL)
      goto no_gpsklvsrc;
    GST_OBJECT_LOCK (self);
    self->gpssrc = gst_object_ref_sink (gpssrc);
    GST_OBJECT_UNLOCK (self);
    self->gpsqueue = gst_object_ref_sink (gst_element_factory_make ("queue",
            "gpsqueue"));
    gst_bin_add_many (GST_BIN (self), gst_object_ref (self->gpssrc),
        gst_object_ref (self->gpsqueue), NULL);
    gst_element_link_many (self->gpssrc, self->gpsqueue, self->mux, NULL);
  } else if (gps == NULL && self->gpssrc) {
    GstPad *src = gst_element_get_static_pad (self->gpsqueue, "src");
    GstPad *muxpad = gst_pad_get_peer (src);

    gst_bin_remove_many (GST_BIN (self), self->gpssrc, self->gpsqueue, NULL);
    if (muxpad) {
      gst_element_release_request_pad (self->mux, muxpad);
      gst_object_unref (muxpad);
    }
    gst_object_unref (src);
    GST_OBJECT_LOCK (self);
    gst_clear_object (&self->gpssrc);
    GST_OBJECT_UNLOCK (self);
    gst_clear_object (&self->gpsqueue);
  }
  if (gps)
    g_object_set (self->gpssrc, "server", gps, NULL);
  g_free (gps);
  return TRUE;

  /* ERRORS */
no_gpsklvsrc:
  {
    GST_ELEMENT_ERROR (self, CORE, MISSING_PLUGIN,
        ("No element \"gpsklvsrc\" (property \"gps\"): gst-dashcam was "
            "built without libgps (install libgps-dev and rebuild)."),
        (NULL));
    g_free (gps);
    return FALSE;
  }
}

static GstStateChangeReturn
gst_dashcam_bin_change_state (GstElement * element, GstStateChange transition)
{
  GstDashcamBin *self = GST_DASHCAM_BIN (element);

  if (self->missing) {
    GST_ELEMENT_ERROR (self, CORE, MISSING_PLUGIN,
        ("No element \"%s\": dashcambin needs it (install %s).",
            self->missing, package_of (self->missing)), (NULL));
    return GST_STATE_CHANGE_FAILURE;
  }
  if (transition == GST_STATE_CHANGE_NULL_TO_READY) {
    if (!setup_encoder (self) || !setup_gps (self))
      return GST_STATE_CHANGE_FAILURE;
    setup_uploader (self);
  }
  return GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
}

static GstElement *
make_aac_encoder (void)
{
  const gchar *factories[] = { "voaacenc", "avenc_aac", "fdkaacenc" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (factories); i++) {
    GstElement *e = gst_element_factory_make (factories[i], "audioencoder");

    if (e) {
      /* the encoders disagree on the property's type */
      gst_util_set_object_arg (G_OBJECT (e), "bitrate", AUDIO_BITRATE);
      return e;
    }
  }
  return NULL;
}

static GstPad *
gst_dashcam_bin_request_new_pad (GstElement * element, GstPadTemplate * templ,
    const gchar * name, const GstCaps * caps)
{
  GstDashcamBin *self = GST_DASHCAM_BIN (element);
  GstElement *convert, *resample, *enc, *parse, *queue;
  GstPad *target;

  if (self->audio_pad)
    return NULL;
  convert = gst_element_factory_make ("audioconvert", NULL);
  resample = gst_element_factory_make ("audioresample", NULL);
  enc = make_aac_encoder ();
  parse = gst_element_factory_make ("aacparse", NULL);
  queue = gst_element_factory_make ("queue", "audioqueue");
  if (!convert || !resample || !enc || !parse || !queue)
    goto missing;

  gst_bin_add_many (GST_BIN (self), convert, resample, enc, parse, queue,
      NULL);
  if (!gst_element_link_many (convert, resample, enc, parse, queue, self->mux,
          NULL))
    goto link_failed;
  gst_element_sync_state_with_parent (queue);
  gst_element_sync_state_with_parent (parse);
  gst_element_sync_state_with_parent (enc);
  gst_element_sync_state_with_parent (resample);
  gst_element_sync_state_with_parent (convert);

  target = gst_element_get_static_pad (convert, "sink");
  self->audio_pad = gst_ghost_pad_new_from_template ("audio", target, templ);
  gst_object_unref (target);
  gst_pad_set_active (self->audio_pad, TRUE);
  gst_element_add_pad (element, self->audio_pad);
  return self->audio_pad;

  /* ERRORS */
missing:
  {
    GST_ELEMENT_ERROR (self, CORE, MISSING_PLUGIN,
        ("No AAC encoder (voaacenc, avenc_aac or fdkaacenc) or audio "
            "element: install gstreamer1.0-plugins-bad or -libav."), (NULL));
    g_clear_object (&convert);
    g_clear_object (&resample);
    g_clear_object (&enc);
    g_clear_object (&parse);
    g_clear_object (&queue);
    return NULL;
  }
link_failed:
  {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Could not link the audio branch."), (NULL));
    return NULL;
  }
}

static void
gst_dashcam_bin_release_pad (GstElement * element, GstPad * pad)
{
  GstDashcamBin *self = GST_DASHCAM_BIN (element);

  if (pad == self->audio_pad) {
    gst_element_remove_pad (element, pad);
    self->audio_pad = NULL;
  }
}
