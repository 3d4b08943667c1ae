/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef __DASHCAM_TS_H__
#define __DASHCAM_TS_H__

#include <glib.h>

G_BEGIN_DECLS

#define DASHCAM_TS_PACKET_SIZE 188
#define DASHCAM_TS_SYNC_BYTE 0x47
#define DASHCAM_TS_PID_PAT 0x0000
#define DASHCAM_TS_PID_NULL 0x1fff

/* 90 kHz MPEG clock ticks <-> nanoseconds */
#define DASHCAM_MPEGTIME_TO_NS(t) (((guint64) (t)) * 100000 / 9)
#define DASHCAM_NS_TO_MPEGTIME(t) (((guint64) (t)) * 9 / 100000)

/**
 * DashcamTsPacketInfo:
 * @pid: packet identifier
 * @pusi: payload_unit_start_indicator is set
 * @is_pat: packet carries the Program Association Table
 * @is_pmt: packet carries the Program Map Table of the first program
 * @is_primary: packet belongs to the primary stream (first video stream of
 *   the program, or its first stream when there is no video)
 * @random_access: first packet of a random-access point of the primary
 *   stream (random_access_indicator, or a PES that starts with an
 *   IDR / IRAP / SPS / sequence header)
 * @has_pts: @pts is valid
 * @pts: PES presentation timestamp, unwrapped, in nanoseconds on the stream
 *   clock (only meaningful relative to other timestamps of this parser)
 * @has_dts: @dts is valid (equals @pts when the PES has no DTS)
 * @dts: PES decoding timestamp, unwrapped, nanoseconds
 *
 * What #dashcam_ts_parser_parse() learned from one 188-byte packet.
 */
typedef struct
{
  guint16 pid;
  gboolean pusi;
  gboolean is_pat;
  gboolean is_pmt;
  gboolean is_primary;
  gboolean random_access;
  gboolean has_pts;
  guint64 pts;
  gboolean has_dts;
  guint64 dts;
} DashcamTsPacketInfo;

/**
 * DashcamTsParser:
 *
 * Stateful inspector of a TS packet sequence: learns the PMT PID from the
 * PAT and the primary stream from the PMT, keeps copies of the latest
 * single-packet PAT and PMT, finds random-access points and unwraps 33-bit
 * timestamps. Plain data, no allocation: embed it and call
 * dashcam_ts_parser_init().
 */
typedef struct
{
  guint16 pmt_pid;              /* 0 while unknown */
  guint16 primary_pid;          /* DASHCAM_TS_PID_NULL while unknown */
  guint8 primary_stream_type;
  gboolean primary_is_video;

  gboolean have_pat;
  guint8 pat[DASHCAM_TS_PACKET_SIZE];
  gboolean have_pmt;
  guint8 pmt[DASHCAM_TS_PACKET_SIZE];

  gboolean have_time_ref;
  guint64 time_ref;             /* last unwrapped timestamp, 90 kHz */
} DashcamTsParser;

void dashcam_ts_parser_init (DashcamTsParser * parser);

void dashcam_ts_parser_parse (DashcamTsParser * parser,
    const guint8 * packet, DashcamTsPacketInfo * info);

gssize dashcam_ts_find_sync (const guint8 * data, gsize len);

guint64 dashcam_ts_unwrap (gboolean * have_ref, guint64 * ref, guint64 ts33);

gboolean dashcam_ts_payload_starts_access_point (guint8 stream_type,
    const guint8 * payload, gsize len);

/**
 * DashcamTsScan:
 * @n_packets: whole packets with a sync byte, from the start
 * @clean_length: bytes up to the last point where every PES stream is
 *   complete (a prefix that any player decodes without a torn frame)
 * @has_time: @first_pts / @last_pts are valid
 * @first_pts: PTS of the first random-access point of the primary stream
 *   (nanoseconds, stream clock)
 * @end_pts: PTS of the last primary frame kept plus one frame duration
 * @random_access_points: number of random-access points kept
 *
 * Summary of a TS file, for recovering what a power cut left behind.
 */
typedef struct
{
  guint64 n_packets;
  guint64 clean_length;
  gboolean has_time;
  guint64 first_pts;
  guint64 end_pts;
  guint random_access_points;
} DashcamTsScan;

void dashcam_ts_scan (const guint8 * data, gsize len, DashcamTsScan * scan);

G_END_DECLS

#endif /* __DASHCAM_TS_H__ */
