/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The acknowledgement tracker: acknowledged is not played out. */

#include <gst/check/gstcheck.h>

#include "dashcambacklog.h"

#define MS (1000)

/* 10 packets a frame, one frame every 33 ms from t = 0 */
static void
send_frames (DashcamAckTracker * t, guint frames)
{
  guint f;

  for (f = 0; f < frames; f++) {
    guint i;

    for (i = 0; i < 10; i++)
      dashcam_ack_tracker_sent (t, f * 10 + i + 1, f * 33 * GST_MSECOND,
          f * 33 * MS + i * MS);
  }
}

GST_START_TEST (test_played_needs_latency)
{
  DashcamAckTracker t;
  gint64 sent = 0;
  GstClockTime rt = 0;

  dashcam_ack_tracker_init (&t);
  send_frames (&t, 30);
  /* all acknowledged at once: nothing played out before the latency */
  fail_unless_equals_uint64 (dashcam_ack_tracker_acked (&t, 300),
      29 * 33 * GST_MSECOND);
  fail_unless (!GST_CLOCK_TIME_IS_VALID (dashcam_ack_tracker_played (&t,
              -1)));
  /* what was sent up to 500 ms is out; frame 15 ended at 15*33+9 ms */
  fail_unless_equals_uint64 (dashcam_ack_tracker_played (&t, 500 * MS),
      14 * 33 * GST_MSECOND);
  fail_unless_equals_uint64 (dashcam_ack_tracker_played (&t, 504 * MS),
      15 * 33 * GST_MSECOND);
  /* played never goes back */
  fail_unless_equals_uint64 (dashcam_ack_tracker_played (&t, 0),
      15 * 33 * GST_MSECOND);
  /* packet 200 (frame 19) is still known, its send time too */
  fail_unless (dashcam_ack_tracker_packet (&t, 200, &sent, &rt));
  fail_unless_equals_int64 (sent, 19 * 33 * MS);
  fail_unless_equals_uint64 (rt, 19 * 33 * GST_MSECOND);
  fail_if (dashcam_ack_tracker_packet (&t, 301, &sent, &rt));
  fail_unless_equals_uint64 (dashcam_ack_tracker_last_sent (&t),
      29 * 33 * GST_MSECOND);
  dashcam_ack_tracker_clear (&t);
}

GST_END_TEST;

GST_START_TEST (test_played_needs_ack)
{
  DashcamAckTracker t;

  dashcam_ack_tracker_init (&t);
  send_frames (&t, 30);
  /* frame 3 is acknowledged only in part: frames 0-2 count */
  dashcam_ack_tracker_acked (&t, 35);
  fail_unless_equals_uint64 (dashcam_ack_tracker_played (&t, G_MAXINT64),
      2 * 33 * GST_MSECOND);
  /* a new connection: the marks go, what was played stays */
  dashcam_ack_tracker_reset (&t);
  fail_unless_equals_uint64 (dashcam_ack_tracker_played (&t, G_MAXINT64),
      2 * 33 * GST_MSECOND);
  dashcam_ack_tracker_sent (&t, 1, 5 * GST_SECOND, 10 * G_USEC_PER_SEC);
  dashcam_ack_tracker_acked (&t, 1);
  fail_unless_equals_uint64 (dashcam_ack_tracker_played (&t, 10 *
          G_USEC_PER_SEC), 5 * GST_SECOND);
  dashcam_ack_tracker_clear (&t);
}

GST_END_TEST;

/* A gap that opens at the played-out point makes the segment that ended
 * between it and the acknowledged point go through the backlog. */
GST_START_TEST (test_gap_from_played)
{
  DashcamGapList gaps;

  dashcam_gap_list_init (&gaps);
  fail_unless (dashcam_gap_list_open (&gaps, 8900 * GST_MSECOND));
  /* moves back, does not open a second one */
  fail_if (dashcam_gap_list_open (&gaps, 8800 * GST_MSECOND));
  fail_unless (dashcam_gap_list_close (&gaps, 15 * GST_SECOND));
  fail_unless (dashcam_gap_list_overlaps (&gaps, 6 * GST_SECOND,
          9 * GST_SECOND));
  fail_if (dashcam_gap_list_overlaps (&gaps, 3 * GST_SECOND,
          6 * GST_SECOND));
  fail_if (dashcam_gap_list_overlaps (&gaps, 15 * GST_SECOND,
          18 * GST_SECOND));
  dashcam_gap_list_clear (&gaps);
}

GST_END_TEST;

/* Gaps no segment can need any more are dropped, the open one never, and
 * the count and total still include them. */
GST_START_TEST (test_gap_forget_before)
{
  DashcamGapList gaps;
  guint i;

  dashcam_gap_list_init (&gaps);
  for (i = 0; i < 1000; i++) {
    dashcam_gap_list_open (&gaps, (10 * i + 1) * GST_SECOND);
    dashcam_gap_list_close (&gaps, (10 * i + 3) * GST_SECOND);
  }
  dashcam_gap_list_open (&gaps, 10001 * GST_SECOND);
  fail_unless_equals_int (dashcam_gap_list_count (&gaps), 1001);
  fail_unless_equals_uint64 (dashcam_gap_list_total (&gaps,
          10002 * GST_SECOND), 2001 * GST_SECOND);

  /* 9991-9993 ends after 9992: kept, with all after it */
  dashcam_gap_list_forget_before (&gaps, 9992 * GST_SECOND);
  fail_unless_equals_int (gaps.gaps->len, 2);
  fail_unless (dashcam_gap_list_overlaps (&gaps, 9992 * GST_SECOND,
          9994 * GST_SECOND));
  fail_if (dashcam_gap_list_overlaps (&gaps, 9980 * GST_SECOND,
          9991 * GST_SECOND));
  fail_unless_equals_int (dashcam_gap_list_count (&gaps), 1001);
  fail_unless_equals_uint64 (dashcam_gap_list_total (&gaps,
          10002 * GST_SECOND), 2001 * GST_SECOND);

  /* the open gap stays open whatever the time */
  dashcam_gap_list_forget_before (&gaps, 20000 * GST_SECOND);
  fail_unless_equals_int (gaps.gaps->len, 1);
  fail_unless (dashcam_gap_list_is_open (&gaps));
  dashcam_gap_list_forget_before (&gaps, GST_CLOCK_TIME_NONE);
  fail_unless_equals_int (gaps.gaps->len, 1);
  fail_unless_equals_int (dashcam_gap_list_count (&gaps), 1001);
  dashcam_gap_list_clear (&gaps);
}

GST_END_TEST;

static Suite *
backlog_suite (void)
{
  Suite *s = suite_create ("backlog");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_played_needs_latency);
  tcase_add_test (tc, test_played_needs_ack);
  tcase_add_test (tc, test_gap_from_played);
  tcase_add_test (tc, test_gap_forget_before);
  return s;
}

GST_CHECK_MAIN (backlog);
