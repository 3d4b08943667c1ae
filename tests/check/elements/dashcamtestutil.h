/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef __DASHCAM_TEST_UTIL_H__
#define __DASHCAM_TEST_UTIL_H__

#include <gst/check/gstcheck.h>

G_BEGIN_DECLS

/* What a pipeline run posted on its bus. */
typedef struct
{
  GPtrArray *elements;          /* GstStructure of every element message */
  GPtrArray *warnings;          /* gchar*: "message | debug" */
  GPtrArray *errors;            /* gchar*: "message | debug" */
  gboolean eos;
  gboolean timed_out;
} DcRunResult;

gchar *dc_make_tmpdir (void);
void dc_rm_rf (const gchar * path);

gboolean dc_have_elements (const gchar * first, ...) G_GNUC_NULL_TERMINATED;
gboolean dc_have_ffmpeg (void);

DcRunResult *dc_run_pipeline (GstElement * pipeline, guint timeout_s);
DcRunResult *dc_run_launch (const gchar * description, guint timeout_s);
void dc_run_result_free (DcRunResult * r);
guint dc_count_messages (DcRunResult * r, const gchar * name);
GstStructure *dc_find_message (DcRunResult * r, const gchar * name, guint nth);
gboolean dc_errors_contain (DcRunResult * r, const gchar * text);
gboolean dc_warnings_contain (DcRunResult * r, const gchar * text);

/* The run reached EOS, with no error and in time (a macro: a failure
 * names the test's line). */
#define dc_assert_clean_run(r) G_STMT_START { \
  DcRunResult *_r = (r); \
  fail_unless (_r->errors->len == 0, "error: %s", _r->errors->len ? \
      (gchar *) g_ptr_array_index (_r->errors, 0) : ""); \
  fail_if (_r->timed_out, "pipeline did not finish"); \
  fail_unless (_r->eos); \
} G_STMT_END

/* The file starts with a keyframe and decodes without an error. */
#define dc_assert_segment_plays(path) G_STMT_START { \
  const gchar *_p = (path); \
  fail_unless (dc_ffprobe_starts_with_keyframe (_p), \
      "%s does not start with a keyframe", _p); \
  fail_unless (dc_ffmpeg_decodes (_p), "%s does not decode", _p); \
} G_STMT_END

GPtrArray *dc_list_files (const gchar * dir, const gchar * suffix);

gchar *dc_make_ts (const gchar * dir, const gchar * name, guint frames,
    guint key_int, const gchar * encoder_options);

gint dc_ffprobe_video_frames (const gchar * path);
gboolean dc_ffprobe_starts_with_keyframe (const gchar * path);
gboolean dc_ffmpeg_decodes (const gchar * path);
GArray *dc_ffprobe_video_pts (const gchar * path);
gdouble dc_ffprobe_video_duration (const gchar * path);

guint64 dc_file_size (const gchar * path);
/* The reference receiver (DASHCAM_INGEST) on a free port, recording into
 * a temporary directory of its own. */
typedef struct
{
  GPid pid;
  gchar *root;
  guint port;
} DcIngest;

DcIngest *dc_ingest_start (void);
void dc_ingest_stop (DcIngest * ing);

gboolean dc_mount_tmpfs (const gchar * dir, const gchar * size);
void dc_umount (const gchar * dir);

G_END_DECLS

#endif
