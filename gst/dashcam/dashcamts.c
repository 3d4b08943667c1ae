/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* MPEG-TS packet helpers.
 *
 * Only what a segmenter needs: the PAT/PMT to find the primary stream and to
 * re-insert at segment starts, the random-access points of that stream, and
 * PES timestamps. Everything works on single 188-byte packets so a caller
 * can inspect data in place, at memory speed, without copying it.
 */

#include "dashcamts.h"

#include <string.h>

#define MPEGTIME_MASK G_GUINT64_CONSTANT (0x1ffffffff)
#define MPEGTIME_HALF G_GUINT64_CONSTANT (0x100000000)

/* Returns the payload of @packet (NULL if none) and its length. */
static const guint8 *
packet_payload (const guint8 * packet, gsize * len, gboolean * rai)
{
  guint afc = (packet[3] >> 4) & 0x3;
  gsize offset = 4;

  *rai = FALSE;
  if (afc & 0x2) {
    guint af_len = packet[4];

    if (af_len > 0)
      *rai = (packet[5] & 0x40) != 0;
    offset += 1 + af_len;
  }
  if (!(afc & 0x1) || offset >= DASHCAM_TS_PACKET_SIZE) {
    *len = 0;
    return NULL;
  }
  *len = DASHCAM_TS_PACKET_SIZE - offset;
  return packet + offset;
}

/* Returns the PSI section starting in a PUSI payload, or NULL when it does
 * not fit entirely in this packet. */
static const guint8 *
psi_section (const guint8 * payload, gsize len, guint8 table_id,
    guint * section_len)
{
  guint pointer;
  const guint8 *s;
  gsize avail;

  if (len < 1)
    return NULL;
  pointer = payload[0];
  if (1 + pointer + 3 > len)
    return NULL;
  s = payload + 1 + pointer;
  avail = len - 1 - pointer;
  if (s[0] != table_id)
    return NULL;
  *section_len = ((s[1] & 0x0f) << 8) | s[2];
  if (*section_len < 9 || 3 + (gsize) * section_len > avail)
    return NULL;
  return s;
}

static void
parse_pat (DashcamTsParser * parser, const guint8 * packet,
    const guint8 * payload, gsize len)
{
  guint section_len, i;
  const guint8 *s = psi_section (payload, len, 0x00, &section_len);

  if (s == NULL)
    return;
  /* program loop: after the 8-byte header, before the 4-byte CRC */
  for (i = 8; i + 4 <= 3 + section_len - 4; i += 4) {
    guint program = (s[i] << 8) | s[i + 1];
    guint16 pid = ((s[i + 2] & 0x1f) << 8) | s[i + 3];

    if (program != 0) {
      parser->pmt_pid = pid;
      break;
    }
  }
  memcpy (parser->pat, packet, DASHCAM_TS_PACKET_SIZE);
  parser->have_pat = TRUE;
}

static gboolean
stream_type_is_video (guint8 stream_type)
{
  switch (stream_type) {
    case 0x01:                 /* MPEG-1 video */
    case 0x02:                 /* MPEG-2 video */
    case 0x10:                 /* MPEG-4 part 2 */
    case 0x1b:                 /* H.264 */
    case 0x20:                 /* H.264 MVC sub-bitstream */
    case 0x24:                 /* H.265 */
    case 0x33:                 /* H.266 */
    case 0x42:                 /* AVS */
    case 0xea:                 /* VC-1 */
      return TRUE;
    default:
      return FALSE;
  }
}

static void
parse_pmt (DashcamTsParser * parser, const guint8 * packet,
    const guint8 * payload, gsize len)
{
  guint section_len, program_info_len, i, end;
  guint16 first_pid = DASHCAM_TS_PID_NULL;
  guint8 first_type = 0;
  const guint8 *s = psi_section (payload, len, 0x02, &section_len);

  if (s == NULL || section_len < 13)
    return;
  program_info_len = ((s[10] & 0x0f) << 8) | s[11];
  end = 3 + section_len - 4;
  for (i = 12 + program_info_len; i + 5 <= end;) {
    guint8 type = s[i];
    guint16 pid = ((s[i + 1] & 0x1f) << 8) | s[i + 2];
    guint es_info_len = ((s[i + 3] & 0x0f) << 8) | s[i + 4];

    if (first_pid == DASHCAM_TS_PID_NULL) {
      first_pid = pid;
      first_type = type;
    }
    if (stream_type_is_video (type)) {
      parser->primary_pid = pid;
      parser->primary_stream_type = type;
      parser->primary_is_video = TRUE;
      goto done;
    }
    i += 5 + es_info_len;
  }
  parser->primary_pid = first_pid;
  parser->primary_stream_type = first_type;
  parser->primary_is_video = FALSE;

done:
  memcpy (parser->pmt, packet, DASHCAM_TS_PACKET_SIZE);
  parser->have_pmt = TRUE;
}

/**
 * dashcam_ts_unwrap:
 * @have_ref: (inout): whether @ref holds a previous value
 * @ref: (inout): the previous unwrapped value
 * @ts33: a 33-bit timestamp
 *
 * Extends a 33-bit MPEG timestamp to 64 bits, assuming it lies within
 * 2^32 ticks (13 hours) of the previous one. The first value is offset by
 * 2^33 so that timestamps slightly earlier than it stay positive; one that
 * would go below zero counts as later instead, so the result never wraps.
 *
 * Returns: the unwrapped timestamp, in 90 kHz ticks
 */
guint64
dashcam_ts_unwrap (gboolean * have_ref, guint64 * ref, guint64 ts33)
{
  guint64 delta;

  ts33 &= MPEGTIME_MASK;
  if (!*have_ref) {
    *have_ref = TRUE;
    *ref = ts33 + MPEGTIME_MASK + 1;
    return *ref;
  }
  delta = (ts33 - (*ref & MPEGTIME_MASK)) & MPEGTIME_MASK;
  if (delta < MPEGTIME_HALF)
    *ref += delta;
  else if (*ref >= (MPEGTIME_MASK + 1) - delta)
    *ref -= (MPEGTIME_MASK + 1) - delta;
  else
    /* Jumped back further than the first timestamp's margin (corrupt or
     * concatenated input): take it as a jump forward rather than wrap
     * around zero to a time 2^64 ticks away. */
    *ref += delta;
  return *ref;
}

static guint64
read_timestamp (const guint8 * p)
{
  return ((guint64) ((p[0] >> 1) & 0x07) << 30) | ((guint64) p[1] << 22) |
      ((guint64) (p[2] >> 1) << 15) | ((guint64) p[3] << 7) | (p[4] >> 1);
}

static gboolean
stream_id_has_header (guint8 stream_id)
{
  switch (stream_id) {
    case 0xbc:                 /* program_stream_map */
    case 0xbe:                 /* padding_stream */
    case 0xbf:                 /* private_stream_2 */
    case 0xf0:                 /* ECM */
    case 0xf1:                 /* EMM */
    case 0xf2:                 /* DSMCC */
    case 0xf8:                 /* H.222.1 type E */
    case 0xff:                 /* program_stream_directory */
      return FALSE;
    default:
      return TRUE;
  }
}

/* Parses the PES header at the start of @payload. Returns the offset of the
 * elementary stream data, or 0 if @payload does not start a PES. */
static gsize
parse_pes_header (DashcamTsParser * parser, const guint8 * payload, gsize len,
    DashcamTsPacketInfo * info)
{
  guint flags;
  gsize header_len;

  if (len < 9 || payload[0] != 0 || payload[1] != 0 || payload[2] != 1)
    return 0;
  if (!stream_id_has_header (payload[3]))
    return 6;
  flags = payload[7] >> 6;
  header_len = 9 + payload[8];
  if ((flags & 0x2) && len >= 14) {
    info->pts = DASHCAM_MPEGTIME_TO_NS (dashcam_ts_unwrap
        (&parser->have_time_ref, &parser->time_ref,
            read_timestamp (payload + 9)));
    info->has_pts = TRUE;
    info->dts = info->pts;
    info->has_dts = TRUE;
    if (flags == 0x3 && len >= 19) {
      info->dts = DASHCAM_MPEGTIME_TO_NS (dashcam_ts_unwrap
          (&parser->have_time_ref, &parser->time_ref,
              read_timestamp (payload + 14)));
    }
  }
  return MIN (header_len, len);
}

/**
 * dashcam_ts_payload_starts_access_point:
 * @stream_type: the PMT stream_type
 * @payload: elementary stream bytes at the start of a PES
 * @len: length of @payload
 *
 * Looks at the first NAL units / start codes of an access unit and says
 * whether a decoder can start there: H.264 IDR or SPS, H.265 IRAP, VPS or
 * SPS, MPEG-1/2 sequence header. Stream types it does not know are never
 * access points here (the random_access_indicator still is).
 *
 * Returns: %TRUE if the access unit is a random-access point
 */
gboolean
dashcam_ts_payload_starts_access_point (guint8 stream_type,
    const guint8 * payload, gsize len)
{
  gsize i;

  for (i = 0; i + 3 < len; i++) {
    guint8 b;

    if (payload[i] != 0 || payload[i + 1] != 0 || payload[i + 2] != 1)
      continue;
    b = payload[i + 3];
    i += 3;
    switch (stream_type) {
      case 0x1b:{              /* H.264 */
        guint nal_type = b & 0x1f;

        if (nal_type == 5 || nal_type == 7)
          return TRUE;
        if (nal_type >= 1 && nal_type <= 4)
          return FALSE;
        break;
      }
      case 0x24:{              /* H.265 */
        guint nal_type = (b >> 1) & 0x3f;

        if ((nal_type >= 16 && nal_type <= 21) || nal_type == 32
            || nal_type == 33)
          return TRUE;
        if (nal_type <= 9)
          return FALSE;
        break;
      }
      case 0x01:
      case 0x02:               /* MPEG-1/2 video */
        if (b == 0xb3)
          return TRUE;
        if (b == 0x00)
          return FALSE;
        break;
      default:
        return FALSE;
    }
  }
  return FALSE;
}

/**
 * dashcam_ts_parser_init:
 * @parser: parser to reset
 *
 * Resets @parser to know nothing about the stream.
 */
void
dashcam_ts_parser_init (DashcamTsParser * parser)
{
  memset (parser, 0, sizeof (*parser));
  parser->primary_pid = DASHCAM_TS_PID_NULL;
}

/**
 * dashcam_ts_parser_parse:
 * @parser: a #DashcamTsParser
 * @packet: 188 bytes starting with the sync byte
 * @info: (out): what the packet is
 *
 * Inspects one packet and updates what @parser knows of the stream.
 */
void
dashcam_ts_parser_parse (DashcamTsParser * parser, const guint8 * packet,
    DashcamTsPacketInfo * info)
{
  const guint8 *payload;
  gsize len, es_offset;
  gboolean rai;
  guint16 pid = ((packet[1] & 0x1f) << 8) | packet[2];

  info->pid = pid;
  info->pusi = (packet[1] & 0x40) != 0;
  info->is_pat = info->is_pmt = info->random_access = FALSE;
  info->has_pts = info->has_dts = FALSE;
  info->pts = info->dts = 0;
  info->is_primary = parser->primary_pid != DASHCAM_TS_PID_NULL
      && pid == parser->primary_pid;

  /* most packets continue a PES: nothing more to learn from them */
  if (!info->pusi && pid != DASHCAM_TS_PID_PAT
      && (parser->pmt_pid == 0 || pid != parser->pmt_pid))
    return;

  payload = packet_payload (packet, &len, &rai);

  if (pid == DASHCAM_TS_PID_PAT) {
    info->is_primary = FALSE;
    info->is_pat = TRUE;
    if (info->pusi && payload)
      parse_pat (parser, packet, payload, len);
    return;
  }
  if (parser->pmt_pid != 0 && pid == parser->pmt_pid) {
    info->is_primary = FALSE;
    info->is_pmt = TRUE;
    if (info->pusi && payload)
      parse_pmt (parser, packet, payload, len);
    return;
  }

  if (payload == NULL)
    return;

  es_offset = parse_pes_header (parser, payload, len, info);
  if (!info->is_primary)
    return;

  if (rai || !parser->primary_is_video)
    info->random_access = TRUE;
  else if (es_offset > 0)
    info->random_access =
        dashcam_ts_payload_starts_access_point (parser->primary_stream_type,
        payload + es_offset, len - es_offset);
}

/**
 * dashcam_ts_find_sync:
 * @data: bytes
 * @len: length of @data
 *
 * Finds where packets start: a sync byte followed by sync bytes 188 and
 * 376 bytes later (as far as @data reaches).
 *
 * Returns: the offset of the first packet, or -1
 */
gssize
dashcam_ts_find_sync (const guint8 * data, gsize len)
{
  gsize i;

  for (i = 0; i < len; i++) {
    if (data[i] != DASHCAM_TS_SYNC_BYTE)
      continue;
    if (i + DASHCAM_TS_PACKET_SIZE < len
        && data[i + DASHCAM_TS_PACKET_SIZE] != DASHCAM_TS_SYNC_BYTE)
      continue;
    if (i + 2 * DASHCAM_TS_PACKET_SIZE < len
        && data[i + 2 * DASHCAM_TS_PACKET_SIZE] != DASHCAM_TS_SYNC_BYTE)
      continue;
    return i;
  }
  return -1;
}

#define SCAN_MAX_PIDS 32

typedef struct
{
  guint16 pid;
  gboolean bounded;
  gint64 remaining;
} PesState;

static PesState *
pes_state_get (PesState * states, guint * n_states, guint16 pid)
{
  guint i;

  for (i = 0; i < *n_states; i++) {
    if (states[i].pid == pid)
      return &states[i];
  }
  if (*n_states == SCAN_MAX_PIDS)
    return NULL;
  states[*n_states].pid = pid;
  states[*n_states].bounded = FALSE;
  states[*n_states].remaining = 0;
  return &states[(*n_states)++];
}

static gboolean
other_pes_complete (const PesState * states, guint n_states, guint16 primary)
{
  guint i;

  for (i = 0; i < n_states; i++) {
    if (states[i].pid != primary && states[i].bounded
        && states[i].remaining > 0)
      return FALSE;
  }
  return TRUE;
}

/* Tracks how much of the current PES of the packet's PID is still missing. */
static void
pes_state_update (PesState * state, const guint8 * packet,
    const DashcamTsPacketInfo * info)
{
  const guint8 *payload;
  gsize len;
  gboolean rai;

  payload = packet_payload (packet, &len, &rai);
  if (payload == NULL)
    return;
  if (info->pusi) {
    guint pes_len;

    if (len < 6 || payload[0] != 0 || payload[1] != 0 || payload[2] != 1) {
      state->bounded = FALSE;
      return;
    }
    pes_len = (payload[4] << 8) | payload[5];
    state->bounded = pes_len != 0;
    state->remaining = (gint64) pes_len + 6;
  }
  state->remaining -= len;
}

/**
 * dashcam_ts_scan:
 * @data: the bytes of a (possibly truncated) TS file
 * @len: length of @data
 * @scan: (out): the result
 *
 * Finds the longest prefix of @data made of whole packets in which no PES is
 * cut: it ends right before the start of a primary-stream PES, at a point
 * where every length-bounded PES (audio) is complete. This is where a
 * recorder cuts a file that was being written when the power went out.
 */
void
dashcam_ts_scan (const guint8 * data, gsize len, DashcamTsScan * scan)
{
  DashcamTsParser parser;
  PesState states[SCAN_MAX_PIDS];
  guint n_states = 0, ra_points = 0;
  guint64 max_pts = 0, last_dts = 0, frame_dur = 0;
  gboolean have_pts = FALSE, have_dts = FALSE, started = FALSE;
  gsize offset;

  memset (scan, 0, sizeof (*scan));
  dashcam_ts_parser_init (&parser);

  for (offset = 0; offset + DASHCAM_TS_PACKET_SIZE <= len;
      offset += DASHCAM_TS_PACKET_SIZE) {
    const guint8 *packet = data + offset;
    DashcamTsPacketInfo info;
    PesState *state;

    if (packet[0] != DASHCAM_TS_SYNC_BYTE)
      break;
    dashcam_ts_parser_parse (&parser, packet, &info);
    scan->n_packets++;

    if (info.is_primary && info.pusi
        && other_pes_complete (states, n_states, parser.primary_pid)) {
      /* cutting here drops the PES that starts in this packet */
      scan->clean_length = offset;
      scan->random_access_points = ra_points;
      if (have_pts) {
        scan->has_time = TRUE;
        scan->end_pts = max_pts + frame_dur;
      }
    }

    if (info.is_primary && info.random_access && !started) {
      started = TRUE;
      scan->first_pts = info.pts;
    }
    if (info.is_primary && info.random_access)
      ra_points++;
    if (info.is_primary && info.has_pts && started) {
      if (!have_pts || info.pts > max_pts)
        max_pts = info.pts;
      if (have_dts && info.dts > last_dts
          && (frame_dur == 0 || info.dts - last_dts < frame_dur))
        frame_dur = info.dts - last_dts;
      last_dts = info.dts;
      have_pts = have_dts = TRUE;
    }

    if (!info.is_pat && !info.is_pmt
        && (state = pes_state_get (states, &n_states, info.pid)))
      pes_state_update (state, packet, &info);
  }

  /* all streams length-bounded and complete: keep everything */
  if (parser.primary_pid != DASHCAM_TS_PID_NULL) {
    PesState *primary = pes_state_get (states, &n_states, parser.primary_pid);

    if (primary && primary->bounded && primary->remaining <= 0
        && other_pes_complete (states, n_states, parser.primary_pid)) {
      scan->clean_length = scan->n_packets * DASHCAM_TS_PACKET_SIZE;
      scan->random_access_points = ra_points;
      if (have_pts) {
        scan->has_time = TRUE;
        scan->end_pts = max_pts + frame_dur;
      }
    }
  } else {
    scan->clean_length = scan->n_packets * DASHCAM_TS_PACKET_SIZE;
  }
  if (!started)
    scan->has_time = FALSE;
}
