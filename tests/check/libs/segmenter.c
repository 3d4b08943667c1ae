/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The TS segmenter on real x264enc ! mpegtsmux output, fed in chunks of
 * any size: where it splits, what each segment starts with, and that
 * nothing is lost, reordered or invented on the way. */

#include <gst/check/gstcheck.h>

#include <string.h>

#include "dashcamsegmenter.h"

#define PKT DASHCAM_TS_PACKET_SIZE

/* one frame at 30 fps */
#define FRAME_NS (GST_SECOND / 30)

static const gsize odd_sizes[] = { 1, 187, 189, 1000, 4096 };

/* ---------------------------------------------------------------------- */
/* Input: real muxer output, and what it holds according to this file's
 * own reading of it */

typedef struct
{
  gsize offset;
  gsize len;
  GstClockTime running_time;
} Chunk;

typedef struct
{
  GByteArray *data;
  GArray *chunks;               /* Chunk: the buffers mpegtsmux pushed */
  guint n_packets;
  guint16 pmt_pid;
  guint16 video_pid;
  GArray *ra;                   /* guint: packet index of each key frame */
  GArray *ra_pts;               /* guint64: its 33-bit PTS */
} Input;

static guint16
packet_pid (const guint8 * p)
{
  return ((p[1] & 0x1f) << 8) | p[2];
}

static gboolean
packet_pusi (const guint8 * p)
{
  return (p[1] & 0x40) != 0;
}

static gboolean
packet_rai (const guint8 * p)
{
  return (p[3] & 0x20) && p[4] > 0 && (p[5] & 0x40);
}

static const guint8 *
packet_payload (const guint8 * p)
{
  gsize off = 4;

  if (p[3] & 0x20)
    off += 1 + p[4];
  return off < PKT ? p + off : NULL;
}

static guint64
pes_pts (const guint8 * pes)
{
  const guint8 *t = pes + 9;

  fail_unless (pes[0] == 0 && pes[1] == 0 && pes[2] == 1 && (pes[7] & 0x80));
  return ((guint64) ((t[0] >> 1) & 7) << 30) | ((guint64) t[1] << 22) |
      ((guint64) (t[2] >> 1) << 15) | ((guint64) t[3] << 7) | (t[4] >> 1);
}

static void
on_handoff (GstElement * sink, GstBuffer * buf, GstPad * pad, Input * in)
{
  GstEvent *ev = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  const GstSegment *segment;
  Chunk c;
  GstMapInfo map;

  fail_unless (ev != NULL);
  gst_event_parse_segment (ev, &segment);
  c.offset = in->data->len;
  c.len = gst_buffer_get_size (buf);
  c.running_time = gst_segment_to_running_time (segment, GST_FORMAT_TIME,
      GST_BUFFER_DTS_OR_PTS (buf));
  gst_event_unref (ev);

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  g_byte_array_append (in->data, map.data, map.size);
  gst_buffer_unmap (buf, &map);
  g_array_append_val (in->chunks, c);
}

static void
input_analyse (Input * in)
{
  guint i;

  fail_unless (in->data->len % PKT == 0);
  in->n_packets = in->data->len / PKT;
  for (i = 0; i < in->n_packets; i++) {
    const guint8 *p = in->data->data + i * PKT;
    const guint8 *payload = packet_payload (p);
    guint16 pid = packet_pid (p);

    fail_unless_equals_int (p[0], 0x47);
    if (pid == 0 && in->pmt_pid == 0) {
      /* pointer field, then the first program of the PAT */
      in->pmt_pid = ((payload[1 + 10] & 0x1f) << 8) | payload[1 + 11];
    } else if (pid == in->pmt_pid && in->pmt_pid && in->video_pid == 0) {
      /* first elementary stream of the PMT */
      guint pil = ((payload[1 + 10] & 0x0f) << 8) | payload[1 + 11];

      fail_unless_equals_int (payload[1 + 12 + pil], 0x1b);
      in->video_pid = ((payload[1 + 13 + pil] & 0x1f) << 8) |
          payload[1 + 14 + pil];
    } else if (pid == in->video_pid && packet_pusi (p) && packet_rai (p)) {
      guint64 pts = pes_pts (payload);

      g_array_append_val (in->ra, i);
      g_array_append_val (in->ra_pts, pts);
    }
  }
  fail_unless (in->pmt_pid != 0);
  fail_unless (in->video_pid != 0);
}

static gboolean
have_encoder (void)
{
  const gchar *names[] = { "videotestsrc", "x264enc", "h264parse",
    "mpegtsmux", "fakesink"
  };
  gboolean ok = TRUE;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (names); i++) {
    GstElementFactory *f = gst_element_factory_find (names[i]);

    if (f == NULL) {
      g_print ("SKIP: element %s is not installed: the segmenter tests "
          "need real x264enc ! mpegtsmux output and do not run\n", names[i]);
      ok = FALSE;
    } else {
      gst_object_unref (f);
    }
  }
  return ok;
}

/* Encodes @frames frames of 30 fps video, a key frame every @key_int. */
static Input *
encode (guint frames, guint key_int, const gchar * x264_options)
{
  Input *in = g_new0 (Input, 1);
  GError *err = NULL;
  GstElement *pipeline, *sink;
  GstMessage *msg;
  GstBus *bus;
  gchar *desc;

  in->data = g_byte_array_new ();
  in->chunks = g_array_new (FALSE, FALSE, sizeof (Chunk));
  in->ra = g_array_new (FALSE, FALSE, sizeof (guint));
  in->ra_pts = g_array_new (FALSE, FALSE, sizeof (guint64));

  desc = g_strdup_printf ("videotestsrc num-buffers=%u ! "
      "video/x-raw,format=I420,width=160,height=120,framerate=30/1 ! "
      "x264enc key-int-max=%u %s ! h264parse ! mpegtsmux ! "
      "fakesink name=sink signal-handoffs=true sync=false", frames, key_int,
      x264_options ? x264_options : "");
  pipeline = gst_parse_launch (desc, &err);
  g_assert_no_error (err);
  g_free (desc);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), in);
  gst_object_unref (sink);

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

  input_analyse (in);
  fail_unless_equals_int (in->ra->len, (frames + key_int - 1) / key_int);
  return in;
}

static void
input_free (Input * in)
{
  g_byte_array_unref (in->data);
  g_array_unref (in->chunks);
  g_array_unref (in->ra);
  g_array_unref (in->ra_pts);
  g_free (in);
}

static guint
ra_packet (Input * in, guint nth)
{
  return g_array_index (in->ra, guint, nth);
}

/* ---------------------------------------------------------------------- */
/* Running the segmenter */

typedef struct
{
  gsize offset;                 /* in Run.out */
  DashcamSplitPoint point;
  guint64 duration_before;      /* of the segment that ended here */
  guint64 ending;               /* dashcam_segmenter_ending_duration () */
} Split;

typedef struct
{
  DashcamSegmenter seg;
  GByteArray *pre;              /* written with open FALSE */
  GByteArray *out;              /* written with open TRUE */
  GArray *splits;
  gboolean pre_after_open;
} Run;

static void
on_write (gpointer user_data, gboolean open, const guint8 * data, gsize len)
{
  Run *r = user_data;

  fail_unless (len > 0);
  if (open) {
    fail_unless (r->splits->len > 0, "open data before a split");
    g_byte_array_append (r->out, data, len);
  } else {
    if (r->out->len > 0)
      r->pre_after_open = TRUE;
    g_byte_array_append (r->pre, data, len);
  }
}

static void
on_split (gpointer user_data, const DashcamSplitPoint * point)
{
  Run *r = user_data;
  Split s;

  s.offset = r->out->len;
  s.point = *point;
  s.duration_before = dashcam_segmenter_current_duration (&r->seg);
  s.ending = dashcam_segmenter_ending_duration (&r->seg, point);
  g_array_append_val (r->splits, s);
}

static Run *
run_new (guint64 target, guint64 max_bytes)
{
  const DashcamSegmenterFuncs funcs = { on_write, on_split };
  Run *r = g_new0 (Run, 1);

  dashcam_segmenter_init (&r->seg, &funcs, r);
  dashcam_segmenter_set_limits (&r->seg, target, max_bytes);
  r->pre = g_byte_array_new ();
  r->out = g_byte_array_new ();
  r->splits = g_array_new (FALSE, FALSE, sizeof (Split));
  return r;
}

static void
run_free (Run * r)
{
  g_byte_array_unref (r->pre);
  g_byte_array_unref (r->out);
  g_array_unref (r->splits);
  g_free (r);
}

static Split *
run_split (Run * r, guint nth)
{
  return &g_array_index (r->splits, Split, nth);
}

/* Pushes @len bytes in chunks cycling through @sizes (0: all at once). */
static void
push_chunked (Run * r, const guint8 * data, gsize len, const gsize * sizes,
    guint n_sizes, GstClockTime running_time)
{
  gsize pos = 0;
  guint i = 0;

  while (pos < len) {
    gsize n = n_sizes ? sizes[i++ % n_sizes] : len;

    n = MIN (n, len - pos);

    dashcam_segmenter_push (&r->seg, data + pos, n, running_time);
    pos += n;
  }
}

static Run *
run_chunked (const guint8 * data, gsize len, guint64 target,
    guint64 max_bytes, const gsize * sizes, guint n_sizes)
{
  Run *r = run_new (target, max_bytes);

  push_chunked (r, data, len, sizes, n_sizes, GST_CLOCK_TIME_NONE);
  dashcam_segmenter_finish (&r->seg);
  return r;
}

/* Every segment starts with PAT, PMT, then the key frame's first packet. */
static void
check_segment_starts (Run * r, Input * in)
{
  guint i;

  fail_unless (r->splits->len > 0);
  for (i = 0; i < r->splits->len; i++) {
    const guint8 *p = r->out->data + run_split (r, i)->offset;

    fail_unless (run_split (r, i)->offset % PKT == 0);
    fail_unless (run_split (r, i)->offset + 3 * PKT <= r->out->len);
    fail_unless_equals_int (p[0], 0x47);
    fail_unless_equals_int (packet_pid (p), 0);
    fail_unless_equals_int (packet_pid (p + PKT), in->pmt_pid);
    fail_unless_equals_int (packet_pid (p + 2 * PKT), in->video_pid);
    fail_unless (packet_pusi (p + 2 * PKT));
    fail_unless (packet_rai (p + 2 * PKT), "segment %u does not start with "
        "a random-access point", i);
  }
}

/* Checks that what was written (pre, then out) is @data with nothing but
 * copies of the latest PAT and PMT added, and only at segment starts.
 * Returns the index in @data of the packet that starts each segment. */
static GArray *
check_output_is_input (Run * r, Input * in, const guint8 * data, gsize len)
{
  GByteArray *all = g_byte_array_new ();
  GArray *starts = g_array_new (FALSE, FALSE, sizeof (guint));
  const guint8 *last_pat = NULL, *last_pmt = NULL;
  guint n_in = len / PKT, n_out, i = 0, o, next_split = 0, added = 0;

  g_byte_array_append (all, r->pre->data, r->pre->len);
  g_byte_array_append (all, r->out->data, r->out->len);
  fail_unless (all->len % PKT == 0, "%u bytes written", all->len);
  n_out = all->len / PKT;

  for (o = 0; o < n_out; o++) {
    const guint8 *op = all->data + o * PKT;
    gsize seg_start = G_MAXSIZE;

    /* where the next segment starts, in packets of `all` */
    if (next_split < r->splits->len)
      seg_start = (r->pre->len + run_split (r, next_split)->offset) / PKT;

    if (i < n_in && memcmp (op, data + i * PKT, PKT) == 0) {
      if (packet_pid (op) == 0)
        last_pat = data + i * PKT;
      else if (packet_pid (op) == in->pmt_pid)
        last_pmt = data + i * PKT;
      i++;
    } else {
      const guint8 *want = packet_pid (op) == 0 ? last_pat : last_pmt;

      fail_unless (o == seg_start || o == seg_start + 1,
          "output packet %u (pid 0x%x) is not input packet %u", o,
          packet_pid (op), i);
      fail_unless (want != NULL && memcmp (op, want, PKT) == 0,
          "packet %u at a segment start is not the latest PAT/PMT", o);
      added++;
    }
    if (o == seg_start + 2) {
      guint idx = i - 1;

      fail_unless (packet_rai (data + idx * PKT));
      g_array_append_val (starts, idx);
      next_split++;
    }
  }
  fail_unless_equals_int (i, n_in);
  fail_unless_equals_int (next_split, r->splits->len);
  fail_unless (added <= 2 * r->splits->len);
  g_byte_array_unref (all);
  return starts;
}

/* Where splits belong for @target, from the key frames' PTS. */
static GArray *
expected_starts (Input * in, guint64 target)
{
  GArray *want = g_array_new (FALSE, FALSE, sizeof (guint));
  guint64 start_pts = 0;
  guint i;

  for (i = 0; i < in->ra->len; i++) {
    guint64 pts = DASHCAM_MPEGTIME_TO_NS (g_array_index (in->ra_pts,
            guint64, i));

    if (i == 0 || pts + DASHCAM_SPLIT_TOLERANCE >= start_pts + target) {
      g_array_append_val (want, g_array_index (in->ra, guint, i));
      start_pts = pts;
    }
  }
  return want;
}

static void
check_starts (GArray * got, const guint * want, guint n_want)
{
  guint i;

  fail_unless_equals_int (got->len, n_want);
  for (i = 0; i < n_want; i++)
    fail_unless_equals_int (g_array_index (got, guint, i), want[i]);
}

/* the segmenter's PTS of split @nth relative to the first, against the
 * input's */
static void
check_split_pts (Run * r, Input * in, GArray * starts)
{
  guint i, j;

  for (i = 0; i < r->splits->len; i++) {
    guint packet = g_array_index (starts, guint, i);
    guint64 pts0 = 0, pts = 0;
    gint64 diff;

    for (j = 0; j < in->ra->len; j++) {
      if (ra_packet (in, j) == g_array_index (starts, guint, 0))
        pts0 = g_array_index (in->ra_pts, guint64, j);
      if (ra_packet (in, j) == packet)
        pts = g_array_index (in->ra_pts, guint64, j);
    }
    diff = (gint64) (run_split (r, i)->point.pts - run_split (r, 0)->point.pts)
        - (gint64) DASHCAM_MPEGTIME_TO_NS (pts - pts0);
    fail_unless (ABS (diff) <= 1, "split %u: pts off by %" G_GINT64_FORMAT,
        i, diff);
    if (i > 0)
      fail_unless (run_split (r, i)->point.pts >
          run_split (r, i - 1)->point.pts);
  }
}

static void
check_close (guint64 a, guint64 b, guint64 tolerance, const gchar * what)
{
  fail_unless (a + tolerance >= b && a <= b + tolerance,
      "%s: %" GST_TIME_FORMAT " != %" GST_TIME_FORMAT, what,
      GST_TIME_ARGS (a), GST_TIME_ARGS (b));
}

/* ---------------------------------------------------------------------- */

GST_START_TEST (test_split_on_target_duration)
{
  Input *in = encode (300, 15, NULL);
  Run *r;
  GArray *starts, *want;
  guint i;

  r = run_chunked (in->data->data, in->data->len, 2 * GST_SECOND, 0,
      odd_sizes, G_N_ELEMENTS (odd_sizes));

  /* 10 s in key frames every 0.5 s: a segment every fourth key frame */
  fail_unless_equals_int (r->splits->len, 5);
  check_segment_starts (r, in);
  starts = check_output_is_input (r, in, in->data->data, in->data->len);
  {
    const guint want_idx[] = { ra_packet (in, 0), ra_packet (in, 4),
      ra_packet (in, 8), ra_packet (in, 12), ra_packet (in, 16)
    };

    check_starts (starts, want_idx, G_N_ELEMENTS (want_idx));
  }
  want = expected_starts (in, 2 * GST_SECOND);
  check_starts (starts, (guint *) want->data, want->len);
  g_array_unref (want);
  check_split_pts (r, in, starts);

  /* the stream starts with PAT, PMT, key frame: nothing before it */
  fail_unless_equals_int (r->pre->len, 0);
  fail_unless_equals_uint64 (r->seg.skipped_bytes, 0);

  for (i = 0; i < r->splits->len; i++) {
    Split *s = run_split (r, i);

    /* 2 s apart, and no buffer timestamps: running time counts from the
     * first frame */
    check_close (s->point.pts - run_split (r, 0)->point.pts,
        i * 2 * GST_SECOND, GST_MSECOND, "split pts");
    fail_unless_equals_uint64 (s->point.running_time,
        s->point.pts - run_split (r, 0)->point.pts);
    fail_unless_equals_uint64 (dashcam_segmenter_pts_to_running_time
        (&r->seg, s->point.pts), s->point.running_time);
    /* the split callback still sees the segment that ends */
    if (i == 0) {
      fail_unless_equals_uint64 (s->duration_before, 0);
    } else {
      check_close (s->duration_before, 2 * GST_SECOND, FRAME_NS,
          "duration of the segment ending");
    }
  }
  fail_unless_equals_uint64 (run_split (r, 0)->point.running_time, 0);

  /* the last segment: frames 240 to 299 */
  check_close (dashcam_segmenter_current_duration (&r->seg), 2 * GST_SECOND,
      FRAME_NS, "duration of the last segment");

  g_array_unref (starts);
  run_free (r);
  input_free (in);
}

GST_END_TEST;

GST_START_TEST (test_chunk_sizes_do_not_matter)
{
  Input *in = encode (300, 15, NULL);
  const gsize one[] = { 1 }, packet[] = { PKT }, big[] = { 65536 };
  Run *ref, *r;
  guint i, k;

  ref = run_chunked (in->data->data, in->data->len, 2 * GST_SECOND, 0,
      packet, 1);
  fail_unless_equals_int (ref->splits->len, 5);

  for (k = 0; k < 4; k++) {
    const gsize *sizes = k == 0 ? one : k == 1 ? big : k == 2 ? odd_sizes :
        NULL;
    guint n = k == 2 ? G_N_ELEMENTS (odd_sizes) : k == 3 ? 0 : 1;

    r = run_chunked (in->data->data, in->data->len, 2 * GST_SECOND, 0,
        sizes, n);
    fail_unless_equals_int (r->out->len, ref->out->len);
    fail_unless (memcmp (r->out->data, ref->out->data, r->out->len) == 0);
    fail_unless_equals_int (r->splits->len, ref->splits->len);
    for (i = 0; i < r->splits->len; i++) {
      fail_unless_equals_uint64 (run_split (r, i)->offset,
          run_split (ref, i)->offset);
      fail_unless_equals_uint64 (run_split (r, i)->point.pts,
          run_split (ref, i)->point.pts);
    }
    run_free (r);
  }
  run_free (ref);
  input_free (in);
}

GST_END_TEST;

/* For each segment: the first key frame at which it held max_bytes ends
 * it, no earlier one. */
static void
check_max_bytes_splits (Run * r, Input * in, guint64 max_bytes)
{
  guint i, j;

  for (i = 0; i + 1 < r->splits->len; i++) {
    gsize seg_off = run_split (r, i)->offset;
    gsize seg_len = run_split (r, i + 1)->offset - seg_off;

    fail_unless (seg_len >= max_bytes, "segment %u: %" G_GSIZE_FORMAT
        " bytes < %" G_GUINT64_FORMAT, i, seg_len, max_bytes);
    /* the key frames inside it came before the limit */
    for (j = seg_off + 3 * PKT; j < seg_off + seg_len; j += PKT) {
      const guint8 *p = r->out->data + j;

      if (packet_pid (p) == in->video_pid && packet_rai (p))
        fail_unless (j - seg_off < max_bytes, "segment %u holds %"
            G_GSIZE_FORMAT " bytes at a key frame, more than %"
            G_GUINT64_FORMAT ", and did not end", i, j - seg_off, max_bytes);
    }
  }
}

GST_START_TEST (test_split_on_max_bytes)
{
  Input *in = encode (300, 15, NULL);
  const gsize packet[] = { PKT };
  GArray *starts;
  Run *r;

  /* one packet at a time, as mpegtsmux pushes them */
  r = run_chunked (in->data->data, in->data->len, 0, 100000, packet, 1);
  fail_unless (r->splits->len >= 4, "%u segments", r->splits->len);
  check_segment_starts (r, in);
  starts = check_output_is_input (r, in, in->data->data, in->data->len);
  check_max_bytes_splits (r, in, 100000);
  check_split_pts (r, in, starts);
  g_array_unref (starts);
  run_free (r);

  /* the earlier of the two limits wins */
  r = run_chunked (in->data->data, in->data->len, GST_SECOND, 1000000,
      packet, 1);
  fail_unless_equals_int (r->splits->len, 10);
  run_free (r);

  input_free (in);
}

GST_END_TEST;

/* Regression test for a fixed bug (dashcamsegmenter.c, should_split()): the byte limit compares
 * seg->bytes, which only counts bytes already handed to the write callback.
 * Packets of the current input chunk that precede the key frame are not
 * counted yet, so with large chunks the split comes one key frame (GOP)
 * late: where a segment ends depends on how the input was chunked. */
GST_START_TEST (test_max_bytes_independent_of_chunking)
{
  Input *in = encode (300, 15, NULL);
  const gsize packet[] = { PKT }, page[] = { 4096 };
  GArray *ref_starts, *starts;
  guint64 max_bytes;
  Run *ref, *r;
  guint k;

  /* a limit reached exactly when the second key frame arrives */
  ref = run_chunked (in->data->data, in->data->len, 0, 0, packet, 1);
  fail_unless_equals_int (ref->splits->len, 1);
  {
    guint n = 0, j;

    for (j = 0; j < ref->out->len; j += PKT) {
      const guint8 *p = ref->out->data + j;

      if (packet_pid (p) == in->video_pid && packet_rai (p) && n++ == 1)
        break;
    }
    max_bytes = j;
  }
  run_free (ref);

  ref = run_chunked (in->data->data, in->data->len, 0, max_bytes, packet, 1);
  ref_starts = check_output_is_input (ref, in, in->data->data, in->data->len);
  fail_unless (ref_starts->len >= 2);
  fail_unless_equals_int (g_array_index (ref_starts, guint, 1),
      ra_packet (in, 1));
  check_max_bytes_splits (ref, in, max_bytes);

  for (k = 0; k < 2; k++) {
    r = run_chunked (in->data->data, in->data->len, 0, max_bytes,
        k == 0 ? page : NULL, k == 0 ? 1 : 0);
    starts = check_output_is_input (r, in, in->data->data, in->data->len);
    fail_unless (starts->len >= 2);
    fail_unless (g_array_index (starts, guint, 1) ==
        g_array_index (ref_starts, guint, 1), "in %s chunks the "
        "second segment starts at packet %u, not %u", k == 0 ? "4096-byte" :
        "one", g_array_index (starts, guint, 1),
        g_array_index (ref_starts, guint, 1));
    check_max_bytes_splits (r, in, max_bytes);
    fail_unless_equals_int (starts->len, ref_starts->len);
    g_array_unref (starts);
    run_free (r);
  }

  g_array_unref (ref_starts);
  run_free (ref);
  input_free (in);
}

GST_END_TEST;

GST_START_TEST (test_request_split)
{
  Input *in = encode (300, 15, NULL);
  gsize first = (ra_packet (in, 2) + 30) * PKT;
  GArray *starts;
  Run *r;

  /* no limits: one segment, however long */
  r = run_chunked (in->data->data, in->data->len, 0, 0, odd_sizes,
      G_N_ELEMENTS (odd_sizes));
  fail_unless_equals_int (r->splits->len, 1);
  run_free (r);

  /* a request before the first key frame changes nothing: that one starts
   * the first segment anyway */
  r = run_new (0, 0);
  dashcam_segmenter_request_split (&r->seg);
  push_chunked (r, in->data->data, first, odd_sizes,
      G_N_ELEMENTS (odd_sizes), GST_CLOCK_TIME_NONE);
  fail_unless_equals_int (r->splits->len, 1);

  /* in the middle of the third GOP: the fourth key frame starts the next
   * segment; asking twice is asking once */
  dashcam_segmenter_request_split (&r->seg);
  dashcam_segmenter_request_split (&r->seg);
  push_chunked (r, in->data->data + first, in->data->len - first, odd_sizes,
      G_N_ELEMENTS (odd_sizes), GST_CLOCK_TIME_NONE);
  dashcam_segmenter_finish (&r->seg);
  fail_unless_equals_int (r->splits->len, 2);
  check_segment_starts (r, in);
  starts = check_output_is_input (r, in, in->data->data, in->data->len);
  {
    const guint want[] = { ra_packet (in, 0), ra_packet (in, 3) };

    check_starts (starts, want, 2);
  }
  check_split_pts (r, in, starts);
  check_close (run_split (r, 1)->point.running_time, 1500 * GST_MSECOND,
      GST_MSECOND, "running time of the requested split");
  g_array_unref (starts);
  run_free (r);
  input_free (in);
}

GST_END_TEST;

/* @in's bytes with @n bytes of @garbage after every 50th packet */
static GByteArray *
insert_garbage (Input * in, const guint8 * garbage, gsize n, guint64 * total)
{
  GByteArray *dirty = g_byte_array_new ();
  guint i;

  *total = 0;
  for (i = 0; i < in->n_packets; i++) {
    g_byte_array_append (dirty, in->data->data + i * PKT, PKT);
    if (i % 50 == 49) {
      gsize len = 1 + (i / 50 * 37) % n;

      g_byte_array_append (dirty, garbage, len);
      *total += len;
    }
  }
  return dirty;
}

GST_START_TEST (test_garbage_skipped)
{
  Input *in = encode (300, 15, NULL);
  guint8 garbage[300];
  GByteArray *dirty;
  guint64 total;
  Run *clean, *r;
  GArray *starts;
  guint i;

  /* anything but a sync byte */
  for (i = 0; i < sizeof (garbage); i++) {
    garbage[i] = (i * 73 + 11) & 0xff;
    if (garbage[i] == 0x47)
      garbage[i] = 0x48;
  }
  dirty = insert_garbage (in, garbage, sizeof (garbage), &total);
  fail_unless (total > 1000);

  clean = run_chunked (in->data->data, in->data->len, 2 * GST_SECOND, 0,
      odd_sizes, G_N_ELEMENTS (odd_sizes));
  r = run_chunked (dirty->data, dirty->len, 2 * GST_SECOND, 0, odd_sizes,
      G_N_ELEMENTS (odd_sizes));
  fail_unless_equals_uint64 (r->seg.skipped_bytes, total);
  fail_unless_equals_int (r->pre->len, 0);
  fail_unless_equals_int (r->out->len, clean->out->len);
  fail_unless (memcmp (r->out->data, clean->out->data, r->out->len) == 0);
  fail_unless_equals_int (r->splits->len, 5);
  starts = check_output_is_input (r, in, in->data->data, in->data->len);
  g_array_unref (starts);

  /* garbage at the very start, and a partial packet at the end */
  run_free (r);
  r = run_new (2 * GST_SECOND, 0);
  push_chunked (r, garbage, 100, odd_sizes, G_N_ELEMENTS (odd_sizes),
      GST_CLOCK_TIME_NONE);
  push_chunked (r, in->data->data, in->data->len - 100, odd_sizes,
      G_N_ELEMENTS (odd_sizes), GST_CLOCK_TIME_NONE);
  dashcam_segmenter_finish (&r->seg);
  /* 100 bytes of garbage, and the 88 bytes of the partial packet */
  fail_unless_equals_uint64 (r->seg.skipped_bytes, 100 + (PKT - 100));
  fail_unless_equals_int (r->out->len, clean->out->len - PKT);
  fail_unless (memcmp (r->out->data, clean->out->data, r->out->len) == 0);

  run_free (r);
  run_free (clean);
  g_byte_array_unref (dirty);
  input_free (in);
}

GST_END_TEST;

/* Regression test for a fixed bug (dashcamsegmenter.c, dashcam_segmenter_push()): a run of
 * packets is accepted on the first byte of each packet alone. A garbage
 * byte equal to 0x47 (one random byte in 256 is) is taken for a packet:
 * it and the next 187 bytes (the real packet's first 187) are written as a
 * packet, and the real packet is lost. dashcam_ts_find_sync() would reject
 * it (no sync byte 188 bytes later) but is only used after a mismatch. The
 * whole input is pushed at once here, so the look-ahead is possible. */
GST_START_TEST (test_garbage_with_sync_bytes)
{
  Input *in = encode (300, 15, NULL);
  const guint8 garbage[] = { 0x47, 0x00, 0x13, 0x47, 0x47, 0x10 };
  GByteArray *dirty;
  guint64 total;
  Run *clean, *r;

  dirty = insert_garbage (in, garbage, sizeof (garbage), &total);
  clean = run_chunked (in->data->data, in->data->len, 2 * GST_SECOND, 0,
      NULL, 0);
  r = run_chunked (dirty->data, dirty->len, 2 * GST_SECOND, 0, NULL, 0);
  fail_unless_equals_uint64 (r->seg.skipped_bytes, total);
  fail_unless_equals_int (r->out->len, clean->out->len);
  fail_unless (memcmp (r->out->data, clean->out->data, r->out->len) == 0,
      "a garbage 0x47 byte was written as the start of a packet");

  run_free (r);
  run_free (clean);
  g_byte_array_unref (dirty);
  input_free (in);
}

GST_END_TEST;

/* Regression test for a fixed bug (same cause as test_garbage_with_sync_bytes): a packet cut
 * short in the middle of the stream (a lost write, a bad sector) is glued
 * to the start of the next packet and written as one; the next packet is
 * lost. skipped_bytes is documented to count partial packets. */
GST_START_TEST (test_partial_packet_mid_stream)
{
  Input *in = encode (300, 15, NULL);
  GByteArray *dirty = g_byte_array_new ();
  gsize cut;
  guint n = 1000;
  Run *r;

  /* a video packet in the middle of a frame, far from any split */
  while (packet_pid (in->data->data + n * PKT) != in->video_pid
      || packet_pusi (in->data->data + n * PKT)
      || packet_pid (in->data->data + (n + 1) * PKT) != in->video_pid)
    n++;
  fail_unless (n < 1100);
  cut = n * PKT;

  /* it loses its last 88 bytes */
  g_byte_array_append (dirty, in->data->data, cut + 100);
  g_byte_array_append (dirty, in->data->data + cut + PKT,
      in->data->len - cut - PKT);

  r = run_chunked (dirty->data, dirty->len, 2 * GST_SECOND, 0, NULL, 0);
  fail_unless_equals_uint64 (r->seg.skipped_bytes, 100);
  /* everything else arrives, unchanged */
  {
    GByteArray *want = g_byte_array_new ();
    Run *clean = run_chunked (in->data->data, cut, 2 * GST_SECOND, 0, NULL,
        0);
    gsize head = clean->out->len;

    fail_unless (r->out->len >= head);
    fail_unless (memcmp (r->out->data, clean->out->data, head) == 0);
    g_byte_array_append (want, in->data->data + cut + PKT,
        in->data->len - cut - PKT);
    /* the tail holds the remaining input packets, plus PAT/PMT copies at
     * later segment starts: at least the first 100 packets after the cut
     * come through byte for byte */
    fail_unless (r->out->len - head >= 100 * PKT);
    fail_unless (memcmp (r->out->data + head, want->data, 100 * PKT) == 0,
        "the packet after the partial one was not written "
        "intact");
    g_byte_array_unref (want);
    run_free (clean);
  }
  run_free (r);
  g_byte_array_unref (dirty);
  input_free (in);
}

GST_END_TEST;

GST_START_TEST (test_data_before_first_key_frame)
{
  Input *in = encode (300, 15, NULL);
  guint from = 40;
  const guint8 *data = in->data->data + from * PKT;
  gsize len = in->data->len - from * PKT;
  GArray *starts;
  Run *r;

  /* starting in the middle of the first GOP, before a PAT/PMT repeat */
  fail_unless (ra_packet (in, 0) < from && ra_packet (in, 1) > from);
  r = run_chunked (data, len, 2 * GST_SECOND, 0, odd_sizes,
      G_N_ELEMENTS (odd_sizes));

  /* everything up to the second key frame cannot be decoded alone */
  fail_unless_equals_int (r->pre->len, (ra_packet (in, 1) - from) * PKT);
  fail_unless (memcmp (r->pre->data, data, r->pre->len) == 0);
  fail_if (r->pre_after_open);
  fail_unless_equals_uint64 (run_split (r, 0)->offset, 0);
  check_segment_starts (r, in);

  starts = check_output_is_input (r, in, data, len);
  {
    guint want[] = { ra_packet (in, 1), ra_packet (in, 5), ra_packet (in, 9),
      ra_packet (in, 13), ra_packet (in, 17)
    };
    guint i;

    /* indexes into `data` */
    for (i = 0; i < G_N_ELEMENTS (want); i++)
      want[i] -= from;
    check_starts (starts, want, G_N_ELEMENTS (want));
  }
  /* running time counts from the first frame seen */
  fail_unless (run_split (r, 0)->point.running_time > 0);
  fail_unless (run_split (r, 0)->point.running_time < 500 * GST_MSECOND);
  check_close (run_split (r, 1)->point.running_time -
      run_split (r, 0)->point.running_time, 2 * GST_SECOND, GST_MSECOND,
      "running time between splits");

  g_array_unref (starts);
  run_free (r);
  input_free (in);
}

GST_END_TEST;

GST_START_TEST (test_finish_writes_held_tables)
{
  Input *in = encode (300, 15, NULL);
  guint psi = 0, i;
  Run *r;

  /* the first PAT repeat after the first key frame */
  for (i = ra_packet (in, 0) + 1; i < in->n_packets; i++) {
    if (packet_pid (in->data->data + i * PKT) == 0) {
      psi = i;
      break;
    }
  }
  fail_unless (psi > 0);
  fail_unless_equals_int (packet_pid (in->data->data + (psi + 1) * PKT),
      in->pmt_pid);

  /* the stream ends right after PAT and PMT, then 100 bytes of a packet */
  r = run_new (2 * GST_SECOND, 0);
  dashcam_segmenter_push (&r->seg, in->data->data, (psi + 2) * PKT + 100,
      GST_CLOCK_TIME_NONE);
  /* the tables wait: they may belong to the next segment */
  fail_unless_equals_int (r->out->len, psi * PKT);
  dashcam_segmenter_finish (&r->seg);
  fail_unless_equals_int (r->out->len, (psi + 2) * PKT);
  fail_unless (memcmp (r->out->data, in->data->data, r->out->len) == 0);
  fail_unless_equals_uint64 (r->seg.skipped_bytes, 100);
  fail_unless_equals_int (r->splits->len, 1);
  run_free (r);
  input_free (in);
}

GST_END_TEST;

/* Two recordings back to back (a muxer restarted): timestamps go back by
 * 10 s, and the first key frame of the second starts a segment at once */
GST_START_TEST (test_timestamps_go_back)
{
  Input *in = encode (300, 15, NULL);
  GByteArray *twice = g_byte_array_new ();
  GArray *starts;
  Run *r;
  guint i;

  g_byte_array_append (twice, in->data->data, in->data->len);
  g_byte_array_append (twice, in->data->data, in->data->len);
  r = run_chunked (twice->data, twice->len, 2 * GST_SECOND, 0, odd_sizes,
      G_N_ELEMENTS (odd_sizes));
  fail_unless_equals_int (r->splits->len, 10);
  check_segment_starts (r, in);
  starts = check_output_is_input (r, in, twice->data, twice->len);
  for (i = 0; i < 10; i++)
    fail_unless_equals_int (g_array_index (starts, guint, i),
        ra_packet (in, (i % 5) * 4) + (i < 5 ? 0 : in->n_packets));
  /* within each recording, 2 s apart */
  for (i = 1; i < 10; i++) {
    if (i == 5) {
      fail_unless (run_split (r, 5)->point.pts < run_split (r, 4)->point.pts);
      continue;
    }
    check_close (run_split (r, i)->point.pts - run_split (r, i - 1)->point.pts,
        2 * GST_SECOND, GST_MSECOND, "pts between splits");
  }
  /* running time goes on across the junction (the second recording's
   * frames follow the first's), and the segment before it ends with its
   * last frame (not ~2^64 ns: its end minus a start in another clock) */
  for (i = 0; i < 10; i++)
    check_close (run_split (r, i)->point.running_time, i * 2 * GST_SECOND,
        GST_MSECOND, "split running time");
  for (i = 1; i < 10; i++)
    check_close (run_split (r, i)->ending, 2 * GST_SECOND, GST_MSECOND,
        "duration of the segment before the split");
  check_close (dashcam_segmenter_current_duration (&r->seg), 2 * GST_SECOND,
      GST_MSECOND, "duration of the last segment");
  g_array_unref (starts);
  run_free (r);
  g_byte_array_unref (twice);
  input_free (in);
}

GST_END_TEST;

/* Feeds @in buffer by buffer, as mpegtsmux pushed them, with their
 * running times shifted by @rt_offset (or none at all). */
static Run *
run_buffers (Input * in, guint64 target, GstClockTimeDiff rt_offset,
    gboolean with_times)
{
  Run *r = run_new (target, 0);
  guint i;

  for (i = 0; i < in->chunks->len; i++) {
    Chunk *c = &g_array_index (in->chunks, Chunk, i);
    GstClockTime rt = GST_CLOCK_TIME_NONE;

    if (with_times && GST_CLOCK_TIME_IS_VALID (c->running_time))
      rt = c->running_time + rt_offset;
    dashcam_segmenter_push (&r->seg, in->data->data + c->offset, c->len, rt);
  }
  dashcam_segmenter_finish (&r->seg);
  return r;
}

/* Feeds @in twice, the second time with buffer running times shifted by
 * @second_offset, as after a restart upstream. */
static Run *
run_buffers_twice (Input * in, GstClockTimeDiff second_offset)
{
  Run *r = run_new (2 * GST_SECOND, 0);
  guint pass, i;

  for (pass = 0; pass < 2; pass++) {
    for (i = 0; i < in->chunks->len; i++) {
      Chunk *c = &g_array_index (in->chunks, Chunk, i);
      GstClockTime rt = c->running_time;

      if (pass == 1 && GST_CLOCK_TIME_IS_VALID (rt))
        rt += second_offset;
      dashcam_segmenter_push (&r->seg, in->data->data + c->offset, c->len,
          rt);
    }
  }
  dashcam_segmenter_finish (&r->seg);
  return r;
}

/* An encoder restarted in a live pipeline: its timestamps (PTS/PCR) start
 * over, the buffers' running times go on (here 10.5 s after the first
 * frame). Segments keep their own durations and the buffers' running
 * times; no segment gets the other recording's clock. */
GST_START_TEST (test_encoder_restart_live)
{
  Input *in = encode (300, 15, "bframes=0");
  Run *r = run_buffers_twice (in, 10 * GST_SECOND + 500 * GST_MSECOND);
  guint i;

  fail_unless_equals_int (r->splits->len, 10);
  for (i = 0; i < 10; i++)
    check_close (run_split (r, i)->point.running_time, i * 2 * GST_SECOND +
        (i < 5 ? 0 : 500 * GST_MSECOND), GST_MSECOND, "split running time");
  for (i = 1; i < 10; i++)
    check_close (run_split (r, i)->ending, 2 * GST_SECOND, GST_MSECOND,
        "duration of the segment before the split");
  fail_unless_equals_uint64 (r->seg.rt_base, 0);
  run_free (r);
  input_free (in);
}

GST_END_TEST;

/* The pipeline's running time went back (a flush or a new segment
 * upstream restarted it) along with the stream's timestamps: ours goes on
 * from the end of the last frame, so that segments and gaps of one run
 * never share running times. */
GST_START_TEST (test_running_time_goes_back)
{
  Input *in = encode (300, 15, "bframes=0");
  Run *r = run_buffers_twice (in, 0);
  guint i;

  fail_unless_equals_int (r->splits->len, 10);
  for (i = 0; i < 10; i++)
    check_close (run_split (r, i)->point.running_time, i * 2 * GST_SECOND,
        GST_MSECOND, "split running time");
  for (i = 1; i < 10; i++)
    check_close (run_split (r, i)->ending, 2 * GST_SECOND, GST_MSECOND,
        "duration of the segment before the split");
  check_close (r->seg.rt_base, 10 * GST_SECOND, GST_MSECOND, "rt_base");
  run_free (r);
  input_free (in);
}

GST_END_TEST;

/* A flush (seek) in the middle of a packet and of a segment: nothing of the
 * old position reaches the new segment, which starts at the first key
 * frame after the flush, and running time goes on. */
GST_START_TEST (test_flush)
{
  Input *in = encode (300, 15, "bframes=0");
  guint key = ra_packet (in, 10);
  gsize cut = ra_packet (in, 6) * PKT + 1000 + 57;
  gsize old_len;
  Run *r = run_new (60 * GST_SECOND, 0);
  GByteArray *want = g_byte_array_new ();

  push_chunked (r, in->data->data, cut, odd_sizes, G_N_ELEMENTS (odd_sizes),
      GST_CLOCK_TIME_NONE);
  fail_unless_equals_int (r->splits->len, 1);
  fail_unless (r->seg.carry_len > 0);
  old_len = r->out->len;
  dashcam_segmenter_flush (&r->seg);
  fail_unless_equals_uint64 (dashcam_segmenter_current_duration (&r->seg), 0);

  /* resume from the start of a GOP: 2 packets before the key frame's */
  push_chunked (r, in->data->data + (key - 2) * PKT,
      in->data->len - (key - 2) * PKT, odd_sizes, G_N_ELEMENTS (odd_sizes),
      GST_CLOCK_TIME_NONE);
  dashcam_segmenter_finish (&r->seg);

  fail_unless_equals_int (r->splits->len, 2);
  fail_unless_equals_uint64 (run_split (r, 1)->offset, old_len);
  /* what came before the key frame was written as "not open" (PAT/PMT
   * are held, and replaced by the latest copies) */
  fail_unless_equals_int (r->pre->len, PKT * ((packet_pid (in->data->data +
                  (key - 2) * PKT) > 0x10
              && packet_pid (in->data->data + (key - 2) * PKT) !=
              in->pmt_pid) + (packet_pid (in->data->data + (key - 1) * PKT) >
              0x10 && packet_pid (in->data->data + (key - 1) * PKT) !=
              in->pmt_pid)));
  /* PAT, PMT, then the input from the key frame on, byte for byte */
  g_byte_array_append (want, in->data->data + key * PKT,
      in->data->len - key * PKT);
  fail_unless_equals_int (r->out->len - old_len, 2 * PKT + want->len);
  fail_unless_equals_int (packet_pid (r->out->data + old_len), 0);
  fail_unless_equals_int (packet_pid (r->out->data + old_len + PKT),
      in->pmt_pid);
  fail_unless (memcmp (r->out->data + old_len + 2 * PKT, want->data,
          want->len) == 0);
  /* the old position ended after 3 s of frames: the new segment starts
   * there in running time, not at its own 5 s (nor at 0) */
  check_close (run_split (r, 1)->point.running_time, 3 * GST_SECOND,
      100 * GST_MSECOND, "running time after the flush");
  g_byte_array_unref (want);
  run_free (r);
  input_free (in);
}

GST_END_TEST;

GST_START_TEST (test_running_time_from_buffers)
{
  Input *in = encode (300, 15, "bframes=0");
  Run *r;
  guint i;

  fail_unless (in->chunks->len > 1000);

  /* buffer running times: the key frames' own, even when the pipeline
   * started long before the stream */
  r = run_buffers (in, 2 * GST_SECOND, 10 * GST_SECOND, TRUE);
  fail_unless_equals_int (r->splits->len, 5);
  for (i = 0; i < r->splits->len; i++)
    check_close (run_split (r, i)->point.running_time,
        10 * GST_SECOND + i * 2 * GST_SECOND, GST_MSECOND,
        "split running time");
  run_free (r);

  /* no buffer timestamps: counted from the first frame */
  r = run_buffers (in, 2 * GST_SECOND, 0, FALSE);
  fail_unless_equals_int (r->splits->len, 5);
  fail_unless_equals_uint64 (run_split (r, 0)->point.running_time, 0);
  for (i = 1; i < r->splits->len; i++)
    check_close (run_split (r, i)->point.running_time, i * 2 * GST_SECOND,
        GST_MSECOND, "split running time");
  run_free (r);

  input_free (in);
}

GST_END_TEST;

/* With B-frames (x264enc's default preset) the first frames' DTS are
 * before their PTS; mpegtsmux cannot stamp negative running times, so the
 * first buffers carry later ones. The key frames still have their own
 * running times: 0, 2 s, 4 s... */
GST_START_TEST (test_running_time_with_bframes)
{
  Input *in = encode (300, 15, NULL);
  Run *r;
  guint i;

  r = run_buffers (in, 2 * GST_SECOND, 5 * GST_SECOND, TRUE);
  fail_unless_equals_int (r->splits->len, 5);
  for (i = 1; i < r->splits->len; i++)
    check_close (run_split (r, i)->point.running_time,
        5 * GST_SECOND + i * 2 * GST_SECOND, GST_MSECOND, "split running time");
  run_free (r);
  input_free (in);
}

GST_END_TEST;

/* Regression test for a fixed bug (dashcamsegmenter.c, track_time() / start_segment()): with
 * B-frames, the first split point's running time comes from the first
 * chunk's offset alone (chunk running time 0 = the key frame's PTS, minus
 * its DTS 2 frames earlier), before the smaller, right offset of the
 * following chunks is seen: the first segment is reported to start 2
 * frames (66.7 ms) after its first frame. */
GST_START_TEST (test_running_time_first_split_with_bframes)
{
  Input *in = encode (60, 15, NULL);
  Run *r;

  r = run_buffers (in, 2 * GST_SECOND, 0, TRUE);
  fail_unless_equals_int (r->splits->len, 1);
  check_close (run_split (r, 0)->point.running_time, 0, GST_MSECOND,
      "running time of the first split");
  run_free (r);
  input_free (in);
}

GST_END_TEST;

static Suite *
segmenter_suite (void)
{
  Suite *s = suite_create ("segmenter");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  if (!have_encoder ())
    return s;
  tcase_add_test (tc, test_split_on_target_duration);
  tcase_add_test (tc, test_chunk_sizes_do_not_matter);
  tcase_add_test (tc, test_split_on_max_bytes);
  tcase_add_test (tc, test_max_bytes_independent_of_chunking);
  tcase_add_test (tc, test_request_split);
  tcase_add_test (tc, test_garbage_skipped);
  tcase_add_test (tc, test_garbage_with_sync_bytes);
  tcase_add_test (tc, test_partial_packet_mid_stream);
  tcase_add_test (tc, test_data_before_first_key_frame);
  tcase_add_test (tc, test_timestamps_go_back);
  tcase_add_test (tc, test_encoder_restart_live);
  tcase_add_test (tc, test_running_time_goes_back);
  tcase_add_test (tc, test_flush);
  tcase_add_test (tc, test_finish_writes_held_tables);
  tcase_add_test (tc, test_running_time_from_buffers);
  tcase_add_test (tc, test_running_time_with_bframes);
  tcase_add_test (tc, test_running_time_first_split_with_bframes);
  return s;
}

GST_CHECK_MAIN (segmenter);
