/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* gpsklvsrc without gpsd: a bad address is refused naming the property;
 * with nothing listening the source says so and keeps the stream going
 * with position-less local sets at its repeat interval. (With gpsd, see
 * tests/integration/test-gps.sh.) */

#include <gst/check/gstcheck.h>
#include <gst/app/gstappsink.h>
#include <gio/gio.h>

#include "dashcamgps.h"
#include "dashcamtestutil.h"

/* A TCP port on 127.0.0.1 where nothing listens. */
static guint
closed_port (void)
{
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, NULL);
  GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *addr = g_inet_socket_address_new (lo, 0), *bound;
  guint port;

  fail_unless (g_socket_bind (s, addr, FALSE, NULL));
  bound = g_socket_get_local_address (s, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_object_unref (bound);
  g_object_unref (addr);
  g_object_unref (lo);
  g_object_unref (s);
  return port;
}

GST_START_TEST (test_bad_server)
{
  const gchar *bad[] = { "", "gps:70000", ":2947", "host:port" };
  guint i;

  if (!dc_have_elements ("gpsklvsrc", NULL))
    return;
  for (i = 0; i < G_N_ELEMENTS (bad); i++) {
    gchar *desc = g_strdup_printf ("gpsklvsrc server=\"%s\" ! fakesink",
        bad[i]);
    DcRunResult *r = dc_run_launch (desc, 10);

    fail_unless (dc_errors_contain (r, "property \"server\""),
        "no error naming the property for server=\"%s\"", bad[i]);
    dc_run_result_free (r);
    g_free (desc);
  }
}

GST_END_TEST;

GST_START_TEST (test_no_gpsd_keeps_flowing)
{
  GstElement *pipeline, *sink;
  GstBus *bus;
  GstMessage *msg;
  gchar *desc;
  guint n = 0;
  GstClockTime last = 0;
  gboolean saw_connecting = FALSE;
  gint64 t0;

  if (!dc_have_elements ("gpsklvsrc", NULL))
    return;
  desc = g_strdup_printf ("gpsklvsrc server=127.0.0.1:%u "
      "repeat-interval=100000000 ! appsink name=sink sync=false",
      closed_port ());
  pipeline = gst_parse_launch (desc, NULL);
  g_free (desc);
  fail_unless (pipeline != NULL);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  bus = gst_element_get_bus (pipeline);
  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);

  for (n = 0; n < 8; n++) {
    GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink),
        10 * GST_SECOND);
    GstBuffer *buf;
    GstMapInfo map;
    DashcamGpsFix fix;
    gsize used;
    GstStructure *s;

    fail_unless (sample != NULL, "no KLV after %u sets", n);
    s = gst_caps_get_structure (gst_sample_get_caps (sample), 0);
    fail_unless (gst_structure_has_name (s, "meta/x-klv"));
    buf = gst_sample_get_buffer (sample);
    fail_unless (GST_BUFFER_PTS_IS_VALID (buf));
    fail_unless (GST_BUFFER_PTS (buf) >= last);
    last = GST_BUFFER_PTS (buf);
    gst_buffer_map (buf, &map, GST_MAP_READ);
    fail_unless (dashcam_klv_decode_fix (map.data, map.size, &fix, &used));
    fail_unless_equals_int (used, map.size);
    fail_unless_equals_int (fix.quality, DASHCAM_GPS_NO_POSITION);
    gst_buffer_unmap (buf, &map);
    gst_sample_unref (sample);
  }
  /* 8 sets at 10 Hz: at least 0.5 s of running time between them */
  fail_unless (last >= 500 * GST_MSECOND, "last PTS %" GST_TIME_FORMAT,
      GST_TIME_ARGS (last));

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (msg);

    if (gst_structure_has_name (s, "gpsklvsrc-state")
        && g_strcmp0 (gst_structure_get_string (s, "state"),
            "connecting") == 0 && gst_structure_has_field (s, "error"))
      saw_connecting = TRUE;
    gst_message_unref (msg);
  }
  fail_unless (saw_connecting, "no gpsklvsrc-state connecting with an error");

  /* stopping does not wait for the reader thread */
  t0 = g_get_monotonic_time ();
  gst_element_set_state (pipeline, GST_STATE_NULL);
  fail_unless (g_get_monotonic_time () - t0 < 2 * G_USEC_PER_SEC);
  gst_object_unref (bus);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
}

GST_END_TEST;

static Suite *
gpsklvsrc_suite (void)
{
  Suite *s = suite_create ("gpsklvsrc");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_bad_server);
  tcase_add_test (tc, test_no_gpsd_keeps_flowing);
  return s;
}

GST_CHECK_MAIN (gpsklvsrc);
