/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The SRT link against a libsrt listener in this process: the bytes
 * arrive, and with receive_poll_ms libsrt's receiving thread of the
 * connection stops waking up ~100 times a second while nothing arrives. */

#include <gst/check/gstcheck.h>

#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <srt/srt.h>

#include "dashcamsrt.h"

static SRTSOCKET
listen_live (guint16 * port)
{
  struct sockaddr_in sa = { 0, };
  gint len = sizeof (sa);
  SRT_TRANSTYPE live = SRTT_LIVE;
  SRTSOCKET s;

  s = srt_create_socket ();
  fail_unless (s != SRT_INVALID_SOCK);
  fail_unless (srt_setsockflag (s, SRTO_TRANSTYPE, &live,
          sizeof (live)) == 0);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  fail_unless (srt_bind (s, (struct sockaddr *) &sa, sizeof (sa)) == 0,
      "%s", srt_getlasterror_str ());
  fail_unless (srt_listen (s, 4) == 0);
  fail_unless (srt_getsockname (s, (struct sockaddr *) &sa, &len) == 0);
  *port = ntohs (sa.sin_port);
  return s;
}

/* Thread ids of this process whose name starts with @prefix. */
static GHashTable *
threads_named (const gchar * prefix)
{
  GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  GDir *dir = g_dir_open ("/proc/self/task", 0, NULL);
  const gchar *tid;

  fail_unless (dir != NULL);
  while ((tid = g_dir_read_name (dir))) {
    gchar *path = g_strdup_printf ("/proc/self/task/%s/comm", tid);
    gchar *comm = NULL;

    if (g_file_get_contents (path, &comm, NULL, NULL)
        && g_str_has_prefix (comm, prefix))
      g_hash_table_add (set, g_strdup (tid));
    g_free (comm);
    g_free (path);
  }
  g_dir_close (dir);
  return set;
}

/* The one thread named @prefix that is not in @before. */
static gchar *
new_thread (GHashTable * before, const gchar * prefix)
{
  GHashTable *now = threads_named (prefix);
  GHashTableIter iter;
  gpointer tid;
  gchar *found = NULL;

  g_hash_table_iter_init (&iter, now);
  while (g_hash_table_iter_next (&iter, &tid, NULL)) {
    if (!g_hash_table_contains (before, tid)) {
      fail_unless (found == NULL, "two new %s threads", prefix);
      found = g_strdup (tid);
    }
  }
  g_hash_table_unref (now);
  fail_unless (found != NULL, "no new %s thread", prefix);
  return found;
}

/* How many times thread @tid went to sleep of its own accord. */
static guint64
voluntary_switches (const gchar * tid)
{
  gchar *path = g_strdup_printf ("/proc/self/task/%s/status", tid);
  gchar *status = NULL, *line;
  guint64 n = 0;

  fail_unless (g_file_get_contents (path, &status, NULL, NULL));
  line = strstr (status, "\nvoluntary_ctxt_switches:");
  fail_unless (line != NULL);
  n = g_ascii_strtoull (line + strlen ("\nvoluntary_ctxt_switches:"), NULL,
      10);
  g_free (status);
  g_free (path);
  return n;
}

/* Closed sockets are released by libsrt's garbage collector thread, which
 * stops each connection's threads: wait for all of them to be gone (an
 * exit while it works crashes libsrt 1.5.1 in its static destructors). */
static void
wait_srt_threads_gone (void)
{
  /* it takes 3-5 s after the close */
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  guint left;

  do {
    GHashTable *now = threads_named ("SRT:RcvQ");

    left = g_hash_table_size (now);
    g_hash_table_unref (now);
    if (left > 0)
      g_usleep (20 * 1000);
  } while (left > 0 && g_get_monotonic_time () < deadline);
  fail_unless_equals_int (left, 0);
}

static DashcamSrtLink *
connect_idle (guint16 port, gint receive_poll_ms, gchar ** rcvq_tid)
{
  DashcamSrtConfig config = { 0, };
  DashcamSrtReason reason;
  DashcamSrtLink *link;
  GHashTable *before = threads_named ("SRT:RcvQ");
  gchar *detail = NULL;

  config.host = "127.0.0.1";
  config.port = port;
  config.streamid = "test/poll";
  config.latency_ms = 120;
  config.idle_timeout_ms = 5000;
  config.connect_timeout_ms = 3000;
  config.send_timeout_ms = 50;
  config.receive_poll_ms = receive_poll_ms;
  link = dashcam_srt_link_connect (&config, &reason, &detail);
  fail_unless (link != NULL, "connect failed: %s", detail);
  /* each caller has its own UDP socket, hence its own receiving thread */
  *rcvq_tid = new_thread (before, "SRT:RcvQ");
  g_hash_table_unref (before);
  g_free (detail);
  return link;
}

GST_START_TEST (test_receive_poll)
{
  guint16 port;
  SRTSOCKET listener = listen_live (&port);
  DashcamSrtLink *paced, *plain;
  gchar *paced_tid, *plain_tid;
  guint64 paced0, plain0, paced_n, plain_n;

  paced = connect_idle (port, 50, &paced_tid);
  plain = connect_idle (port, 0, &plain_tid);

  /* both connected and idle: count the wake-ups over 2 s */
  paced0 = voluntary_switches (paced_tid);
  plain0 = voluntary_switches (plain_tid);
  g_usleep (2 * G_USEC_PER_SEC);
  paced_n = voluntary_switches (paced_tid) - paced0;
  plain_n = voluntary_switches (plain_tid) - plain0;
  GST_INFO ("idle wake-ups in 2 s: %" G_GUINT64_FORMAT " with a 50 ms poll, %"
      G_GUINT64_FORMAT " with libsrt's own", paced_n, plain_n);

  /* 40 timeouts, a keepalive a second, some slack; libsrt's own ~200+ */
  fail_unless (paced_n <= 60, "%" G_GUINT64_FORMAT " wake-ups with a 50 ms "
      "poll", paced_n);
  fail_unless (plain_n >= 2 * paced_n, "%" G_GUINT64_FORMAT " wake-ups with "
      "libsrt's own timeout, %" G_GUINT64_FORMAT " with 50 ms", plain_n,
      paced_n);

  dashcam_srt_link_close (paced);
  dashcam_srt_link_close (plain);
  srt_close (listener);
  wait_srt_threads_gone ();
  g_free (paced_tid);
  g_free (plain_tid);
}

GST_END_TEST;

/* With the UDP socket ours, the bytes still arrive, in order, and the
 * link closes at once. */
GST_START_TEST (test_paced_link_sends)
{
  guint16 port;
  SRTSOCKET listener = listen_live (&port), peer;
  DashcamSrtLink *link;
  DashcamSrtReason reason;
  gchar *tid;
  guint8 payload[DASHCAM_SRT_PAYLOAD_SIZE];
  gchar buf[1500];
  gint64 start;
  guint i, received = 0;
  gboolean would_block;

  link = connect_idle (port, 50, &tid);
  peer = srt_accept (listener, NULL, NULL);
  fail_unless (peer != SRT_INVALID_SOCK, "%s", srt_getlasterror_str ());

  for (i = 0; i < 100; i++) {
    memset (payload, i, sizeof (payload));
    fail_unless (dashcam_srt_link_send (link, payload, sizeof (payload),
            &reason, &would_block));
    /* live pace: ~10 Mbit/s */
    g_usleep (1000);
  }
  for (i = 0; i < 100; i++) {
    gint n = srt_recvmsg (peer, buf, sizeof (buf));

    fail_unless (n == DASHCAM_SRT_PAYLOAD_SIZE, "payload %u: %d (%s)", i, n,
        srt_getlasterror_str ());
    fail_unless ((guint8) buf[0] == i && (guint8) buf[n - 1] == i,
        "payload %u holds %u", i, (guint8) buf[0]);
    received++;
  }
  fail_unless_equals_int (received, 100);

  start = g_get_monotonic_time ();
  dashcam_srt_link_close (link);
  fail_unless (g_get_monotonic_time () - start < G_USEC_PER_SEC);
  srt_close (peer);
  srt_close (listener);
  wait_srt_threads_gone ();
  g_free (tid);
}

GST_END_TEST;

static Suite *
srt_suite (void)
{
  Suite *s = suite_create ("srt");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_receive_poll);
  tcase_add_test (tc, test_paced_link_sends);
  return s;
}

/* Not GST_CHECK_MAIN: with libsrt 1.5.1, check's forked test processes
 * hung at their exit with libsrt started (the main thread and SRT:GC
 * both waiting on futexes), so the tests run in this process, between one
 * srt_startup() and its srt_cleanup(). */
int
main (int argc, char **argv)
{
  SRunner *sr;
  gint n_failed;

  gst_check_init (&argc, &argv);
  srt_startup ();
  sr = srunner_create (srt_suite ());
  srunner_set_fork_status (sr, CK_NOFORK);
  srunner_run_all (sr, CK_NORMAL);
  n_failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  srt_cleanup ();
  return n_failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
