/* srt-floor-sender: the least a live libsrt sender can do, to measure what
 * libsrt itself costs on a machine.
 *
 * Reads an MPEG-TS file into memory, connects to srt://HOST:PORT the way
 * srtuploadsink's live link does (same library code and settings: live
 * mode, latency, peer idle timeout, receive poll), and hands the file to
 * libsrt in payloads of 1316 bytes, paced in real time at the file's
 * average bitrate over --seconds, in --hz bursts a second. One thread, no
 * queue, no GStreamer: the process's CPU time is libsrt's and the
 * kernel's, plus reading the file once.
 *
 *   srt-floor-sender --port P --seconds S [--host H] [--hz N]
 *                    [--streamid ID] [--receive-poll-ms MS] [--max-bw B]
 *                    FILE
 *
 * Used by bench/srtupload-bench.sh. Exits 0 when every byte was handed to
 * libsrt and acknowledged (or libsrt gave up on it: live mode), 1 on error.
 * Prints the process's CPU time from after reading the file (getrusage),
 * which is what the benchmark counts.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include <glib.h>
#include <srt/srt.h>

#include "dashcamsrt.h"

static void
add_ns (struct timespec *t, gint64 ns)
{
  t->tv_nsec += ns % G_GINT64_CONSTANT (1000000000);
  t->tv_sec += ns / G_GINT64_CONSTANT (1000000000);
  if (t->tv_nsec >= 1000000000) {
    t->tv_nsec -= 1000000000;
    t->tv_sec++;
  }
}

int
main (int argc, char **argv)
{
  gchar *host = NULL, *streamid = NULL, *contents = NULL;
  gint port = 0, seconds = 0, hz = 30, receive_poll_ms = 50;
  gint64 max_bw = 0;
  GOptionEntry entries[] = {
    {"host", 0, 0, G_OPTION_ARG_STRING, &host, "receiver (127.0.0.1)", "H"},
    {"port", 0, 0, G_OPTION_ARG_INT, &port, "receiver's port", "P"},
    {"seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "play the file over S s",
        "S"},
    {"hz", 0, 0, G_OPTION_ARG_INT, &hz, "bursts a second (30)", "N"},
    {"streamid", 0, 0, G_OPTION_ARG_STRING, &streamid, "SRTO_STREAMID",
        "ID"},
    {"receive-poll-ms", 0, 0, G_OPTION_ARG_INT, &receive_poll_ms,
        "libsrt receive timeout once connected, 0 = libsrt's (50)", "MS"},
    {"max-bw", 0, 0, G_OPTION_ARG_INT64, &max_bw,
        "SRTO_MAXBW in bytes/s, 0 = libsrt's (1 Gbit/s in live mode)", "B"},
    {NULL}
  };
  GOptionContext *ctx = g_option_context_new ("FILE");
  GError *err = NULL;
  DashcamSrtConfig config = { 0, };
  DashcamSrtReason reason;
  DashcamSrtLink *link;
  DashcamSrtStats st;
  struct timespec next;
  struct rusage ru0, ru1;
  gchar *detail = NULL;
  gsize size, off = 0;
  gint64 burst_ns;
  guint64 per_burst;
  gint i;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &err) || argc != 2
      || port <= 0 || port > 65535 || seconds <= 0 || hz <= 0) {
    fprintf (stderr, "%s\n", err ? err->message :
        "usage: srt-floor-sender --port P --seconds S [options] FILE");
    return 1;
  }
  g_option_context_free (ctx);
  if (!g_file_get_contents (argv[1], &contents, &size, &err)) {
    fprintf (stderr, "%s\n", err->message);
    return 1;
  }
  /* what reading the file cost (a copy and a page fault per page) is not
   * libsrt's: the CPU reported at the end is counted from here */
  getrusage (RUSAGE_SELF, &ru0);

  config.host = host ? host : "127.0.0.1";
  config.port = port;
  config.streamid = streamid;
  /* srtuploadsink's live link with its defaults */
  config.latency_ms = 125;
  config.idle_timeout_ms = 2000;
  config.connect_timeout_ms = 3000;
  config.receive_poll_ms = receive_poll_ms;
  config.max_bw = max_bw;
  link = dashcam_srt_link_connect (&config, &reason, &detail);
  if (link == NULL) {
    fprintf (stderr, "cannot connect to %s:%d: %s\n", config.host, port,
        detail ? detail : "?");
    return 1;
  }

  /* whole payloads per burst, the file's bitrate over the --seconds */
  per_burst = (guint64) size / ((guint64) seconds * hz) + 1;
  burst_ns = G_GINT64_CONSTANT (1000000000) / hz;
  clock_gettime (CLOCK_MONOTONIC, &next);
  while (off < size) {
    guint64 end = MIN (size, off + per_burst);

    while (off < end) {
      gsize n = MIN (end - off, DASHCAM_SRT_PAYLOAD_SIZE);
      gboolean would_block;

      if (!dashcam_srt_link_send (link, (const guint8 *) contents + off, n,
              &reason, &would_block)) {
        fprintf (stderr, "send failed at byte %" G_GSIZE_FORMAT "\n", off);
        return 1;
      }
      off += n;
    }
    add_ns (&next, burst_ns);
    while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL)
        == EINTR);
  }

  /* wait (up to 5 s) until libsrt has nothing left in flight */
  for (i = 0; i < 100; i++) {
    dashcam_srt_link_get_stats (link, &st);
    if (st.packets_in_flight == 0)
      break;
    g_usleep (50 * 1000);
  }
  printf ("sent %" G_GSIZE_FORMAT " bytes, in flight at the end %"
      G_GUINT64_FORMAT ", dropped %" G_GUINT64_FORMAT "\n", size,
      st.packets_in_flight, st.packets_dropped);
  dashcam_srt_link_close (link);
  srt_cleanup ();
  getrusage (RUSAGE_SELF, &ru1);
  printf ("cpu after loading the file: user %.3f sys %.3f s\n",
      (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec)
      + (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6,
      (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec)
      + (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6);
  g_free (contents);
  g_free (host);
  g_free (streamid);
  return st.packets_in_flight == 0 ? 0 : 1;
}
