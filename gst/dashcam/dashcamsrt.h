/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef __DASHCAM_SRT_H__
#define __DASHCAM_SRT_H__

#include <gio/gio.h>

G_BEGIN_DECLS

#define DASHCAM_SRT_PAYLOAD_SIZE 1316   /* 7 TS packets */

/**
 * DashcamSrtReason:
 *
 * Why a connection attempt failed or a link went down.
 */
typedef enum
{
  DASHCAM_SRT_OK,
  DASHCAM_SRT_UNREACHABLE,      /* no answer from host:port */
  DASHCAM_SRT_REJECTED,         /* the server refused the streamid */
  DASHCAM_SRT_BAD_PASSPHRASE,   /* encryption mismatch */
  DASHCAM_SRT_TIMEOUT,          /* the peer went silent */
  DASHCAM_SRT_LOST,             /* the connection broke */
} DashcamSrtReason;

const gchar *dashcam_srt_reason_to_string (DashcamSrtReason reason);

/**
 * DashcamSrtConfig:
 * @host: server name or address
 * @port: server port
 * @streamid: (nullable): SRTO_STREAMID
 * @passphrase: (nullable): AES passphrase (10-79 characters)
 * @pbkeylen: key length in bytes (0 = default, 16, 24, 32)
 * @latency_ms: SRTO_LATENCY
 * @idle_timeout_ms: SRTO_PEERIDLETIMEO: a silent peer is gone after this
 * @connect_timeout_ms: SRTO_CONNTIMEO
 * @send_timeout_ms: SRTO_SNDTIMEO: the longest a send may block
 * @send_buffer_bytes: SRTO_SNDBUF (0 = libsrt default, 8192 packets)
 * @max_bw: SRTO_MAXBW in bytes per second (0 = libsrt default)
 * @reliable: turn too-late packet drop off (SRTO_TLPKTDROP), for data that
 *   must arrive whole rather than in time
 * @receive_poll_ms: once connected, how long libsrt's receiving thread may
 *   wait on the UDP socket when nothing arrives (0 = libsrt's own, about a
 *   scheduler tick). A sender only receives control packets, each of which
 *   wakes that thread anyway; the timeout only paces its idle wake-ups.
 * @cancellable: (nullable): cancels the name lookup and the connection
 *   attempt (dashcam_srt_link_connect() then returns at once)
 */
typedef struct
{
  const gchar *host;
  guint16 port;
  const gchar *streamid;
  const gchar *passphrase;
  gint pbkeylen;
  gint latency_ms;
  gint idle_timeout_ms;
  gint connect_timeout_ms;
  gint send_timeout_ms;
  gint send_buffer_bytes;
  gint64 max_bw;
  gboolean reliable;
  gint receive_poll_ms;
  GCancellable *cancellable;
} DashcamSrtConfig;

/**
 * DashcamSrtStats:
 *
 * A snapshot of libsrt's counters for one connection.
 */
typedef struct
{
  gdouble rtt_ms;
  gdouble bandwidth_mbps;
  gdouble send_rate_mbps;
  guint64 packets_sent;
  guint64 packets_retransmitted;
  guint64 packets_dropped;
  guint64 bytes_sent;
  guint64 packets_in_flight;    /* sent or queued, not acknowledged */
  guint64 acks_received;        /* ACK control packets from the peer */
  guint64 packets_lost;         /* reported missing by the peer (NAK) */
  gint64 ms_in_flight;
  gboolean broken;
} DashcamSrtStats;

typedef struct _DashcamSrtLink DashcamSrtLink;

DashcamSrtLink *dashcam_srt_link_connect (const DashcamSrtConfig * config,
    DashcamSrtReason * reason, gchar ** detail);
gboolean dashcam_srt_link_send (DashcamSrtLink * link, const guint8 * data,
    gsize len, DashcamSrtReason * reason, gboolean * would_block);
void dashcam_srt_link_get_stats (DashcamSrtLink * link,
    DashcamSrtStats * stats);
gint dashcam_srt_link_get_peer_latency (DashcamSrtLink * link);
gint64 dashcam_srt_link_get_unacked (DashcamSrtLink * link);
gint64 dashcam_srt_playout_wait_us (gint peer_latency_ms, gdouble rtt_ms);
gint64 dashcam_srt_silence_detect_us (gdouble rtt_ms);
void dashcam_srt_link_close (DashcamSrtLink * link);
/* Returns the memory of closed connections to the system (malloc_trim)
 * (every 2 s for 20 s after one was closed); cheap when there is nothing
 * to do.
 * Call it from a thread that may take a few ms, never a streaming thread. */
gboolean dashcam_srt_release_memory (void);

G_END_DECLS

#endif /* __DASHCAM_SRT_H__ */
