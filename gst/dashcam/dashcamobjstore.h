/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef __DASHCAM_OBJSTORE_H__
#define __DASHCAM_OBJSTORE_H__

#include <glib.h>

G_BEGIN_DECLS

#define DASHCAM_OBJSTORE_DEFAULT_KEY_FORMAT "{device}/%Y/%m/%d/{segment}.ts"
/* S3 refuses parts under 5 MiB (except the last) and keys over 1024 bytes */
#define DASHCAM_OBJSTORE_MIN_PART_SIZE (5 * 1024 * 1024)
#define DASHCAM_OBJSTORE_DEFAULT_PART_SIZE (8 * 1024 * 1024)
#define DASHCAM_OBJSTORE_MAX_KEY_LENGTH 1024

/**
 * DashcamObjstoreResult:
 * @DASHCAM_OBJSTORE_DONE: the store holds the object, checked
 * @DASHCAM_OBJSTORE_REJECTED: the store refused it (credentials, bucket,
 *   permissions, TLS certificate, 4xx)
 * @DASHCAM_OBJSTORE_UNREACHABLE: no connection, or the connection broke,
 *   or the store is unavailable (5xx, 429)
 * @DASHCAM_OBJSTORE_TIMEOUT: connected, but the store stopped moving
 * @DASHCAM_OBJSTORE_CORRUPT: the store saw other bytes than ours
 *   (BadDigest, a wrong ETag or length)
 * @DASHCAM_OBJSTORE_CANCELLED: dashcam_objstore_cancel() was called
 * @DASHCAM_OBJSTORE_FAILED: the local file could not be read
 */
typedef enum
{
  DASHCAM_OBJSTORE_DONE,
  DASHCAM_OBJSTORE_REJECTED,
  DASHCAM_OBJSTORE_UNREACHABLE,
  DASHCAM_OBJSTORE_TIMEOUT,
  DASHCAM_OBJSTORE_CORRUPT,
  DASHCAM_OBJSTORE_CANCELLED,
  DASHCAM_OBJSTORE_FAILED,
} DashcamObjstoreResult;

const gchar *dashcam_objstore_result_name (DashcamObjstoreResult result);

/**
 * DashcamObjstoreOutcome:
 * @result: what happened
 * @retryable: whether trying again later can help
 * @http_status: the status of the last response, 0 if there was none
 * @reason: (nullable): human text (S3 error code, curl error); never a
 *   credential
 * @bytes_sent: request body bytes handed to the network by this call
 * @parts_done: multipart: parts the store holds now (0 for a single PUT)
 * @parts_resumed: multipart: parts that were already there at the start
 */
typedef struct
{
  DashcamObjstoreResult result;
  gboolean retryable;
  guint http_status;
  gchar *reason;
  guint64 bytes_sent;
  guint parts_done;
  guint parts_resumed;
} DashcamObjstoreOutcome;

void dashcam_objstore_outcome_clear (DashcamObjstoreOutcome * outcome);

/**
 * DashcamObjstoreConfig:
 * @uri: `http://HOST[:PORT]/PATH`, `https://...` (objects go under
 *   PATH) or `s3://BUCKET[/PREFIX]`
 * @endpoint: (nullable): s3 only: `http(s)://HOST[:PORT]` of a non-AWS
 *   store (path-style addressing); %NULL: AWS in @region
 * @region: (nullable): s3 only: region for signing; %NULL: `AWS_REGION`,
 *   then `us-east-1`
 * @access_key: (nullable): s3 only; %NULL: `AWS_ACCESS_KEY_ID`
 * @secret_key: (nullable): s3 only; %NULL: `AWS_SECRET_ACCESS_KEY`
 * @session_token: (nullable): s3 only; %NULL: `AWS_SESSION_TOKEN`
 * @ca_file: (nullable): PEM file of CAs to trust instead of the system store
 * @max_bitrate: request bodies are sent at most this fast, bits per
 *   second, 0 = unlimited
 * @multipart_threshold: s3 only: files larger than this, in bytes, go as
 *   a multipart upload; 0 = the part size
 * @part_size: s3 only: bytes per part, 0 = 8 MiB, at least 5 MiB
 * @connect_timeout_ms: 0 = 10 s
 * @stall_timeout_ms: a transfer that moves no byte for this long gives
 *   up with %DASHCAM_OBJSTORE_TIMEOUT; 0 = 30 s
 */
typedef struct
{
  const gchar *uri;
  const gchar *endpoint;
  const gchar *region;
  const gchar *access_key;
  const gchar *secret_key;
  const gchar *session_token;
  const gchar *ca_file;
  guint64 max_bitrate;
  guint64 multipart_threshold;
  guint64 part_size;
  guint connect_timeout_ms;
  guint stall_timeout_ms;
} DashcamObjstoreConfig;

typedef struct _DashcamObjstore DashcamObjstore;

/**
 * DashcamObjstoreStateFunc:
 * @state: (nullable): the new resume state (one line), %NULL when there
 *   is nothing to resume any more (done, or aborted)
 * @user_data: user data
 *
 * Called from the uploading thread after every part the store accepted,
 * so that the caller can keep the state where a reboot finds it.
 */
typedef void (*DashcamObjstoreStateFunc) (const gchar * state,
    gpointer user_data);

gboolean dashcam_objstore_uri_is_objstore (const gchar * uri);

DashcamObjstore *dashcam_objstore_new (const DashcamObjstoreConfig * config,
    GError ** error);
void dashcam_objstore_free (DashcamObjstore * store);

gchar *dashcam_objstore_describe (DashcamObjstore * store);

DashcamObjstoreResult dashcam_objstore_upload (DashcamObjstore * store,
    const gchar * path, const gchar * key, const gchar * resume_state,
    DashcamObjstoreStateFunc state_func, gpointer user_data,
    DashcamObjstoreOutcome * outcome);

DashcamObjstoreResult dashcam_objstore_abort (DashcamObjstore * store,
    const gchar * resume_state, DashcamObjstoreOutcome * outcome);

void dashcam_objstore_set_max_bitrate (DashcamObjstore * store,
    guint64 bits_per_second);
void dashcam_objstore_cancel (DashcamObjstore * store);
void dashcam_objstore_reset_cancel (DashcamObjstore * store);

gboolean dashcam_objstore_key_format_validate (const gchar * format,
    GError ** error);
gchar *dashcam_objstore_key_expand (const gchar * format,
    const gchar * device, gint64 start_us, const gchar * segment,
    GError ** error);

G_END_DECLS

#endif /* __DASHCAM_OBJSTORE_H__ */
