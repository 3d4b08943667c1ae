/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* MPEG-TS packet helpers, on packets built by hand here and on real
 * x264enc ! mpegtsmux output. */

#include <gst/check/gstcheck.h>

#include <string.h>
#include <glib/gstdio.h>

#include "dashcamts.h"

#define PMT_PID 0x1000
#define VIDEO_PID 0x100
#define AUDIO_PID 0x101

#define STREAM_TYPE_AAC 0x0f
#define STREAM_TYPE_H264 0x1b
#define STREAM_TYPE_H265 0x24

#define WRAP G_GUINT64_CONSTANT (0x200000000)   /* 2^33 */
#define FRAME_TICKS 3000        /* 30 fps at 90 kHz */

/* ---------------------------------------------------------------------- */
/* Building packets */

/* CRC-32/MPEG-2, for PSI sections */
static guint32
crc32_mpeg (const guint8 * data, gsize len)
{
  guint32 crc = 0xffffffffu;
  gsize i;
  guint k;

  for (i = 0; i < len; i++) {
    crc ^= (guint32) data[i] << 24;
    for (k = 0; k < 8; k++)
      crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04c11db7u : crc << 1;
  }
  return crc;
}

/* Writes one 188-byte packet into @out: @len bytes of @payload, stuffed
 * with an adaptation field (which carries the random_access_indicator when
 * @rai). @len must leave room for the adaptation field. */
static void
make_packet (guint8 * out, guint16 pid, gboolean pusi, guint cc, gboolean rai,
    const guint8 * payload, gsize len)
{
  gsize room = DASHCAM_TS_PACKET_SIZE - 4;

  g_assert (len <= room - (rai ? 2 : 0));
  out[0] = DASHCAM_TS_SYNC_BYTE;
  out[1] = (pusi ? 0x40 : 0) | ((pid >> 8) & 0x1f);
  out[2] = pid & 0xff;
  if (len == room && !rai) {
    out[3] = 0x10 | (cc & 0xf);
  } else {
    gsize af_len = room - len - 1;

    out[3] = 0x30 | (cc & 0xf);
    out[4] = af_len;
    if (af_len > 0) {
      out[5] = rai ? 0x40 : 0x00;
      memset (out + 6, 0xff, af_len - 1);
    }
  }
  memcpy (out + DASHCAM_TS_PACKET_SIZE - len, payload, len);
}

/* A PSI packet: pointer field, @section (CRC appended here), 0xff
 * stuffing. */
static void
make_psi_packet (guint8 * out, guint16 pid, guint8 * section, gsize len)
{
  guint8 payload[DASHCAM_TS_PACKET_SIZE - 4];
  guint32 crc;

  /* section_length counts from after itself, CRC included */
  section[1] = 0xb0 | (((len + 4 - 3) >> 8) & 0x0f);
  section[2] = (len + 4 - 3) & 0xff;
  crc = crc32_mpeg (section, len);
  memset (payload, 0xff, sizeof (payload));
  payload[0] = 0;
  memcpy (payload + 1, section, len);
  /* byte by byte: GST_WRITE_UINT32_BE is a misaligned 32-bit store on x86 */
  payload[1 + len] = crc >> 24;
  payload[2 + len] = crc >> 16;
  payload[3 + len] = crc >> 8;
  payload[4 + len] = crc;
  make_packet (out, pid, TRUE, 0, FALSE, payload, sizeof (payload));
}

/* PAT: NIT entry (program 0) when @with_nit, then program 1 -> @pmt_pid */
static void
make_pat (guint8 * out, guint16 pmt_pid, gboolean with_nit, guint version)
{
  guint8 s[32];
  gsize n = 0;

  s[n++] = 0x00;                /* table_id */
  n += 2;                       /* section_length */
  s[n++] = 0x00;                /* transport_stream_id */
  s[n++] = 0x01;
  s[n++] = 0xc1 | ((version & 0x1f) << 1);
  s[n++] = 0x00;                /* section_number */
  s[n++] = 0x00;                /* last_section_number */
  if (with_nit) {
    s[n++] = 0x00;
    s[n++] = 0x00;
    s[n++] = 0xe0;
    s[n++] = 0x10;
  }
  s[n++] = 0x00;
  s[n++] = 0x01;
  s[n++] = 0xe0 | (pmt_pid >> 8);
  s[n++] = pmt_pid & 0xff;
  make_psi_packet (out, DASHCAM_TS_PID_PAT, s, n);
}

typedef struct
{
  guint8 type;
  guint16 pid;
  guint es_info_len;            /* bytes of descriptors to add */
} PmtStream;

static void
make_pmt (guint8 * out, guint16 pmt_pid, const PmtStream * streams,
    guint n_streams, guint program_info_len)
{
  guint8 s[160];
  gsize n = 0;
  guint i;

  s[n++] = 0x02;
  n += 2;
  s[n++] = 0x00;                /* program_number 1 */
  s[n++] = 0x01;
  s[n++] = 0xc1;
  s[n++] = 0x00;
  s[n++] = 0x00;
  s[n++] = 0xe0 | (VIDEO_PID >> 8);     /* PCR PID */
  s[n++] = VIDEO_PID & 0xff;
  s[n++] = 0xf0 | (program_info_len >> 8);
  s[n++] = program_info_len & 0xff;
  /* descriptors whose bytes look like stream entries of a video type */
  memset (s + n, STREAM_TYPE_H264, program_info_len);
  n += program_info_len;
  for (i = 0; i < n_streams; i++) {
    s[n++] = streams[i].type;
    s[n++] = 0xe0 | (streams[i].pid >> 8);
    s[n++] = streams[i].pid & 0xff;
    s[n++] = 0xf0 | (streams[i].es_info_len >> 8);
    s[n++] = streams[i].es_info_len & 0xff;
    memset (s + n, STREAM_TYPE_H264, streams[i].es_info_len);
    n += streams[i].es_info_len;
  }
  make_psi_packet (out, pmt_pid, s, n);
}

/* the usual program: AAC audio listed first, then H.264 video, with
 * descriptors in between */
static void
make_av_pmt (guint8 * out)
{
  const PmtStream streams[] = {
    {STREAM_TYPE_AAC, AUDIO_PID, 6},
    {STREAM_TYPE_H264, VIDEO_PID, 3},
  };

  make_pmt (out, PMT_PID, streams, G_N_ELEMENTS (streams), 4);
}

static void
write_timestamp (guint8 * p, guint prefix, guint64 ts)
{
  p[0] = (prefix << 4) | (((ts >> 30) & 0x07) << 1) | 1;
  p[1] = (ts >> 22) & 0xff;
  p[2] = (((ts >> 15) & 0x7f) << 1) | 1;
  p[3] = (ts >> 7) & 0xff;
  p[4] = ((ts & 0x7f) << 1) | 1;
}

/* Writes a PES header into @p; returns its size. @dts is only written
 * when different from @pts. */
static gsize
write_pes_header (guint8 * p, guint8 stream_id, guint pes_len, guint64 pts,
    guint64 dts)
{
  gboolean with_dts = dts != pts;

  p[0] = 0;
  p[1] = 0;
  p[2] = 1;
  p[3] = stream_id;
  p[4] = pes_len >> 8;
  p[5] = pes_len & 0xff;
  p[6] = 0x80;
  p[7] = with_dts ? 0xc0 : 0x80;
  p[8] = with_dts ? 10 : 5;
  write_timestamp (p + 9, with_dts ? 3 : 2, pts);
  if (with_dts)
    write_timestamp (p + 14, 1, dts);
  return 9 + p[8];
}

/* H.264 access units, Annex B */
static const guint8 h264_aud_sps[] = {
  0, 0, 0, 1, 0x09, 0x10, 0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02,
  0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 1, 0x65, 0x88, 0x84
};

/* SPS and PPS fill the first packet, the IDR slice comes in the next */
static const guint8 h264_aud_sps_pps[] = {
  0, 0, 0, 1, 0x09, 0x10, 0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02,
  0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80
};

static const guint8 h264_aud_idr[] = {
  0, 0, 0, 1, 0x09, 0x10, 0, 0, 1, 0x65, 0x88, 0x84, 0x21
};

static const guint8 h264_aud_sei_idr[] = {
  0, 0, 0, 1, 0x09, 0x10, 0, 0, 0, 1, 0x06, 0x05, 0x01, 0xff, 0x80,
  0, 0, 1, 0x65, 0x88
};

static const guint8 h264_aud_slice[] = {
  0, 0, 0, 1, 0x09, 0x30, 0, 0, 0, 1, 0x41, 0x9a, 0x21, 0x6c
};

static const guint8 h264_slice_then_idr[] = {
  0, 0, 1, 0x01, 0x9a, 0x21, 0, 0, 1, 0x65, 0x88
};

/* Writes a single-packet PES starting with @es into @out. */
static void
make_pes_packet (guint8 * out, guint16 pid, guint8 stream_id, gboolean rai,
    guint64 pts, guint64 dts, const guint8 * es, gsize es_len)
{
  guint8 payload[DASHCAM_TS_PACKET_SIZE];
  gsize n = write_pes_header (payload, stream_id, 0, pts, dts);

  memcpy (payload + n, es, es_len);
  make_packet (out, pid, TRUE, 0, rai, payload, n + es_len);
}

static void
make_video_packet (guint8 * out, guint16 pid, gboolean rai, guint64 pts,
    guint64 dts, const guint8 * es, gsize es_len)
{
  make_pes_packet (out, pid, 0xe0, rai, pts, dts, es, es_len);
}

/* ---------------------------------------------------------------------- */
/* A synthetic stream: PAT, PMT, then video frames (H.264, 3 packets, a key
 * frame every 5) and audio frames (2 packets, length-bounded) */

typedef struct
{
  GByteArray *data;
  guint cc[2];
  gboolean video_bounded;
  GArray *video_starts;         /* guint64 offset of each video PES */
  GArray *audio_starts;
} Stream;

#define TS_BASE G_GUINT64_CONSTANT (900000)     /* 10 s */

static void
stream_put (Stream * st, guint16 pid, gboolean pusi, gboolean rai,
    const guint8 * payload, gsize len)
{
  guint8 pkt[DASHCAM_TS_PACKET_SIZE];
  guint *cc = &st->cc[pid == AUDIO_PID];

  make_packet (pkt, pid, pusi, (*cc)++, rai, payload, len);
  g_byte_array_append (st->data, pkt, sizeof (pkt));
}

static Stream *
stream_new (gboolean video_bounded)
{
  Stream *st = g_new0 (Stream, 1);
  guint8 pkt[DASHCAM_TS_PACKET_SIZE];

  st->data = g_byte_array_new ();
  st->video_bounded = video_bounded;
  st->video_starts = g_array_new (FALSE, FALSE, sizeof (guint64));
  st->audio_starts = g_array_new (FALSE, FALSE, sizeof (guint64));
  make_pat (pkt, PMT_PID, FALSE, 0);
  g_byte_array_append (st->data, pkt, sizeof (pkt));
  make_av_pmt (pkt);
  g_byte_array_append (st->data, pkt, sizeof (pkt));
  return st;
}

static void
stream_free (Stream * st)
{
  g_byte_array_unref (st->data);
  g_array_unref (st->video_starts);
  g_array_unref (st->audio_starts);
  g_free (st);
}

static guint64
frame_pts (guint f)
{
  return TS_BASE + FRAME_TICKS * (guint64) f;
}

/* Adds packets @first..@last (of 3) of video frame @f. */
static void
stream_add_video_part (Stream * st, guint f, guint first, guint last)
{
  guint8 pes[3 * 184];
  const guint8 *es = f % 5 == 0 ? h264_aud_sps : h264_aud_slice;
  gsize es_len = f % 5 == 0 ? sizeof (h264_aud_sps) : sizeof (h264_aud_slice);
  gsize n;
  guint i;

  memset (pes, 0xaa, sizeof (pes));
  n = write_pes_header (pes, 0xe0, st->video_bounded ? sizeof (pes) - 6 : 0,
      frame_pts (f), frame_pts (f) - FRAME_TICKS);
  memcpy (pes + n, es, es_len);
  for (i = first; i <= last; i++) {
    if (i == 0) {
      guint64 off = st->data->len;

      g_array_append_val (st->video_starts, off);
    }
    stream_put (st, VIDEO_PID, i == 0, FALSE, pes + i * 184, 184);
  }
}

static void
stream_add_audio_part (Stream * st, guint f, guint first, guint last)
{
  guint8 pes[2 * 184];
  guint i;

  memset (pes, 0x21, sizeof (pes));
  write_pes_header (pes, 0xc0, sizeof (pes) - 6, frame_pts (f) + 100,
      frame_pts (f) + 100);
  pes[14] = 0xff;               /* ADTS sync */
  pes[15] = 0xf1;
  for (i = first; i <= last; i++) {
    if (i == 0) {
      guint64 off = st->data->len;

      g_array_append_val (st->audio_starts, off);
    }
    stream_put (st, AUDIO_PID, i == 0, FALSE, pes + i * 184, 184);
  }
}

/* frames @first..@last, each video then audio */
static void
stream_add_frames (Stream * st, guint first, guint last)
{
  guint f;

  for (f = first; f <= last; f++) {
    stream_add_video_part (st, f, 0, 2);
    stream_add_audio_part (st, f, 0, 1);
  }
}

static guint64
video_start (Stream * st, guint nth)
{
  return g_array_index (st->video_starts, guint64, nth);
}

/* Checks @scan's time span against @frames frames, within rounding. */
static void
check_span (const DashcamTsScan * scan, guint frames)
{
  gint64 span = (gint64) (scan->end_pts - scan->first_pts);
  gint64 want = (gint64) DASHCAM_MPEGTIME_TO_NS ((guint64) frames *
      FRAME_TICKS);

  fail_unless (scan->has_time);
  fail_unless (ABS (span - want) <= 2, "span %" G_GINT64_FORMAT " ns, want %"
      G_GINT64_FORMAT " ns (%u frames)", span, want, frames);
}

/* nanosecond values from 90 kHz ticks differ by their rounding */
static void
check_close (guint64 a, guint64 b)
{
  fail_unless (a + 1 >= b && a <= b + 1, "%" G_GUINT64_FORMAT " != %"
      G_GUINT64_FORMAT, a, b);
}

static void parser_with_program (DashcamTsParser * p,
    const PmtStream * streams, guint n_streams);

/* ---------------------------------------------------------------------- */
/* PSI */

GST_START_TEST (test_pat_pmt)
{
  DashcamTsParser p;
  DashcamTsPacketInfo info;
  guint8 pat[188], pmt[188], pat2[188], video[188], audio[188];

  dashcam_ts_parser_init (&p);
  fail_unless_equals_int (p.pmt_pid, 0);
  fail_unless_equals_int (p.primary_pid, DASHCAM_TS_PID_NULL);
  fail_if (p.have_pat);
  fail_if (p.have_pmt);

  make_pat (pat, PMT_PID, FALSE, 0);
  dashcam_ts_parser_parse (&p, pat, &info);
  fail_unless (info.is_pat);
  fail_if (info.is_pmt);
  fail_unless (info.pusi);
  fail_unless_equals_int (info.pid, 0);
  fail_unless (p.have_pat);
  fail_unless_equals_int (p.pmt_pid, PMT_PID);
  fail_unless (memcmp (p.pat, pat, 188) == 0);
  fail_if (p.have_pmt);
  fail_unless_equals_int (p.primary_pid, DASHCAM_TS_PID_NULL);

  /* video is primary although audio is listed first */
  make_av_pmt (pmt);
  dashcam_ts_parser_parse (&p, pmt, &info);
  fail_unless (info.is_pmt);
  fail_if (info.is_pat);
  fail_if (info.is_primary);
  fail_unless_equals_int (info.pid, PMT_PID);
  fail_unless (p.have_pmt);
  fail_unless (memcmp (p.pmt, pmt, 188) == 0);
  fail_unless_equals_int (p.primary_pid, VIDEO_PID);
  fail_unless_equals_int (p.primary_stream_type, STREAM_TYPE_H264);
  fail_unless (p.primary_is_video);

  make_video_packet (video, VIDEO_PID, FALSE, 1000, 1000, h264_aud_slice,
      sizeof (h264_aud_slice));
  dashcam_ts_parser_parse (&p, video, &info);
  fail_unless (info.is_primary);
  fail_unless_equals_int (info.pid, VIDEO_PID);
  fail_if (info.is_pat || info.is_pmt);

  make_pes_packet (audio, AUDIO_PID, 0xc0, FALSE, 1000, 1000, h264_aud_sps,
      sizeof (h264_aud_sps));
  dashcam_ts_parser_parse (&p, audio, &info);
  fail_if (info.is_primary);
  fail_if (info.random_access);
  fail_unless_equals_int (info.pid, AUDIO_PID);

  /* a new version replaces the cached copy */
  make_pat (pat2, PMT_PID, FALSE, 1);
  fail_if (memcmp (pat, pat2, 188) == 0);
  dashcam_ts_parser_parse (&p, pat2, &info);
  fail_unless (memcmp (p.pat, pat2, 188) == 0);
  fail_unless (memcmp (p.pmt, pmt, 188) == 0);
}

GST_END_TEST;

GST_START_TEST (test_psi_edge_cases)
{
  DashcamTsParser p;
  DashcamTsPacketInfo info;
  guint8 pat[188], pmt[188];
  const PmtStream audio_only[] = { {STREAM_TYPE_AAC, AUDIO_PID, 0} };
  const PmtStream h265[] = {
    {STREAM_TYPE_AAC, AUDIO_PID, 0},
    {STREAM_TYPE_H265, 0x200, 0},
    {STREAM_TYPE_H264, VIDEO_PID, 0},
  };

  dashcam_ts_parser_init (&p);

  /* a PMT before any PAT is not recognised */
  make_av_pmt (pmt);
  dashcam_ts_parser_parse (&p, pmt, &info);
  fail_if (info.is_pmt);
  fail_if (p.have_pmt);
  fail_unless_equals_int (p.primary_pid, DASHCAM_TS_PID_NULL);

  /* a PAT without its payload_unit_start_indicator is not parsed */
  make_pat (pat, PMT_PID, FALSE, 0);
  pat[1] &= ~0x40;
  dashcam_ts_parser_parse (&p, pat, &info);
  fail_unless (info.is_pat);
  fail_if (p.have_pat);

  /* a section longer than the packet is not parsed */
  make_pat (pat, PMT_PID, FALSE, 0);
  pat[6] = 0xb3;
  pat[7] = 0xff;
  dashcam_ts_parser_parse (&p, pat, &info);
  fail_unless (info.is_pat);
  fail_if (p.have_pat);
  fail_unless_equals_int (p.pmt_pid, 0);

  /* program 0 is the NIT, not a PMT */
  make_pat (pat, PMT_PID, TRUE, 0);
  dashcam_ts_parser_parse (&p, pat, &info);
  fail_unless (p.have_pat);
  fail_unless_equals_int (p.pmt_pid, PMT_PID);

  /* without video, the first stream is primary */
  make_pmt (pmt, PMT_PID, audio_only, 1, 0);
  dashcam_ts_parser_parse (&p, pmt, &info);
  fail_unless (info.is_pmt);
  fail_unless_equals_int (p.primary_pid, AUDIO_PID);
  fail_unless_equals_int (p.primary_stream_type, STREAM_TYPE_AAC);
  fail_if (p.primary_is_video);

  /* the first video stream is primary */
  make_pmt (pmt, PMT_PID, h265, 3, 0);
  dashcam_ts_parser_parse (&p, pmt, &info);
  fail_unless_equals_int (p.primary_pid, 0x200);
  fail_unless_equals_int (p.primary_stream_type, STREAM_TYPE_H265);
  fail_unless (p.primary_is_video);
  fail_unless (memcmp (p.pmt, pmt, 188) == 0);
}

GST_END_TEST;

/* Regression test for a fixed bug (dashcamts.c, dashcam_ts_parser_parse()): while the PMT is
 * unknown, primary_pid holds DASHCAM_TS_PID_NULL as "unknown", and the
 * test `pid == primary_pid` then marks null (stuffing) packets as primary;
 * one with a payload_unit_start_indicator is even a random-access point,
 * since primary_is_video is still FALSE. */
GST_START_TEST (test_null_packets_never_primary)
{
  DashcamTsParser p;
  DashcamTsPacketInfo info;
  guint8 pkt[188], payload[184];

  memset (payload, 0xff, sizeof (payload));
  dashcam_ts_parser_init (&p);
  make_packet (pkt, DASHCAM_TS_PID_NULL, FALSE, 0, FALSE, payload,
      sizeof (payload));
  dashcam_ts_parser_parse (&p, pkt, &info);
  fail_unless_equals_int (info.pid, DASHCAM_TS_PID_NULL);
  fail_if (info.is_primary,
      "a null packet is primary before the PMT");

  make_packet (pkt, DASHCAM_TS_PID_NULL, TRUE, 1, FALSE, payload,
      sizeof (payload));
  dashcam_ts_parser_parse (&p, pkt, &info);
  fail_if (info.random_access,
      "a null packet is a random-access point");

  /* once the program is known they are not, of course */
  parser_with_program (&p, NULL, 0);
  dashcam_ts_parser_parse (&p, pkt, &info);
  fail_if (info.is_primary);
  fail_if (info.random_access);
}

GST_END_TEST;

/* ---------------------------------------------------------------------- */
/* Random access */

/* A parser that knows the usual program. */
static void
parser_with_program (DashcamTsParser * p, const PmtStream * streams,
    guint n_streams)
{
  DashcamTsPacketInfo info;
  guint8 pkt[188];

  dashcam_ts_parser_init (p);
  make_pat (pkt, PMT_PID, FALSE, 0);
  dashcam_ts_parser_parse (p, pkt, &info);
  if (streams)
    make_pmt (pkt, PMT_PID, streams, n_streams, 0);
  else
    make_av_pmt (pkt);
  dashcam_ts_parser_parse (p, pkt, &info);
  fail_unless (p->have_pmt);
}

static gboolean
video_packet_is_ra (DashcamTsParser * p, guint16 pid, gboolean rai,
    const guint8 * es, gsize es_len)
{
  DashcamTsPacketInfo info;
  guint8 pkt[188];

  make_video_packet (pkt, pid, rai, 90000, 90000, es, es_len);
  dashcam_ts_parser_parse (p, pkt, &info);
  return info.random_access;
}

GST_START_TEST (test_random_access_indicator)
{
  DashcamTsParser p;
  DashcamTsPacketInfo info;
  guint8 pkt[188], payload[184];

  parser_with_program (&p, NULL, 0);

  /* the flag alone makes a random-access point, whatever the payload */
  fail_unless (video_packet_is_ra (&p, VIDEO_PID, TRUE, h264_aud_slice,
          sizeof (h264_aud_slice)));
  fail_if (video_packet_is_ra (&p, VIDEO_PID, FALSE, h264_aud_slice,
          sizeof (h264_aud_slice)));

  /* only on the primary stream */
  fail_if (video_packet_is_ra (&p, AUDIO_PID, TRUE, h264_aud_idr,
          sizeof (h264_aud_idr)));
  fail_if (video_packet_is_ra (&p, 0x123, TRUE, h264_aud_idr,
          sizeof (h264_aud_idr)));

  /* and only where a PES starts */
  memset (payload, 0x00, sizeof (payload));
  make_packet (pkt, VIDEO_PID, FALSE, 1, TRUE, payload, 100);
  dashcam_ts_parser_parse (&p, pkt, &info);
  fail_unless (info.is_primary);
  fail_if (info.random_access);
}

GST_END_TEST;

GST_START_TEST (test_h264_access_points)
{
  DashcamTsParser p;

  parser_with_program (&p, NULL, 0);

  fail_unless (video_packet_is_ra (&p, VIDEO_PID, FALSE, h264_aud_sps,
          sizeof (h264_aud_sps)));
  fail_unless (video_packet_is_ra (&p, VIDEO_PID, FALSE, h264_aud_sps_pps,
          sizeof (h264_aud_sps_pps)));
  fail_unless (video_packet_is_ra (&p, VIDEO_PID, FALSE, h264_aud_idr,
          sizeof (h264_aud_idr)));
  fail_unless (video_packet_is_ra (&p, VIDEO_PID, FALSE, h264_aud_sei_idr,
          sizeof (h264_aud_sei_idr)));
  fail_if (video_packet_is_ra (&p, VIDEO_PID, FALSE, h264_aud_slice,
          sizeof (h264_aud_slice)));
  fail_if (video_packet_is_ra (&p, VIDEO_PID, FALSE, h264_slice_then_idr,
          sizeof (h264_slice_then_idr)));

  /* the same answers without the PES around them */
  fail_unless (dashcam_ts_payload_starts_access_point (STREAM_TYPE_H264,
          h264_aud_sps, sizeof (h264_aud_sps)));
  fail_unless (dashcam_ts_payload_starts_access_point (STREAM_TYPE_H264,
          h264_aud_idr, sizeof (h264_aud_idr)));
  fail_if (dashcam_ts_payload_starts_access_point (STREAM_TYPE_H264,
          h264_aud_slice, sizeof (h264_aud_slice)));
  fail_if (dashcam_ts_payload_starts_access_point (STREAM_TYPE_H264,
          h264_aud_idr, 4));
  fail_if (dashcam_ts_payload_starts_access_point (STREAM_TYPE_H264,
          h264_aud_idr, 0));

  /* a stream type it does not know is never an access point by content */
  fail_if (dashcam_ts_payload_starts_access_point (STREAM_TYPE_AAC,
          h264_aud_idr, sizeof (h264_aud_idr)));
}

GST_END_TEST;

GST_START_TEST (test_h265_access_points)
{
  /* NAL header byte 0 is type << 1 */
  const guint8 aud_idr[] = { 0, 0, 0, 1, 0x46, 0x01, 0x50, 0, 0, 1, 0x26,
    0x01, 0xaf
  };
  const guint8 cra[] = { 0, 0, 1, 0x2a, 0x01, 0xaf };
  const guint8 bla[] = { 0, 0, 1, 0x20, 0x01, 0xaf };
  const guint8 vps[] = { 0, 0, 0, 1, 0x40, 0x01, 0x0c };
  const guint8 aud_sps[] = { 0, 0, 1, 0x46, 0x01, 0x50, 0, 0, 1, 0x42, 0x01,
    0x01
  };
  const guint8 aud_sei_trail[] = { 0, 0, 1, 0x46, 0x01, 0x50, 0, 0, 1, 0x4e,
    0x01, 0x05, 0, 0, 1, 0x02, 0x01, 0xd0
  };
  const guint8 rasl[] = { 0, 0, 1, 0x12, 0x01, 0xd0 };
  const PmtStream streams[] = { {STREAM_TYPE_H265, VIDEO_PID, 0} };
  DashcamTsParser p;

  fail_unless (dashcam_ts_payload_starts_access_point (STREAM_TYPE_H265,
          aud_idr, sizeof (aud_idr)));
  fail_unless (dashcam_ts_payload_starts_access_point (STREAM_TYPE_H265,
          cra, sizeof (cra)));
  fail_unless (dashcam_ts_payload_starts_access_point (STREAM_TYPE_H265,
          bla, sizeof (bla)));
  fail_unless (dashcam_ts_payload_starts_access_point (STREAM_TYPE_H265,
          vps, sizeof (vps)));
  fail_unless (dashcam_ts_payload_starts_access_point (STREAM_TYPE_H265,
          aud_sps, sizeof (aud_sps)));
  fail_if (dashcam_ts_payload_starts_access_point (STREAM_TYPE_H265,
          aud_sei_trail, sizeof (aud_sei_trail)));
  fail_if (dashcam_ts_payload_starts_access_point (STREAM_TYPE_H265,
          rasl, sizeof (rasl)));
  /* H.264 rules do not apply: 0x65 is an H.265 type 50 */
  fail_if (dashcam_ts_payload_starts_access_point (STREAM_TYPE_H265,
          h264_aud_idr, sizeof (h264_aud_idr)));

  /* through the parser, with an H.265 program */
  parser_with_program (&p, streams, 1);
  fail_unless (p.primary_is_video);
  fail_unless (video_packet_is_ra (&p, VIDEO_PID, FALSE, aud_idr,
          sizeof (aud_idr)));
  fail_unless (video_packet_is_ra (&p, VIDEO_PID, FALSE, cra, sizeof (cra)));
  fail_if (video_packet_is_ra (&p, VIDEO_PID, FALSE, aud_sei_trail,
          sizeof (aud_sei_trail)));
}

GST_END_TEST;

GST_START_TEST (test_mpeg2_and_audio_access_points)
{
  const guint8 seq[] = { 0, 0, 1, 0xb3, 0x0a, 0x00, 0x78 };
  const guint8 pic[] = { 0, 0, 1, 0x00, 0x00, 0x0f };
  const PmtStream audio_only[] = { {STREAM_TYPE_AAC, AUDIO_PID, 0} };
  DashcamTsParser p;
  DashcamTsPacketInfo info;
  guint8 pkt[188], payload[184];

  fail_unless (dashcam_ts_payload_starts_access_point (0x02, seq,
          sizeof (seq)));
  fail_unless (dashcam_ts_payload_starts_access_point (0x01, seq,
          sizeof (seq)));
  fail_if (dashcam_ts_payload_starts_access_point (0x02, pic, sizeof (pic)));

  /* audio only: every frame of the primary stream is an access point */
  parser_with_program (&p, audio_only, 1);
  fail_unless (video_packet_is_ra (&p, AUDIO_PID, FALSE, pic, sizeof (pic)));
  memset (payload, 0x21, sizeof (payload));
  make_packet (pkt, AUDIO_PID, FALSE, 1, FALSE, payload, sizeof (payload));
  dashcam_ts_parser_parse (&p, pkt, &info);
  fail_unless (info.is_primary);
  fail_if (info.random_access);
}

GST_END_TEST;

/* ---------------------------------------------------------------------- */
/* Timestamps */

GST_START_TEST (test_pts_dts)
{
  DashcamTsParser p;
  DashcamTsPacketInfo info;
  guint8 pkt[188];
  guint64 first;

  parser_with_program (&p, NULL, 0);

  /* PTS only: DTS is the PTS */
  make_video_packet (pkt, VIDEO_PID, FALSE, 123456789, 123456789,
      h264_aud_idr, sizeof (h264_aud_idr));
  dashcam_ts_parser_parse (&p, pkt, &info);
  fail_unless (info.has_pts);
  fail_unless (info.has_dts);
  fail_unless_equals_uint64 (info.dts, info.pts);
  /* the first timestamp is offset by 2^33 ticks */
  fail_unless_equals_uint64 (info.pts,
      DASHCAM_MPEGTIME_TO_NS (123456789 + WRAP));
  first = info.pts;

  /* PTS and DTS: B-frame reordering */
  make_video_packet (pkt, VIDEO_PID, FALSE, 123456789 + 4 * FRAME_TICKS,
      123456789 + FRAME_TICKS, h264_aud_slice, sizeof (h264_aud_slice));
  dashcam_ts_parser_parse (&p, pkt, &info);
  fail_unless (info.has_pts && info.has_dts);
  fail_unless_equals_uint64 (info.pts,
      DASHCAM_MPEGTIME_TO_NS (123456789 + 4 * FRAME_TICKS + WRAP));
  fail_unless (info.pts > first);
  fail_unless_equals_uint64 (info.dts,
      DASHCAM_MPEGTIME_TO_NS (123456789 + FRAME_TICKS + WRAP));
  fail_unless_equals_uint64 (info.pts - info.dts,
      DASHCAM_MPEGTIME_TO_NS (123456789 + 4 * FRAME_TICKS + WRAP) -
      DASHCAM_MPEGTIME_TO_NS (123456789 + FRAME_TICKS + WRAP));
  fail_unless (info.pts - info.dts > 99 * GST_MSECOND
      && info.pts - info.dts < 101 * GST_MSECOND);

  /* every bit of the 33 in place */
  make_video_packet (pkt, VIDEO_PID, FALSE, G_GUINT64_CONSTANT (0x1a5a5a5a5),
      G_GUINT64_CONSTANT (0x1a5a5a5a5), h264_aud_slice,
      sizeof (h264_aud_slice));
  parser_with_program (&p, NULL, 0);
  dashcam_ts_parser_parse (&p, pkt, &info);
  fail_unless_equals_uint64 (info.pts,
      DASHCAM_MPEGTIME_TO_NS (G_GUINT64_CONSTANT (0x1a5a5a5a5) + WRAP));

  /* timestamps of other streams are read too */
  make_pes_packet (pkt, AUDIO_PID, 0xc0, FALSE,
      G_GUINT64_CONSTANT (0x1a5a5a5a5) + 90000,
      G_GUINT64_CONSTANT (0x1a5a5a5a5) + 90000, h264_aud_slice,
      sizeof (h264_aud_slice));
  dashcam_ts_parser_parse (&p, pkt, &info);
  fail_if (info.is_primary);
  fail_unless (info.has_pts);
  fail_unless_equals_uint64 (info.pts,
      DASHCAM_MPEGTIME_TO_NS (G_GUINT64_CONSTANT (0x1a5a5a5a5) + 90000 + WRAP));

  /* no PES header, no timestamp */
  {
    guint8 payload[184];

    memset (payload, 0x55, sizeof (payload));
    make_packet (pkt, VIDEO_PID, TRUE, 0, FALSE, payload, sizeof (payload));
    dashcam_ts_parser_parse (&p, pkt, &info);
    fail_unless (info.is_primary);
    fail_if (info.has_pts);
    fail_if (info.random_access);
  }
}

GST_END_TEST;

GST_START_TEST (test_unwrap)
{
  gboolean have = FALSE;
  guint64 ref = 0;

  /* the first is offset by 2^33 */
  fail_unless_equals_uint64 (dashcam_ts_unwrap (&have, &ref, WRAP - 90000),
      2 * WRAP - 90000);
  fail_unless (have);
  /* across the wrap */
  fail_unless_equals_uint64 (dashcam_ts_unwrap (&have, &ref, WRAP - 1),
      2 * WRAP - 1);
  fail_unless_equals_uint64 (dashcam_ts_unwrap (&have, &ref, 0), 2 * WRAP);
  fail_unless_equals_uint64 (dashcam_ts_unwrap (&have, &ref, 45000),
      2 * WRAP + 45000);
  /* slightly backwards, across the wrap again */
  fail_unless_equals_uint64 (dashcam_ts_unwrap (&have, &ref, WRAP - 3000),
      2 * WRAP - 3000);
  fail_unless_equals_uint64 (dashcam_ts_unwrap (&have, &ref, 6000),
      2 * WRAP + 6000);
  /* bits above 33 are ignored */
  fail_unless_equals_uint64 (dashcam_ts_unwrap (&have, &ref, WRAP + 9000),
      2 * WRAP + 9000);
  /* a second wrap, in steps just under half the range */
  fail_unless_equals_uint64 (dashcam_ts_unwrap (&have, &ref, WRAP / 2),
      2 * WRAP + WRAP / 2);
  fail_unless_equals_uint64 (dashcam_ts_unwrap (&have, &ref, WRAP - 1000),
      3 * WRAP - 1000);
  fail_unless_equals_uint64 (dashcam_ts_unwrap (&have, &ref, 5), 3 * WRAP + 5);

  /* earlier than the first value: stays positive */
  have = FALSE;
  fail_unless_equals_uint64 (dashcam_ts_unwrap (&have, &ref, 100), WRAP + 100);
  fail_unless_equals_uint64 (dashcam_ts_unwrap (&have, &ref, 0), WRAP);
  fail_unless_equals_uint64 (dashcam_ts_unwrap (&have, &ref, WRAP - 100),
      WRAP - 100);
  fail_unless_equals_uint64 (ref, WRAP - 100);
}

GST_END_TEST;

GST_START_TEST (test_pts_wrap_in_stream)
{
  DashcamTsParser p;
  DashcamTsPacketInfo info;
  guint8 pkt[188];
  guint64 t0, t1, t2, t3;

  parser_with_program (&p, NULL, 0);

  /* 1 s before the wrap */
  make_video_packet (pkt, VIDEO_PID, FALSE, WRAP - 90000, WRAP - 90000,
      h264_aud_idr, sizeof (h264_aud_idr));
  dashcam_ts_parser_parse (&p, pkt, &info);
  t0 = info.pts;

  /* 0.5 s after it */
  make_video_packet (pkt, VIDEO_PID, FALSE, 45000, 45000, h264_aud_slice,
      sizeof (h264_aud_slice));
  dashcam_ts_parser_parse (&p, pkt, &info);
  t1 = info.pts;
  fail_unless_equals_uint64 (t1 - t0, 1500 * GST_MSECOND);

  /* a frame displayed before that one, from before the wrap (B-frame):
   * DTS before the wrap, PTS after it */
  make_video_packet (pkt, VIDEO_PID, FALSE, 15000, WRAP - 15000,
      h264_aud_slice, sizeof (h264_aud_slice));
  dashcam_ts_parser_parse (&p, pkt, &info);
  t2 = info.pts;
  fail_unless (t2 < t1);
  check_close (t2 - t0, DASHCAM_MPEGTIME_TO_NS (105000));
  check_close (info.dts - t0, DASHCAM_MPEGTIME_TO_NS (75000));
  fail_unless (info.dts < info.pts);

  /* and forward again */
  make_video_packet (pkt, VIDEO_PID, FALSE, 90000 + 45000, 90000 + 45000,
      h264_aud_slice, sizeof (h264_aud_slice));
  dashcam_ts_parser_parse (&p, pkt, &info);
  t3 = info.pts;
  fail_unless_equals_uint64 (t3 - t0, 2500 * GST_MSECOND);
}

GST_END_TEST;

/* Found by fuzzing (tests/fuzz/corpus/ts/regress-pts-back-wraps): key
 * frames whose PTS jumps back by almost half the 33-bit range, again and
 * again (concatenated or corrupt input), took the unwrapped clock below
 * zero: it wrapped to ~2^64 ticks, and the segmenter made a segment
 * 4 * 10^18 ns long. The clock now never wraps; a scan of such a stream
 * gives a duration within the jumps it holds. */
GST_START_TEST (test_pts_jumps_back_never_wrap)
{
  const guint64 back = WRAP / 2 - 1;    /* still read as "earlier" */
  DashcamTsParser p;
  DashcamTsPacketInfo info;
  DashcamTsScan scan;
  GByteArray *data = g_byte_array_new ();
  guint8 pkt[188];
  guint64 ts = WRAP / 2;
  guint i;

  parser_with_program (&p, NULL, 0);
  make_pat (pkt, PMT_PID, FALSE, 0);
  g_byte_array_append (data, pkt, sizeof (pkt));
  make_av_pmt (pkt);
  g_byte_array_append (data, pkt, sizeof (pkt));
  for (i = 0; i < 8; i++) {
    make_video_packet (pkt, VIDEO_PID, FALSE, ts, ts, h264_aud_idr,
        sizeof (h264_aud_idr));
    g_byte_array_append (data, pkt, sizeof (pkt));
    dashcam_ts_parser_parse (&p, pkt, &info);
    fail_unless (info.has_pts);
    /* 1.5 * 2^33 ticks at the start, 8 steps of less than 2^32 ticks */
    fail_unless (info.pts < DASHCAM_MPEGTIME_TO_NS (6 * WRAP),
        "PTS %" G_GUINT64_FORMAT " ns after %u jumps back", info.pts, i);
    ts = (ts - back) & (WRAP - 1);
  }

  dashcam_ts_scan (data->data, data->len, &scan);
  fail_unless (scan.has_time);
  fail_unless (scan.end_pts < DASHCAM_MPEGTIME_TO_NS (6 * WRAP));
  fail_unless (scan.first_pts < DASHCAM_MPEGTIME_TO_NS (6 * WRAP));
  g_byte_array_unref (data);
}

GST_END_TEST;

/* ---------------------------------------------------------------------- */
/* Finding packets */

GST_START_TEST (test_find_sync)
{
  guint8 data[50 + 3 * 188];
  guint8 pkt[188], payload[184];
  guint i;

  memset (payload, 0xff, sizeof (payload));
  memset (data, 0x00, sizeof (data));
  for (i = 0; i < 3; i++) {
    make_packet (pkt, VIDEO_PID, FALSE, i, FALSE, payload, sizeof (payload));
    memcpy (data + 50 + i * 188, pkt, 188);
  }

  fail_unless_equals_int (dashcam_ts_find_sync (data, sizeof (data)), 50);
  fail_unless_equals_int (dashcam_ts_find_sync (data + 50, 3 * 188), 0);

  /* a lone sync byte in the garbage is not a packet */
  data[10] = DASHCAM_TS_SYNC_BYTE;
  fail_unless_equals_int (dashcam_ts_find_sync (data, sizeof (data)), 50);

  /* nor are two 188 bytes apart when the third is missing */
  data[10] = 0;
  data[5] = DASHCAM_TS_SYNC_BYTE;
  data[5 + 188] = DASHCAM_TS_SYNC_BYTE;
  fail_unless_equals_int (dashcam_ts_find_sync (data, sizeof (data)), 50);
  data[5] = data[5 + 188] = 0xff;

  /* only garbage */
  fail_unless_equals_int (dashcam_ts_find_sync (data, 50), -1);
  fail_unless_equals_int (dashcam_ts_find_sync (data, 0), -1);

  /* at the end of the data, what can be checked is checked */
  fail_unless_equals_int (dashcam_ts_find_sync (data, 51), 50);
  fail_unless_equals_int (dashcam_ts_find_sync (data + 50, 188 + 1), 0);
  fail_unless_equals_int (dashcam_ts_find_sync (data + 51, 2 * 188), 187);
}

GST_END_TEST;

/* ---------------------------------------------------------------------- */
/* Scanning files a power cut left behind */

GST_START_TEST (test_scan_complete)
{
  Stream *st;
  DashcamTsScan scan;

  /* unbounded video (as for large frames): the last frame cannot be known
   * to be complete */
  st = stream_new (FALSE);
  stream_add_frames (st, 0, 9);
  dashcam_ts_scan (st->data->data, st->data->len, &scan);
  fail_unless_equals_uint64 (scan.n_packets, 2 + 10 * 5);
  fail_unless_equals_uint64 (scan.clean_length, video_start (st, 9));
  fail_unless_equals_int (scan.random_access_points, 2);
  check_span (&scan, 9);
  stream_free (st);

  /* everything length-bounded and complete: all of it */
  st = stream_new (TRUE);
  stream_add_frames (st, 0, 9);
  dashcam_ts_scan (st->data->data, st->data->len, &scan);
  fail_unless_equals_uint64 (scan.n_packets, 2 + 10 * 5);
  fail_unless_equals_uint64 (scan.clean_length, st->data->len);
  fail_unless_equals_int (scan.random_access_points, 2);
  check_span (&scan, 10);
  stream_free (st);

  /* nothing */
  dashcam_ts_scan (NULL, 0, &scan);
  fail_unless_equals_uint64 (scan.n_packets, 0);
  fail_unless_equals_uint64 (scan.clean_length, 0);
  fail_if (scan.has_time);
  fail_unless_equals_int (scan.random_access_points, 0);
}

GST_END_TEST;

GST_START_TEST (test_scan_torn_packet)
{
  Stream *st = stream_new (TRUE);
  DashcamTsScan scan;
  guint64 whole;

  stream_add_frames (st, 0, 9);
  whole = st->data->len;
  /* the first 100 bytes of the next frame's first packet */
  stream_add_video_part (st, 10, 0, 0);
  g_byte_array_set_size (st->data, whole + 100);

  dashcam_ts_scan (st->data->data, st->data->len, &scan);
  fail_unless_equals_uint64 (scan.n_packets, 2 + 10 * 5);
  fail_unless_equals_uint64 (scan.clean_length, whole);
  fail_unless_equals_int (scan.random_access_points, 2);
  check_span (&scan, 10);
  stream_free (st);
}

GST_END_TEST;

GST_START_TEST (test_scan_torn_video)
{
  Stream *st;
  DashcamTsScan scan;

  /* length-bounded video, cut after 2 of the 3 packets of frame 7 */
  st = stream_new (TRUE);
  stream_add_frames (st, 0, 6);
  stream_add_video_part (st, 7, 0, 1);
  dashcam_ts_scan (st->data->data, st->data->len, &scan);
  fail_unless_equals_uint64 (scan.n_packets, 2 + 7 * 5 + 2);
  fail_unless_equals_uint64 (scan.clean_length, video_start (st, 7));
  fail_unless_equals_int (scan.random_access_points, 2);
  check_span (&scan, 7);

  /* frame 7 complete: kept */
  stream_add_video_part (st, 7, 2, 2);
  dashcam_ts_scan (st->data->data, st->data->len, &scan);
  fail_unless_equals_uint64 (scan.clean_length, st->data->len);
  check_span (&scan, 8);
  stream_free (st);

  /* cut in the first packet of a key frame: its random-access point does
   * not count */
  st = stream_new (TRUE);
  stream_add_frames (st, 0, 9);
  stream_add_video_part (st, 10, 0, 0);
  dashcam_ts_scan (st->data->data, st->data->len, &scan);
  fail_unless_equals_uint64 (scan.clean_length, video_start (st, 10));
  fail_unless_equals_int (scan.random_access_points, 2);
  check_span (&scan, 10);
  stream_free (st);

  /* unbounded video cut in the middle of a frame */
  st = stream_new (FALSE);
  stream_add_frames (st, 0, 6);
  stream_add_video_part (st, 7, 0, 1);
  dashcam_ts_scan (st->data->data, st->data->len, &scan);
  fail_unless_equals_uint64 (scan.n_packets, 2 + 7 * 5 + 2);
  fail_unless_equals_uint64 (scan.clean_length, video_start (st, 7));
  fail_unless_equals_int (scan.random_access_points, 2);
  check_span (&scan, 7);
  stream_free (st);
}

GST_END_TEST;

GST_START_TEST (test_scan_torn_audio)
{
  Stream *st;
  DashcamTsScan scan;
  guint64 audio7;

  /* audio frame 7 spans the start of video frame 8, and the file ends
   * before the audio frame does: cutting before video 8 would keep half
   * an audio frame */
  st = stream_new (FALSE);
  stream_add_frames (st, 0, 6);
  stream_add_video_part (st, 7, 0, 2);
  stream_add_audio_part (st, 7, 0, 0);
  audio7 = g_array_index (st->audio_starts, guint64, 7);
  stream_add_video_part (st, 8, 0, 2);
  dashcam_ts_scan (st->data->data, st->data->len, &scan);
  fail_unless_equals_uint64 (scan.n_packets, 2 + 7 * 5 + 3 + 1 + 3);
  fail_unless_equals_uint64 (scan.clean_length, video_start (st, 7));
  fail_unless (scan.clean_length <= audio7);
  fail_unless_equals_int (scan.random_access_points, 2);
  check_span (&scan, 7);

  /* the audio frame completes: the cut can move past it, to the next
   * video frame */
  stream_add_audio_part (st, 7, 1, 1);
  stream_add_video_part (st, 9, 0, 1);
  dashcam_ts_scan (st->data->data, st->data->len, &scan);
  fail_unless_equals_uint64 (scan.clean_length, video_start (st, 9));
  fail_unless_equals_int (scan.random_access_points, 2);
  check_span (&scan, 9);
  stream_free (st);

  /* bounded video, complete, followed by half an audio frame */
  st = stream_new (TRUE);
  stream_add_frames (st, 0, 6);
  stream_add_video_part (st, 7, 0, 2);
  stream_add_audio_part (st, 7, 0, 0);
  dashcam_ts_scan (st->data->data, st->data->len, &scan);
  fail_unless (scan.clean_length <= g_array_index (st->audio_starts, guint64,
          7));
  fail_unless_equals_uint64 (scan.clean_length, video_start (st, 7));
  check_span (&scan, 7);
  stream_free (st);
}

GST_END_TEST;

GST_START_TEST (test_scan_starts_mid_gop)
{
  Stream *st = stream_new (FALSE);
  DashcamTsScan scan;
  DashcamTsParser p;
  DashcamTsPacketInfo info;

  /* frames 3 and 4 cannot be decoded: time starts at key frame 5 */
  stream_add_frames (st, 3, 12);
  dashcam_ts_scan (st->data->data, st->data->len, &scan);
  fail_unless_equals_uint64 (scan.clean_length, video_start (st, 9));
  fail_unless_equals_int (scan.random_access_points, 2);
  check_span (&scan, 12 - 5);

  /* first_pts is frame 5's, on the parser's clock */
  dashcam_ts_parser_init (&p);
  dashcam_ts_parser_parse (&p, st->data->data, &info);
  dashcam_ts_parser_parse (&p, st->data->data + 188, &info);
  dashcam_ts_parser_parse (&p, st->data->data + video_start (st, 0), &info);
  fail_if (info.random_access);
  fail_unless_equals_uint64 (scan.first_pts - info.pts,
      DASHCAM_MPEGTIME_TO_NS (frame_pts (5) + WRAP) -
      DASHCAM_MPEGTIME_TO_NS (frame_pts (3) + WRAP));
  stream_free (st);

  /* no key frame at all */
  st = stream_new (FALSE);
  stream_add_frames (st, 1, 4);
  dashcam_ts_scan (st->data->data, st->data->len, &scan);
  fail_unless_equals_int (scan.random_access_points, 0);
  fail_if (scan.has_time);
  stream_free (st);
}

GST_END_TEST;

GST_START_TEST (test_scan_stops_at_garbage)
{
  Stream *st = stream_new (TRUE);
  DashcamTsScan scan;
  guint64 cut;

  stream_add_frames (st, 0, 5);
  cut = st->data->len;
  stream_add_frames (st, 6, 9);
  st->data->data[cut] = 0x00;

  dashcam_ts_scan (st->data->data, st->data->len, &scan);
  fail_unless_equals_uint64 (scan.n_packets, cut / 188);
  fail_unless_equals_uint64 (scan.clean_length, cut);
  fail_unless_equals_int (scan.random_access_points, 2);
  check_span (&scan, 6);
  stream_free (st);
}

GST_END_TEST;

/* ---------------------------------------------------------------------- */
/* Real muxer output */

static gboolean
have_encoder (void)
{
  const gchar *names[] = { "videotestsrc", "x264enc", "h264parse",
    "mpegtsmux", "filesink"
  };
  gboolean ok = TRUE;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (names); i++) {
    GstElementFactory *f = gst_element_factory_find (names[i]);

    if (f == NULL) {
      g_print ("SKIP: element %s is not installed: tests on real "
          "x264enc ! mpegtsmux output do not run\n", names[i]);
      ok = FALSE;
    } else {
      gst_object_unref (f);
    }
  }
  return ok;
}

/* Encodes @frames frames of 30 fps video, a key frame every @key_int, to
 * a TS file and returns its contents. */
static GBytes *
encode_ts (guint frames, guint key_int)
{
  GError *err = NULL;
  gchar *dir = g_dir_make_tmp ("dashcam-ts-XXXXXX", &err);
  gchar *path, *desc, *contents;
  GstElement *pipeline;
  GstBus *bus;
  GstMessage *msg;
  gsize len;

  g_assert_no_error (err);
  path = g_build_filename (dir, "in.ts", NULL);
  desc = g_strdup_printf ("videotestsrc num-buffers=%u ! "
      "video/x-raw,format=I420,width=160,height=120,framerate=30/1 ! "
      "x264enc key-int-max=%u ! h264parse ! mpegtsmux ! "
      "filesink location=\"%s\"", frames, key_int, path);
  pipeline = gst_parse_launch (desc, &err);
  g_assert_no_error (err);
  fail_unless (pipeline != NULL);

  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  bus = gst_element_get_bus (pipeline);
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "encoding timed out");
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);

  g_file_get_contents (path, &contents, &len, &err);
  g_assert_no_error (err);
  g_unlink (path);
  g_rmdir (dir);
  g_free (desc);
  g_free (path);
  g_free (dir);
  return g_bytes_new_take (contents, len);
}

GST_START_TEST (test_scan_real_file)
{
  GBytes *bytes = encode_ts (60, 15);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  DashcamTsScan scan;
  gint64 span;

  fail_unless (len > 0 && len % 188 == 0, "%" G_GSIZE_FORMAT " bytes", len);
  dashcam_ts_scan (data, len, &scan);
  fail_unless_equals_uint64 (scan.n_packets, len / 188);
  fail_unless_equals_int (scan.random_access_points, 4);
  fail_unless (scan.has_time);
  span = (gint64) (scan.end_pts - scan.first_pts);
  fail_unless (ABS (span - 2 * GST_SECOND) <= GST_SECOND / 30,
      "%" G_GINT64_FORMAT " ns", span);
  /* mpegtsmux bounds its video PES: the complete file is kept whole */
  fail_unless_equals_uint64 (scan.clean_length, len);
  g_bytes_unref (bytes);
}

GST_END_TEST;

GST_START_TEST (test_scan_real_file_truncated)
{
  GBytes *bytes = encode_ts (60, 15);
  gsize len, off, cut = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  DashcamTsParser p;
  DashcamTsPacketInfo info;
  guint n_ra = 0;
  guint64 first_pts = 0, ra_pts = 0;
  DashcamTsScan scan;
  gint64 span;

  /* cut 1000 bytes into the fourth key frame */
  dashcam_ts_parser_init (&p);
  for (off = 0; off + 188 <= len; off += 188) {
    dashcam_ts_parser_parse (&p, data + off, &info);
    if (info.random_access) {
      if (n_ra == 0)
        first_pts = info.pts;
      if (++n_ra == 4) {
        cut = off;
        ra_pts = info.pts;
        break;
      }
    }
  }
  fail_unless_equals_int (n_ra, 4);

  dashcam_ts_scan (data, cut + 1000, &scan);
  fail_unless_equals_uint64 (scan.n_packets, (cut + 1000) / 188);
  fail_unless_equals_uint64 (scan.clean_length, cut);
  fail_unless_equals_int (scan.random_access_points, 3);
  fail_unless_equals_uint64 (scan.first_pts - first_pts, 0);
  /* up to the key frame, give or take a frame */
  span = (gint64) (scan.end_pts - scan.first_pts);
  fail_unless (ABS (span - (gint64) (ra_pts - first_pts)) <= GST_SECOND / 30,
      "%" G_GINT64_FORMAT " ns", span);
  fail_unless (ABS (span - 1500 * GST_MSECOND) <= GST_SECOND / 30,
      "%" G_GINT64_FORMAT " ns", span);
  g_bytes_unref (bytes);
}

GST_END_TEST;

static Suite *
ts_suite (void)
{
  Suite *s = suite_create ("ts");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_pat_pmt);
  tcase_add_test (tc, test_psi_edge_cases);
  tcase_add_test (tc, test_null_packets_never_primary);
  tcase_add_test (tc, test_random_access_indicator);
  tcase_add_test (tc, test_h264_access_points);
  tcase_add_test (tc, test_h265_access_points);
  tcase_add_test (tc, test_mpeg2_and_audio_access_points);
  tcase_add_test (tc, test_pts_dts);
  tcase_add_test (tc, test_unwrap);
  tcase_add_test (tc, test_pts_wrap_in_stream);
  tcase_add_test (tc, test_pts_jumps_back_never_wrap);
  tcase_add_test (tc, test_find_sync);
  tcase_add_test (tc, test_scan_complete);
  tcase_add_test (tc, test_scan_torn_packet);
  tcase_add_test (tc, test_scan_torn_video);
  tcase_add_test (tc, test_scan_torn_audio);
  tcase_add_test (tc, test_scan_starts_mid_gop);
  tcase_add_test (tc, test_scan_stops_at_garbage);
  if (have_encoder ()) {
    tcase_add_test (tc, test_scan_real_file);
    tcase_add_test (tc, test_scan_real_file_truncated);
  }
  return s;
}

GST_CHECK_MAIN (ts);
