/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* libFuzzer harness: the TS parser, the recovery scan and the segmenter.
 *
 * Input: 2 bytes of settings, then a TS byte stream (the seeds are real
 * x264enc ! mpegtsmux output).
 *   byte 0: bits 0-1 target duration (0, 100 ms, 1 s, 2 s),
 *           bits 2-3 max bytes (0, 8, 64, 1000 packets),
 *           bit 4 buffer running times, bit 5 a split request midway
 *   byte 1: seed of the chunk sizes
 *
 * Checked besides memory safety and UB: every write is whole packets,
 * every segment starts with the PAT and PMT when the stream has them,
 * segment durations and start times stay sane, the scan's clean length
 * is whole packets within the data, and a stream of whole packets gives
 * the same segments whatever the chunk sizes. */

#include "fuzz-common.h"

#include "dashcamsegmenter.h"

#define PKT DASHCAM_TS_PACKET_SIZE

typedef struct
{
  DashcamSegmenter seg;
  GByteArray *out;              /* everything written while open */
  GArray *splits;               /* gsize: offset in @out of each split */
  gboolean expect_tables;
  guint64 max_span;             /* longest possible duration */
} Run;

static void
on_write (gpointer user_data, gboolean open, const guint8 * data, gsize len)
{
  Run *run = user_data;
  gsize i;

  FUZZ_CHECK (len > 0 && len % PKT == 0, "write of %zu bytes", len);
  for (i = 0; i < len; i += PKT)
    FUZZ_CHECK (data[i] == DASHCAM_TS_SYNC_BYTE, "packet without sync byte");
  FUZZ_CHECK (open == run->seg.open, "open flag");
  if (run->expect_tables) {
    guint16 pid = ((data[1] & 0x1f) << 8) | data[2];

    FUZZ_CHECK (pid == DASHCAM_TS_PID_PAT, "segment starts with PID %u",
        pid);
    run->expect_tables = FALSE;
  }
  if (open)
    g_byte_array_append (run->out, data, len);
}

static void
on_split (gpointer user_data, const DashcamSplitPoint * point)
{
  Run *run = user_data;
  gsize at = run->out->len;

  /* the segment that ends here: its duration cannot exceed the stream's */
  FUZZ_CHECK (dashcam_segmenter_current_duration (&run->seg) <= run->max_span,
      "duration %" G_GUINT64_FORMAT " longer than possible (%" G_GUINT64_FORMAT
      ")", dashcam_segmenter_current_duration (&run->seg), run->max_span);
  run->expect_tables = run->seg.parser.have_pat && run->seg.parser.have_pmt;
  g_array_append_val (run->splits, at);
}

/* A PRNG for the chunk sizes, so that an input is reproducible. */
static guint32
next_rand (guint32 * state)
{
  *state = *state * 1103515245u + 12345u;
  return *state >> 8;
}

static void
run_init (Run * run, guint8 settings)
{
  static const guint64 durations[] = { 0, 100 * GST_MSECOND, GST_SECOND,
    2 * GST_SECOND
  };
  static const guint64 sizes[] = { 0, 8 * PKT, 64 * PKT, 1000 * PKT };
  DashcamSegmenterFuncs funcs = { on_write, on_split };

  memset (run, 0, sizeof (*run));
  dashcam_segmenter_init (&run->seg, &funcs, run);
  dashcam_segmenter_set_limits (&run->seg, durations[settings & 3],
      sizes[(settings >> 2) & 3]);
  run->out = g_byte_array_new ();
  run->splits = g_array_new (FALSE, FALSE, sizeof (gsize));
}

static void
run_clear (Run * run)
{
  g_byte_array_unref (run->out);
  g_array_unref (run->splits);
}

/* Each timestamp moves the unwrapped clock by less than 2^32 ticks, and a
 * packet carries two at most: no duration can be longer than that. */
static guint64
max_span (gsize len)
{
  return (2 * (len / PKT + 1) + 1) * DASHCAM_MPEGTIME_TO_NS (G_MAXUINT32);
}

static void
check_scan (const guint8 * data, gsize len)
{
  DashcamTsScan scan;

  dashcam_ts_scan (data, len, &scan);
  FUZZ_CHECK (scan.n_packets * PKT <= len, "n_packets");
  FUZZ_CHECK (scan.clean_length <= scan.n_packets * PKT, "clean_length %"
      G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " packets",
      scan.clean_length, scan.n_packets);
  FUZZ_CHECK (scan.clean_length % PKT == 0, "clean_length %" G_GUINT64_FORMAT,
      scan.clean_length);
  /* what recovery records as the duration of the file */
  if (scan.has_time && scan.end_pts > scan.first_pts)
    FUZZ_CHECK (scan.end_pts - scan.first_pts <= max_span (len),
        "scanned duration %" G_GUINT64_FORMAT " longer than possible",
        scan.end_pts - scan.first_pts);
  (void) dashcam_ts_find_sync (data, len);
}

/* Feeds @data in one piece or in chunks of varied sizes. */
static void
feed (Run * run, const guint8 * data, gsize len, guint8 settings,
    guint32 seed, gboolean chunked)
{
  gsize pos = 0;
  guint n = 0;

  while (pos < len) {
    gsize chunk = len - pos;
    GstClockTime rt = GST_CLOCK_TIME_NONE;

    if (chunked) {
      static const gsize bases[] = { 1, 187, 188, 189, 376, 1316, 4096 };
      guint32 r = next_rand (&seed);

      chunk = MIN (chunk, bases[r % G_N_ELEMENTS (bases)] + (r >> 12) % 64);
    }
    /* running times as mpegtsmux stamps them: increasing, with holes */
    if ((settings & 0x10) && (n % 3) != 2)
      rt = n * 20 * GST_MSECOND;
    if ((settings & 0x20) && pos <= len / 2 && pos + chunk > len / 2)
      dashcam_segmenter_request_split (&run->seg);
    dashcam_segmenter_push (&run->seg, data + pos, chunk, rt);
    if (run->seg.open && run->seg.have_rt_offset)
      (void) dashcam_segmenter_pts_to_running_time (&run->seg,
          run->seg.max_pts);
    pos += chunk;
    n++;
  }
  dashcam_segmenter_finish (&run->seg);
}

static gboolean
whole_packets (const guint8 * data, gsize len)
{
  gsize off;

  if (len % PKT != 0)
    return FALSE;
  for (off = 0; off < len; off += PKT) {
    if (data[off] != DASHCAM_TS_SYNC_BYTE)
      return FALSE;
  }
  return TRUE;
}

int
LLVMFuzzerTestOneInput (const uint8_t * input, size_t size)
{
  const guint8 *data = input + 2;
  gsize len;
  guint8 settings;
  guint32 seed;
  Run a, b;

  if (size < 2)
    return 0;
  settings = input[0];
  seed = input[1];
  len = size - 2;

  check_scan (data, len);

  run_init (&a, settings);
  a.max_span = max_span (len);
  feed (&a, data, len, settings, seed, TRUE);

  /* without buffer timestamps, a clean stream cut anywhere gives the same
   * segments as in one piece */
  if (!(settings & 0x30) && whole_packets (data, len)) {
    run_init (&b, settings);
    b.max_span = a.max_span;
    feed (&b, data, len, settings, seed, FALSE);
    FUZZ_CHECK (a.out->len == b.out->len && (a.out->len == 0
            || memcmp (a.out->data, b.out->data, a.out->len) == 0),
        "chunked output differs (%u vs %u bytes)", a.out->len, b.out->len);
    FUZZ_CHECK (a.splits->len == b.splits->len && (a.splits->len == 0
            || memcmp (a.splits->data, b.splits->data,
                a.splits->len * sizeof (gsize)) == 0),
        "chunked splits differ (%u vs %u)", a.splits->len, b.splits->len);
    run_clear (&b);
  }
  run_clear (&a);
  return 0;
}
