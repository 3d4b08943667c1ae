/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* srtuploadsink with a libsrt listener in this process: after a flush
 * (flushing seek, FLUSH_STOP) the sink starts clean. */

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <srt/srt.h>

#include "dashcamtestutil.h"

#define TS 188

typedef struct
{
  SRTSOCKET listener;
  guint16 port;
  GByteArray *received;
  GThread *thread;
} Receiver;

/* Accepts one caller and reads until its connection is gone; libsrt still
 * hands out what it holds after the caller closed. */
static gpointer
receive_thread (gpointer data)
{
  Receiver *r = data;
  struct sockaddr_storage peer;
  gint len = sizeof (peer);
  SRTSOCKET s = srt_accept (r->listener, (struct sockaddr *) &peer, &len);
  gchar buf[1500];
  gint n;

  if (s == SRT_INVALID_SOCK)
    return NULL;
  while ((n = srt_recvmsg (s, buf, sizeof (buf))) > 0)
    g_byte_array_append (r->received, (guint8 *) buf, n);
  srt_close (s);
  return NULL;
}

static void
receiver_start (Receiver * r)
{
  struct sockaddr_in sa = { 0, };
  gint len = sizeof (sa);
  SRT_TRANSTYPE live = SRTT_LIVE;

  srt_startup ();
  r->listener = srt_create_socket ();
  fail_unless (srt_setsockflag (r->listener, SRTO_TRANSTYPE, &live,
          sizeof (live)) == 0);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  fail_unless (srt_bind (r->listener, (struct sockaddr *) &sa,
          sizeof (sa)) == 0, "%s", srt_getlasterror_str ());
  fail_unless (srt_listen (r->listener, 1) == 0);
  fail_unless (srt_getsockname (r->listener, (struct sockaddr *) &sa,
          &len) == 0);
  r->port = ntohs (sa.sin_port);
  r->received = g_byte_array_new ();
  r->thread = g_thread_new ("receiver", receive_thread, r);
}

static void
receiver_finish (Receiver * r)
{
  g_thread_join (r->thread);
  srt_close (r->listener);
}

/* Closed sockets are released by libsrt's garbage collector thread, 3-5 s
 * after the close; exiting before their threads are gone crashes libsrt
 * 1.5.1 in its static destructors. */
static void
wait_srt_threads_gone (void)
{
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  guint left;

  do {
    GDir *dir = g_dir_open ("/proc/self/task", 0, NULL);
    const gchar *tid;

    left = 0;
    while (dir && (tid = g_dir_read_name (dir))) {
      gchar *path = g_strdup_printf ("/proc/self/task/%s/comm", tid);
      gchar *comm = NULL;

      if (g_file_get_contents (path, &comm, NULL, NULL)
          && g_str_has_prefix (comm, "SRT:RcvQ"))
        left++;
      g_free (comm);
      g_free (path);
    }
    if (dir)
      g_dir_close (dir);
    if (left > 0)
      g_usleep (50 * 1000);
  } while (left > 0 && g_get_monotonic_time () < deadline);
}

static gchar *
link_state (GstElement * sink)
{
  GstStructure *stats = NULL;
  gchar *state = NULL;

  g_object_get (sink, "stats", &stats, NULL);
  if (stats) {
    state = g_strdup (gst_structure_get_string (stats, "state"));
    gst_structure_free (stats);
  }
  return state;
}

static void
wait_link_up (GstElement * sink)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  gchar *state = NULL;

  do {
    g_free (state);
    state = link_state (sink);
    if (g_strcmp0 (state, "up") != 0)
      g_usleep (20 * 1000);
  } while (g_strcmp0 (state, "up") != 0 && g_get_monotonic_time () < deadline);
  fail_unless_equals_string (state, "up");
  g_free (state);
}

/* Waits until libsrt was handed at least @bytes and nothing more for
 * 300 ms: what is queued when a flush comes is dropped. */
static void
wait_sent (GstElement * sink, guint64 bytes)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  guint64 sent = 0, last = 0;
  guint same = 0;

  while (same < 3 && g_get_monotonic_time () < deadline) {
    GstStructure *stats = NULL;

    g_usleep (100 * 1000);
    g_object_get (sink, "stats", &stats, NULL);
    gst_structure_get_uint64 (stats, "bytes-sent", &sent);
    gst_structure_free (stats);
    same = sent >= bytes && sent == last ? same + 1 : 0;
    last = sent;
  }
  fail_unless (same >= 3, "%" G_GUINT64_FORMAT " bytes sent, %"
      G_GUINT64_FORMAT " expected", sent, bytes);
}

/* Pushes @len bytes of @data in buffers of 1000 (not a packet multiple). */
static void
push_bytes (GstHarness * h, const guint8 * data, gsize len)
{
  gsize off;

  for (off = 0; off < len; off += 1000) {
    gsize n = MIN (1000, len - off);

    fail_unless_equals_int (gst_harness_push (h,
            gst_buffer_new_memdup (data + off, n)), GST_FLOW_OK);
  }
}

static gchar *
read_ts (const gchar * dir, const gchar * name, const gchar * options,
    gsize * len)
{
  gchar *path = dc_make_ts (dir, name, 60, 15, options);
  gchar *data = NULL;

  fail_unless (g_file_get_contents (path, &data, len, NULL));
  fail_unless (*len > 20 * TS && *len % TS == 0);
  g_free (path);
  return data;
}

/* What a flushing seek sends. */
static void
flushing_seek (GstHarness * h)
{
  GstSegment segment;

  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
}

/* A stream cut in the middle of a packet, EOS, then FLUSH_START and
 * FLUSH_STOP (what a flushing seek sends), a second stream cut the same
 * way, another flush and the first stream again: the receiver must get
 * the whole packets of the first two and the third one entire: no byte of
 * a cut packet, no stale PAT/PMT, and no "eos" left over that drops what
 * follows. */
GST_START_TEST (test_flush_starts_clean)
{
  gchar *dir, *a, *b, *uri;
  gsize a_len, b_len, cut, prefix, end, i;
  GstHarness *h;
  GstElement *sink;
  Receiver r = { 0, };
  const guint8 *got;

  if (!dc_have_elements ("x264enc", "mpegtsmux", "h264parse", NULL)) {
    GST_WARNING ("SKIP: x264enc, h264parse or mpegtsmux missing");
    return;
  }
  dir = dc_make_tmpdir ();
  a = read_ts (dir, "a.ts", "bitrate=600", &a_len);
  b = read_ts (dir, "b.ts", "bitrate=1500", &b_len);
  fail_if (memcmp (a, b, 40 * TS) == 0);
  receiver_start (&r);

  sink = gst_element_factory_make ("srtuploadsink", NULL);
  fail_unless (sink != NULL);
  uri = g_strdup_printf ("srt://127.0.0.1:%u", r.port);
  /* no drop for a queue that fills faster than real time */
  g_object_set (sink, "uri", uri, "device-id", "car42",
      "live-buffer-time", (guint64) 600 * GST_SECOND, NULL);
  h = gst_harness_new_with_element (sink, "sink", NULL);
  gst_harness_set_src_caps_str (h, "video/mpegts,systemstream=true");
  gst_harness_play (h);
  wait_link_up (sink);

  /* the first stream, cut 100 bytes into its last packet, then EOS */
  cut = a_len - TS + 100;
  push_bytes (h, (guint8 *) a, cut);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  flushing_seek (h);
  /* the second stream, cut the same way, no EOS */
  push_bytes (h, (guint8 *) b, b_len - TS + 100);
  wait_sent (sink, a_len / 2 + b_len / 2);
  flushing_seek (h);
  /* the first stream again, whole */
  push_bytes (h, (guint8 *) a, a_len);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  /* EOS waits for the acknowledgements; stopping closes the link */
  gst_harness_teardown (h);
  gst_object_unref (sink);
  receiver_finish (&r);

  wait_srt_threads_gone ();

  got = r.received->data;
  GST_INFO ("received %u bytes; first stream %" G_GSIZE_FORMAT " (cut at %"
      G_GSIZE_FORMAT "), second %" G_GSIZE_FORMAT, r.received->len, a_len,
      cut, b_len);
  fail_unless (r.received->len % TS == 0, "%u bytes: not whole packets",
      r.received->len);
  for (i = 0; i < r.received->len; i += TS)
    fail_unless_equals_int (got[i], 0x47);
  /* the first stream entire, at the end */
  fail_unless (r.received->len >= a_len, "only %u bytes arrived",
      r.received->len);
  end = r.received->len - a_len;
  fail_unless (memcmp (got + end, a, a_len) == 0,
      "the last stream did not arrive whole after the flush");
  /* before it, the whole packets of the first stream, then of the second
   * one, nothing of a cut packet and no PAT or PMT of another stream */
  for (prefix = a_len - TS; prefix >= a_len / 2; prefix -= TS) {
    if (prefix <= end && memcmp (got, a, prefix) == 0
        && memcmp (got + prefix, b, end - prefix) == 0)
      break;
  }
  fail_unless (prefix >= a_len / 2, "the first two streams did not arrive "
      "as sent: %" G_GSIZE_FORMAT " bytes for them", end);
  fail_unless (end - prefix >= b_len / 2 && end - prefix <= b_len - TS,
      "%" G_GSIZE_FORMAT " bytes of the second stream (%" G_GSIZE_FORMAT
      " of the first)", end - prefix, prefix);

  g_byte_array_unref (r.received);
  g_free (uri);
  g_free (a);
  g_free (b);
  dc_rm_rf (dir);
  g_free (dir);
}

GST_END_TEST;

static Suite *
srtuploadsink_suite (void)
{
  Suite *s = suite_create ("srtuploadsink");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_flush_starts_clean);
  return s;
}

GST_CHECK_MAIN (srtuploadsink);
