/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* An SRT caller connection in live mode, with the failure reasons a
 * dashcam needs to tell apart: nobody answers, the server refuses the
 * streamid, the passphrase does not match, the peer went silent, the
 * connection broke. Never logs the passphrase.
 */

#include "dashcamsrt.h"

#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <srt/srt.h>

struct _DashcamSrtLink
{
  SRTSOCKET sock;
  gint idle_timeout_ms;
  /* the UDP socket we gave libsrt (it owns it), or -1 */
  gint udp;
  /* its receive timeout as libsrt set it, restored before closing */
  struct timeval udp_timeout;
};

/* libsrt allocates about 1 MB per connection (loss lists sized by the flow
 * window, a unit queue per UDP socket), from threads it starts per
 * connection, and its garbage collector thread frees them 1-2 s after
 * srt_close(). glibc keeps freed memory in the arenas (up to 8 per core):
 * malloc_trim() returns the free pages inside them to the system. Measured
 * with bench/soak-rss.sh (1 s segments, a link flap every 20 s): without
 * it RSS went from 10.7 MB to 28 MB within three flaps, with it to 19 MB.
 * It does not shrink the free top of a thread arena, which glibc keeps up
 * to its trim threshold (by default twice the largest block freed so far):
 * that part only a fixed threshold in GLIBC_TUNABLES bounds (README,
 * Reliability). A trim costs 0.4 ms (median; up to 30 ms on a loaded
 * machine), so it runs on the live sender thread, every 2 s for 20 s
 * after connections were closed, never on a streaming thread. */
#define RELEASE_DELAY_S 2
#define RELEASE_WINDOW_S 20
static gint closed_at_s = G_MININT / 2;
static gint released_at_s = G_MININT / 2;

static void
note_closed (void)
{
  g_atomic_int_set (&closed_at_s,
      (gint) (g_get_monotonic_time () / G_USEC_PER_SEC));
}

gboolean
dashcam_srt_release_memory (void)
{
  gint now_s = (gint) (g_get_monotonic_time () / G_USEC_PER_SEC);
  gint released = g_atomic_int_get (&released_at_s);

  /* every RELEASE_DELAY_S while connections closed in the last
   * RELEASE_WINDOW_S: libsrt frees them late, and its threads end later */
  if (now_s - g_atomic_int_get (&closed_at_s) > RELEASE_WINDOW_S
      || now_s - released < RELEASE_DELAY_S
      || !g_atomic_int_compare_and_exchange (&released_at_s, released,
          now_s))
    return FALSE;
#ifdef __GLIBC__
  malloc_trim (0);
#endif
  return TRUE;
}

static gpointer
srt_init_once (gpointer data)
{
  srt_startup ();
  /* libsrt logs to stderr by default; we report through GStreamer */
  srt_setloglevel (2 /* LOG_CRIT */ );
  return NULL;
}

const gchar *
dashcam_srt_reason_to_string (DashcamSrtReason reason)
{
  switch (reason) {
    case DASHCAM_SRT_OK:
      return "ok";
    case DASHCAM_SRT_UNREACHABLE:
      return "unreachable";
    case DASHCAM_SRT_REJECTED:
      return "rejected";
    case DASHCAM_SRT_BAD_PASSPHRASE:
      return "bad-passphrase";
    case DASHCAM_SRT_TIMEOUT:
      return "timeout";
    case DASHCAM_SRT_LOST:
      return "lost";
  }
  return "unknown";
}

static gboolean
set_int (SRTSOCKET s, SRT_SOCKOPT opt, gint value)
{
  return srt_setsockflag (s, opt, &value, sizeof (value)) != SRT_ERROR;
}

static gboolean
configure (SRTSOCKET s, const DashcamSrtConfig * c)
{
  SRT_TRANSTYPE live = SRTT_LIVE;
  gboolean ok = TRUE;

  ok &= srt_setsockflag (s, SRTO_TRANSTYPE, &live, sizeof (live)) != SRT_ERROR;
  ok &= set_int (s, SRTO_SENDER, 1);
  ok &= set_int (s, SRTO_RCVSYN, 1);
  ok &= set_int (s, SRTO_SNDSYN, 1);
  if (c->latency_ms >= 0)
    ok &= set_int (s, SRTO_LATENCY, c->latency_ms);
  if (c->idle_timeout_ms > 0)
    ok &= set_int (s, SRTO_PEERIDLETIMEO, c->idle_timeout_ms);
  if (c->connect_timeout_ms > 0)
    ok &= set_int (s, SRTO_CONNTIMEO, c->connect_timeout_ms);
  if (c->send_timeout_ms > 0)
    ok &= set_int (s, SRTO_SNDTIMEO, c->send_timeout_ms);
  if (c->send_buffer_bytes > 0)
    ok &= set_int (s, SRTO_SNDBUF, c->send_buffer_bytes);
  if (c->max_bw > 0)
    ok &= srt_setsockflag (s, SRTO_MAXBW, &c->max_bw,
        sizeof (c->max_bw)) != SRT_ERROR;
  if (c->reliable)
    ok &= set_int (s, SRTO_TLPKTDROP, 0);
  if (c->streamid && *c->streamid)
    ok &= srt_setsockflag (s, SRTO_STREAMID, c->streamid,
        strlen (c->streamid)) != SRT_ERROR;
  if (c->passphrase && *c->passphrase) {
    ok &= srt_setsockflag (s, SRTO_PASSPHRASE, c->passphrase,
        strlen (c->passphrase)) != SRT_ERROR;
    if (c->pbkeylen > 0)
      ok &= set_int (s, SRTO_PBKEYLEN, c->pbkeylen);
  }
  return ok;
}

/* A UDP socket for libsrt to use instead of one of its own, bound like
 * its own (any address, any port), so that the receive timeout can be
 * changed once connected. -1 if that fails: libsrt then makes its own. */
static gint
acquire_udp (SRTSOCKET s, gint family)
{
  struct sockaddr_storage any = { 0, };
  socklen_t len;
  gint fd;

  if (family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *) &any;

    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_any;
    len = sizeof (*a);
  } else if (family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *) &any;

    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl (INADDR_ANY);
    len = sizeof (*a);
  } else {
    return -1;
  }
  fd = socket (family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0)
    return -1;
  if (bind (fd, (struct sockaddr *) &any, len) != 0
      || srt_bind_acquire (s, fd) == SRT_ERROR) {
    close (fd);
    return -1;
  }
  return fd;
}

static DashcamSrtReason
classify_connect_error (SRTSOCKET s, gint err, gchar ** detail)
{
  gint rej = srt_getrejectreason (s);

  if (detail)
    *detail = g_strdup_printf ("%s (reject reason %d: %s)",
        srt_strerror (err, 0), rej, srt_rejectreason_str (rej));
  if (rej == SRT_REJ_BADSECRET || rej == SRT_REJ_UNSECURE)
    return DASHCAM_SRT_BAD_PASSPHRASE;
  if (err == SRT_ENOSERVER || rej == SRT_REJ_TIMEOUT
      || rej == SRT_REJ_UNKNOWN)
    return DASHCAM_SRT_UNREACHABLE;
  return DASHCAM_SRT_REJECTED;
}

/* Resolves @host with GLib's resolver, which looks names up in a thread
 * of its own: a cancelled lookup returns at once, even while the system
 * resolver waits for a DNS server that never answers (a car's modem
 * without service). */
static gboolean
resolve (const DashcamSrtConfig * config, struct sockaddr_storage *addr,
    socklen_t * len, gchar ** detail)
{
  GResolver *resolver = g_resolver_get_default ();
  GError *err = NULL;
  GList *addrs = g_resolver_lookup_by_name (resolver, config->host,
      config->cancellable, &err);
  GSocketAddress *sa;
  gboolean ok;

  g_object_unref (resolver);
  if (addrs == NULL) {
    if (detail)
      *detail = g_strdup_printf ("cannot resolve \"%s\": %s", config->host,
          err ? err->message : "no address");
    g_clear_error (&err);
    return FALSE;
  }
  sa = g_inet_socket_address_new (addrs->data, config->port);
  *len = g_socket_address_get_native_size (sa);
  ok = g_socket_address_to_native (sa, addr, sizeof (*addr), NULL);
  g_object_unref (sa);
  g_resolver_free_addresses (addrs);
  if (!ok && detail)
    *detail = g_strdup_printf ("cannot use the address of \"%s\"",
        config->host);
  return ok;
}

/* Waits for a non-blocking connection attempt to end, looking at the
 * cancellable every 20 ms; libsrt gives it up after SRTO_CONNTIMEO. */
static gboolean
wait_connected (SRTSOCKET s, GCancellable * cancellable)
{
  gint eid = srt_epoll_create ();
  gint events = SRT_EPOLL_OUT | SRT_EPOLL_ERR;
  SRT_SOCKSTATUS state;

  if (eid >= 0)
    srt_epoll_add_usock (eid, s, &events);
  for (;;) {
    SRTSOCKET ready[1];
    gint n = 1, m = 1;
    SRTSOCKET err[1];

    state = srt_getsockstate (s);
    if (state != SRTS_CONNECTING && state != SRTS_OPENED)
      break;
    if (g_cancellable_is_cancelled (cancellable))
      break;
    if (eid < 0 || srt_epoll_wait (eid, err, &m, ready, &n, 20, NULL, NULL,
            NULL, NULL) < 0)
      g_usleep (20 * 1000);
  }
  if (eid >= 0)
    srt_epoll_release (eid);
  return state == SRTS_CONNECTED;
}

/**
 * dashcam_srt_link_connect:
 * @config: where and how
 * @reason: (out): why it failed
 * @detail: (out) (optional) (transfer full): human-readable detail
 *
 * Resolves and connects, blocking up to the connect timeout (plus the
 * name lookup), or until @config's cancellable is cancelled.
 *
 * Returns: (transfer full) (nullable): the link, or %NULL
 */
DashcamSrtLink *
dashcam_srt_link_connect (const DashcamSrtConfig * config,
    DashcamSrtReason * reason, gchar ** detail)
{
  static GOnce once = G_ONCE_INIT;
  struct sockaddr_storage addr;
  socklen_t addr_len = 0;
  SRTSOCKET s;
  DashcamSrtLink *link;
  gint udp = -1;

  g_once (&once, srt_init_once, NULL);
  if (detail)
    *detail = NULL;

  if (!resolve (config, &addr, &addr_len, detail)) {
    *reason = DASHCAM_SRT_UNREACHABLE;
    return NULL;
  }

  s = srt_create_socket ();
  if (s == SRT_INVALID_SOCK || !configure (s, config)
      || !set_int (s, SRTO_RCVSYN, 0)) {
    *reason = DASHCAM_SRT_REJECTED;
    if (detail)
      *detail = g_strdup_printf ("cannot configure an SRT socket: %s",
          srt_getlasterror_str ());
    if (s != SRT_INVALID_SOCK) {
      srt_close (s);
      note_closed ();
    }
    return NULL;
  }
  if (config->receive_poll_ms > 0)
    udp = acquire_udp (s, addr.ss_family);
  /* non-blocking, so that a cancellation ends the attempt at once */
  if (srt_connect (s, (struct sockaddr *) &addr, addr_len) == SRT_ERROR
      || !wait_connected (s, config->cancellable)) {
    gint rej = srt_getrejectreason (s);

    if (g_cancellable_is_cancelled (config->cancellable)) {
      *reason = DASHCAM_SRT_UNREACHABLE;
      if (detail)
        *detail = g_strdup ("cancelled");
    } else {
      *reason = classify_connect_error (s, rej == SRT_REJ_TIMEOUT ?
          SRT_ENOSERVER : SRT_ECONNREJ, detail);
    }
    /* also releases the UDP socket */
    srt_close (s);
    note_closed ();
    return NULL;
  }
  set_int (s, SRTO_RCVSYN, 1);

  link = g_new0 (DashcamSrtLink, 1);
  link->sock = s;
  link->idle_timeout_ms = config->idle_timeout_ms;
  link->udp = -1;
  if (udp >= 0) {
    /* libsrt's receiving thread reads this socket with a timeout of a
     * scheduler tick, ~100 idle wake-ups a second per connection, which
     * cost as much CPU here as the data. A sender only gets control
     * packets, and each one wakes the thread anyway: its timers (keepalive
     * 1 s, peer idle timeout) only need a coarser pace. */
    struct timeval tv = { config->receive_poll_ms / 1000,
      (config->receive_poll_ms % 1000) * 1000
    };
    socklen_t len = sizeof (link->udp_timeout);

    if (getsockopt (udp, SOL_SOCKET, SO_RCVTIMEO, &link->udp_timeout,
            &len) == 0
        && setsockopt (udp, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof (tv)) == 0)
      link->udp = udp;
  }
  *reason = DASHCAM_SRT_OK;
  return link;
}

/**
 * dashcam_srt_link_send:
 * @link: a link
 * @data: at most %DASHCAM_SRT_PAYLOAD_SIZE bytes
 * @len: length of @data
 * @reason: (out): why it failed
 * @would_block: (out): the send buffer stayed full for the send timeout
 *
 * Returns: %TRUE if @data was handed to libsrt
 */
gboolean
dashcam_srt_link_send (DashcamSrtLink * link, const guint8 * data, gsize len,
    DashcamSrtReason * reason, gboolean * would_block)
{
  gint err;

  *would_block = FALSE;
  if (srt_sendmsg2 (link->sock, (const gchar *) data, len, NULL) != SRT_ERROR)
    return TRUE;
  err = srt_getlasterror (NULL);
  /* a blocking send gives up after SRTO_SNDTIMEO with SRT_ETIMEOUT: the
   * send buffer stayed full, the link is alive but too slow */
  if (err == SRT_EASYNCSND || (err == SRT_ETIMEOUT
          && srt_getsockstate (link->sock) == SRTS_CONNECTED)) {
    *would_block = TRUE;
    *reason = DASHCAM_SRT_OK;
    return FALSE;
  }
  *reason = srt_getsockstate (link->sock) == SRTS_BROKEN
      && err != SRT_ECONNLOST ? DASHCAM_SRT_TIMEOUT : DASHCAM_SRT_LOST;
  return FALSE;
}

/**
 * dashcam_srt_link_get_stats:
 * @link: a link
 * @stats: (out): counters since the connection started
 */
void
dashcam_srt_link_get_stats (DashcamSrtLink * link, DashcamSrtStats * stats)
{
  SRT_TRACEBSTATS perf;
  SRT_SOCKSTATUS state = srt_getsockstate (link->sock);

  memset (stats, 0, sizeof (*stats));
  stats->broken = state == SRTS_BROKEN || state == SRTS_CLOSED
      || state == SRTS_NONEXIST;
  if (srt_bstats (link->sock, &perf, 0) == SRT_ERROR)
    return;
  stats->rtt_ms = perf.msRTT;
  stats->bandwidth_mbps = perf.mbpsBandwidth;
  stats->send_rate_mbps = perf.mbpsSendRate;
  stats->packets_sent = perf.pktSentTotal;
  stats->packets_retransmitted = perf.pktRetransTotal;
  stats->packets_dropped = perf.pktSndDropTotal;
  stats->bytes_sent = perf.byteSentTotal;
  stats->packets_in_flight = perf.pktSndBuf;
  stats->acks_received = perf.pktRecvACKTotal;
  stats->packets_lost = perf.pktSndLossTotal;
  stats->ms_in_flight = perf.msSndBuf;
}

/**
 * dashcam_srt_link_get_peer_latency:
 * @link: a connected link
 *
 * The receiver's TSBPD delay as negotiated in the handshake (the larger of
 * what each side asked for): the receiver hands a packet to its
 * application this long after the packet's send time (plus the one-way
 * delay), not when it arrives.
 *
 * Returns: the latency in milliseconds, or -1 if libsrt does not say
 */
gint
dashcam_srt_link_get_peer_latency (DashcamSrtLink * link)
{
  gint latency = -1;
  gint len = sizeof (latency);

  if (srt_getsockflag (link->sock, SRTO_PEERLATENCY, &latency, &len) ==
      SRT_ERROR)
    return -1;
  return latency;
}

/**
 * dashcam_srt_link_get_unacked:
 * @link: a link
 *
 * A cheap look at the send buffer (no statistics).
 *
 * Returns: packets handed to libsrt and neither acknowledged nor dropped,
 * or -1 on error
 */
gint64
dashcam_srt_link_get_unacked (DashcamSrtLink * link)
{
  size_t blocks = 0, bytes = 0;

  if (srt_getsndbuffer (link->sock, &blocks, &bytes) == SRT_ERROR)
    return -1;
  return blocks;
}

/* Beyond the TSBPD delay and the round trip: the receiver's clock drift
 * correction, its reading loop and our own timer slack. */
#define PLAYOUT_MARGIN_MS 150

/**
 * dashcam_srt_playout_wait_us:
 * @peer_latency_ms: the receiver's TSBPD delay
 * @rtt_ms: the round-trip time
 *
 * How long after sending a packet the receiver has surely handed it to
 * its application, if it got it: the TSBPD delay counts from the send
 * time plus the one-way delay measured at the handshake (the round trip
 * bounds that), plus a margin.
 *
 * Returns: microseconds
 */
gint64
dashcam_srt_playout_wait_us (gint peer_latency_ms, gdouble rtt_ms)
{
  return ((gint64) MAX (peer_latency_ms, 0) + (gint64) MAX (rtt_ms, 0.0)
      + PLAYOUT_MARGIN_MS) * 1000;
}

/* libsrt declares a silent peer broken only after its expiry timer fired
 * more than 16 times (and the peer idle timeout passed), at least 300 ms
 * apart and more on a longer round trip: ~5.1 s after the last packet
 * from a SIGKILLed receiver on 127.0.0.1, whatever SRTO_PEERIDLETIMEO. A
 * live peer sends a keepalive every second. */
#define SILENCE_EXPIRIES 17
#define SILENCE_EXPIRY_MIN_MS 300
#define SILENCE_MARGIN_MS 500

/**
 * dashcam_srt_silence_detect_us:
 * @rtt_ms: the round-trip time
 *
 * How long libsrt takes, at most, to report a connection broken once the
 * peer went silent (killed, unplugged): a link that is not broken this
 * long after a moment had a live peer at that moment. libsrt counts no
 * keepalive in its statistics; this is what a sender can tell of an idle
 * peer.
 *
 * Returns: microseconds
 */
gint64
dashcam_srt_silence_detect_us (gdouble rtt_ms)
{
  return ((gint64) SILENCE_EXPIRIES * MAX (SILENCE_EXPIRY_MIN_MS,
          (gint64) (4 * MAX (rtt_ms, 0.0))) + SILENCE_MARGIN_MS) * 1000;
}

void
dashcam_srt_link_close (DashcamSrtLink * link)
{
  if (link == NULL)
    return;
  /* libsrt's thread notices the closing at its next wake-up: give it
   * back its own pace first */
  if (link->udp >= 0)
    setsockopt (link->udp, SOL_SOCKET, SO_RCVTIMEO, &link->udp_timeout,
        sizeof (link->udp_timeout));
  srt_close (link->sock);
  note_closed ();
  g_free (link);
}
