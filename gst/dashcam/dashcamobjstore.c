/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Uploading one segment file to an object store, on libcurl.
 *
 * `http(s)://HOST/PATH`: a PUT of the whole file, done on 2xx and then a
 * HEAD whose Content-Length must be the file's size (a WebDAV server such
 * as nginx's dav module has no checksum of its own).
 *
 * `s3://BUCKET/PREFIX`: path-style requests to the endpoint (AWS, MinIO,
 * Ceph RGW...), signed by libcurl (CURLOPT_AWS_SIGV4). Every body carries
 * Content-MD5 and its SHA-256 in x-amz-content-sha256, both of which the
 * store checks, and the ETag it answers must be the body's MD5: an object
 * is done only when the store holds exactly our bytes. Files above the
 * multipart threshold go in parts; the upload id and the ETags of the
 * finished parts form a one-line resume state that the caller keeps (the
 * catalog), so that a dropped link or a reboot resumes at the next part.
 *
 * The calls block: they belong on the uploader's own thread.
 * dashcam_objstore_cancel() from any other thread ends a transfer within a
 * second (libcurl calls the progress function at least once a second). A
 * transfer that moves no byte for stall-timeout ends as a timeout.
 *
 * Credentials go to libcurl only: no log line, no outcome text and no
 * resume state carries them (URIs with user:password@ are refused).
 */

#include "dashcamobjstore.h"
#include "dashcamcatalog.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gst/gst.h>

GST_DEBUG_CATEGORY_STATIC (dashcam_objstore_debug);
#define GST_CAT_DEFAULT dashcam_objstore_debug

#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_STALL_TIMEOUT_MS 30000
#define MAX_RESPONSE_BODY (64 * 1024)
#define STATE_MAGIC "s3mpu1"

struct _DashcamObjstore
{
  gboolean s3;
  gchar *base_url;              /* ends with '/': object URL = base + key */
  gchar *prefix;                /* s3: "" or "PREFIX/" */
  gchar *shown;                 /* for logs and messages */
  gchar *sigv4;
  gchar *access_key;
  gchar *secret_key;
  gchar *session_token;
  gchar *ca_file;
  guint64 threshold;
  guint64 part_size;
  guint connect_timeout_ms;
  guint stall_timeout_ms;

  GMutex lock;
  guint64 max_bitrate;          /* under lock */
  gint cancelled;               /* atomic */
};

/* One request. The body comes from a file range or from memory. */
typedef struct
{
  DashcamObjstore *store;
  const gchar *method;
  gchar *url;
  gint fd;
  guint64 offset;
  guint64 length;
  guint64 pos;
  gboolean read_failed;
  gint read_errno;
  const gchar *body;            /* in memory, length bytes */
  gchar *md5_b64;
  gchar *sha256_hex;
  const gchar *content_type;

  glong status;
  gchar *etag;
  GString *response;
  curl_off_t content_length;
  guint64 sent;
  gint64 last_move;             /* monotonic, us */
  curl_off_t last_ul;
  curl_off_t last_dl;
  gboolean stalled;
} Request;

typedef struct
{
  gchar *key;
  guint64 size;
  guint64 part_size;
  gchar *upload_id;
  GPtrArray *etags;             /* hex MD5 of each finished part, in order */
} ResumeState;

static gpointer
init_once (gpointer data)
{
  curl_global_init (CURL_GLOBAL_DEFAULT);
  GST_DEBUG_CATEGORY_INIT (dashcam_objstore_debug, "dashcamobjstore", 0,
      "gst-dashcam object store uploads");
  return NULL;
}

static void
ensure_init (void)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, init_once, NULL);
}

const gchar *
dashcam_objstore_result_name (DashcamObjstoreResult result)
{
  switch (result) {
    case DASHCAM_OBJSTORE_DONE:
      return "done";
    case DASHCAM_OBJSTORE_REJECTED:
      return "rejected";
    case DASHCAM_OBJSTORE_UNREACHABLE:
      return "unreachable";
    case DASHCAM_OBJSTORE_TIMEOUT:
      return "timeout";
    case DASHCAM_OBJSTORE_CORRUPT:
      return "corrupt";
    case DASHCAM_OBJSTORE_CANCELLED:
      return "cancelled";
    case DASHCAM_OBJSTORE_FAILED:
      return "failed";
  }
  return "unknown";
}

void
dashcam_objstore_outcome_clear (DashcamObjstoreOutcome * outcome)
{
  g_clear_pointer (&outcome->reason, g_free);
  memset (outcome, 0, sizeof (*outcome));
}

static DashcamObjstoreResult
set_outcome (DashcamObjstoreOutcome * o, DashcamObjstoreResult result,
    gboolean retryable, const gchar * format, ...) G_GNUC_PRINTF (4, 5);

static DashcamObjstoreResult
set_outcome (DashcamObjstoreOutcome * o, DashcamObjstoreResult result,
    gboolean retryable, const gchar * format, ...)
{
  va_list args;

  o->result = result;
  o->retryable = retryable;
  g_free (o->reason);
  va_start (args, format);
  o->reason = g_strdup_vprintf (format, args);
  va_end (args);
  return result;
}

/* Forgets a result that is dealt with, keeping the counts. */
static void
outcome_reset (DashcamObjstoreOutcome * o)
{
  g_clear_pointer (&o->reason, g_free);
  o->result = DASHCAM_OBJSTORE_DONE;
  o->retryable = FALSE;
  o->http_status = 0;
}

gboolean
dashcam_objstore_uri_is_objstore (const gchar * uri)
{
  return uri && (g_str_has_prefix (uri, "http://")
      || g_str_has_prefix (uri, "https://") || g_str_has_prefix (uri, "s3://"));
}

/* ---- configuration ---- */

static const gchar *
or_env (const gchar * value, const gchar * env)
{
  return (value && *value) ? value : g_getenv (env);
}

static gboolean
parse_http_uri (DashcamObjstore * s, const gchar * uri, GError ** error)
{
  GUri *u = g_uri_parse (uri, G_URI_FLAGS_ENCODED, NULL);
  const gchar *path;

  if (u == NULL || g_uri_get_host (u) == NULL || !*g_uri_get_host (u)
      || g_uri_get_query (u) || g_uri_get_fragment (u)
      || g_uri_get_userinfo (u)) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "\"%s\" is not an http(s)://HOST[:PORT]/PATH URI (no query, no "
        "user:password@)", u && g_uri_get_userinfo (u) ? "(with userinfo)" :
        uri);
    if (u)
      g_uri_unref (u);
    return FALSE;
  }
  path = g_uri_get_path (u);
  s->base_url = g_str_has_suffix (path, "/") ? g_strdup (uri) :
      g_strconcat (uri, "/", NULL);
  s->shown = g_strdup (s->base_url);
  s->prefix = g_strdup ("");
  g_uri_unref (u);
  return TRUE;
}

static gboolean
bucket_name_ok (const gchar * b)
{
  gsize n = strlen (b);
  const gchar *p;

  if (n < 3 || n > 63)
    return FALSE;
  for (p = b; *p; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-'
        && *p != '.')
      return FALSE;
  return TRUE;
}

static gboolean
parse_s3_uri (DashcamObjstore * s, const DashcamObjstoreConfig * c,
    GError ** error)
{
  const gchar *rest = c->uri + strlen ("s3://");
  const gchar *slash = strchr (rest, '/');
  gchar *bucket = slash ? g_strndup (rest, slash - rest) : g_strdup (rest);
  gchar *prefix = g_strdup (slash ? slash + 1 : "");
  const gchar *region = or_env (c->region, "AWS_REGION");
  gchar *endpoint;

  if (!bucket_name_ok (bucket) || strstr (prefix, "//") || strchr (prefix,
          '?') || strchr (prefix, '#')) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "\"%s\" is not an s3://BUCKET[/PREFIX] URI (bucket: 3-63 of a-z "
        "0-9 . -)", c->uri);
    g_free (bucket);
    g_free (prefix);
    return FALSE;
  }
  if (*prefix && !g_str_has_suffix (prefix, "/")) {
    gchar *p = g_strconcat (prefix, "/", NULL);

    g_free (prefix);
    prefix = p;
  }
  if (region == NULL || *region == '\0')
    region = "us-east-1";
  if (c->endpoint && *c->endpoint) {
    GUri *u = g_uri_parse (c->endpoint, G_URI_FLAGS_ENCODED, NULL);

    if (u == NULL || (!g_str_equal (g_uri_get_scheme (u), "http")
            && !g_str_equal (g_uri_get_scheme (u), "https"))
        || g_uri_get_userinfo (u) || g_uri_get_query (u)
        || (*g_uri_get_path (u) && !g_str_equal (g_uri_get_path (u), "/"))) {
      g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
          "endpoint \"%s\" is not http(s)://HOST[:PORT]", c->endpoint);
      if (u)
        g_uri_unref (u);
      g_free (bucket);
      g_free (prefix);
      return FALSE;
    }
    g_uri_unref (u);
    endpoint = g_strdup (c->endpoint);
    if (g_str_has_suffix (endpoint, "/"))
      endpoint[strlen (endpoint) - 1] = '\0';
  } else {
    endpoint = g_strdup_printf ("https://s3.%s.amazonaws.com", region);
  }
  s->s3 = TRUE;
  s->base_url = g_strdup_printf ("%s/%s/", endpoint, bucket);
  s->prefix = prefix;
  s->shown = g_strdup_printf ("s3://%s/%s (%s)", bucket, prefix, endpoint);
  s->sigv4 = g_strdup_printf ("aws:amz:%s:s3", region);
  g_free (endpoint);
  g_free (bucket);
  return TRUE;
}

/**
 * dashcam_objstore_new:
 * @config: where and how to upload
 * @error: return location for a #GError
 *
 * Checks @config (URI, endpoint, part size, that S3 has credentials) and
 * makes no request.
 *
 * Returns: (transfer full) (nullable): the store, or %NULL with @error set
 */
DashcamObjstore *
dashcam_objstore_new (const DashcamObjstoreConfig * c, GError ** error)
{
  DashcamObjstore *s;
  gboolean ok;

  ensure_init ();
  if (!dashcam_objstore_uri_is_objstore (c->uri)) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "\"%s\" is not an http://, https:// or s3:// URI",
        c->uri ? c->uri : "(null)");
    return NULL;
  }
  s = g_new0 (DashcamObjstore, 1);
  g_mutex_init (&s->lock);
  if (g_str_has_prefix (c->uri, "s3://"))
    ok = parse_s3_uri (s, c, error);
  else
    ok = parse_http_uri (s, c->uri, error);
  if (!ok)
    goto fail;

  if (s->s3) {
    s->access_key = g_strdup (or_env (c->access_key, "AWS_ACCESS_KEY_ID"));
    s->secret_key = g_strdup (or_env (c->secret_key,
            "AWS_SECRET_ACCESS_KEY"));
    s->session_token = g_strdup (or_env (c->session_token,
            "AWS_SESSION_TOKEN"));
    if (s->access_key == NULL || !*s->access_key || s->secret_key == NULL
        || !*s->secret_key) {
      g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
          "%s needs credentials: an access key and a secret key (or "
          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", s->shown);
      goto fail;
    }
  }
  s->part_size = c->part_size ? c->part_size :
      DASHCAM_OBJSTORE_DEFAULT_PART_SIZE;
  if (s->part_size < DASHCAM_OBJSTORE_MIN_PART_SIZE) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "part size %" G_GUINT64_FORMAT " is below S3's minimum of %d bytes",
        s->part_size, DASHCAM_OBJSTORE_MIN_PART_SIZE);
    goto fail;
  }
  s->threshold = c->multipart_threshold ? c->multipart_threshold :
      s->part_size;
  s->ca_file = g_strdup (c->ca_file && *c->ca_file ? c->ca_file : NULL);
  if (s->ca_file && !g_file_test (s->ca_file, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "CA file \"%s\" does not exist", s->ca_file);
    goto fail;
  }
  s->connect_timeout_ms = c->connect_timeout_ms ? c->connect_timeout_ms :
      DEFAULT_CONNECT_TIMEOUT_MS;
  s->stall_timeout_ms = c->stall_timeout_ms ? c->stall_timeout_ms :
      DEFAULT_STALL_TIMEOUT_MS;
  s->max_bitrate = c->max_bitrate;
  GST_INFO ("object store %s, multipart above %" G_GUINT64_FORMAT
      " bytes", s->shown, s->threshold);
  return s;

fail:
  dashcam_objstore_free (s);
  return NULL;
}

static void
free_secret (gchar * s)
{
  if (s) {
    memset (s, 0, strlen (s));
    g_free (s);
  }
}

void
dashcam_objstore_free (DashcamObjstore * s)
{
  if (s == NULL)
    return;
  g_free (s->base_url);
  g_free (s->prefix);
  g_free (s->shown);
  g_free (s->sigv4);
  g_free (s->access_key);
  free_secret (s->secret_key);
  free_secret (s->session_token);
  g_free (s->ca_file);
  g_mutex_clear (&s->lock);
  g_free (s);
}

/**
 * dashcam_objstore_describe:
 *
 * Returns: (transfer full): where objects go, for messages (no credentials)
 */
gchar *
dashcam_objstore_describe (DashcamObjstore * s)
{
  return g_strdup (s->shown);
}

/* Any thread. Applies from the next request on. */
void
dashcam_objstore_set_max_bitrate (DashcamObjstore * s, guint64 bps)
{
  g_mutex_lock (&s->lock);
  s->max_bitrate = bps;
  g_mutex_unlock (&s->lock);
}

/* Any thread: the running call returns %DASHCAM_OBJSTORE_CANCELLED within
 * about a second, and so does every call until reset_cancel(). */
void
dashcam_objstore_cancel (DashcamObjstore * s)
{
  g_atomic_int_set (&s->cancelled, 1);
}

void
dashcam_objstore_reset_cancel (DashcamObjstore * s)
{
  g_atomic_int_set (&s->cancelled, 0);
}

/* ---- one request ---- */

static size_t
read_body (char *buf, size_t size, size_t n, void *data)
{
  Request *r = data;
  guint64 want = MIN ((guint64) size * n, r->length - r->pos);
  ssize_t got;

  if (want == 0)
    return 0;
  if (r->body) {
    memcpy (buf, r->body + r->pos, want);
    got = want;
  } else {
    got = pread (r->fd, buf, want, r->offset + r->pos);
    if (got <= 0) {
      /* a file cut short since it was hashed reads as 0 */
      r->read_errno = got < 0 ? errno : EIO;
      r->read_failed = TRUE;
      return CURL_READFUNC_ABORT;
    }
  }
  r->pos += got;
  return got;
}

static size_t
write_response (char *buf, size_t size, size_t n, void *data)
{
  Request *r = data;

  if (r->response->len < MAX_RESPONSE_BODY)
    g_string_append_len (r->response, buf,
        MIN (size * n, MAX_RESPONSE_BODY - r->response->len));
  return size * n;
}

static size_t
read_header (char *buf, size_t size, size_t n, void *data)
{
  Request *r = data;
  gsize len = size * n;

  if (len > 5 && g_ascii_strncasecmp (buf, "ETag:", 5) == 0) {
    gchar *v = g_strndup (buf + 5, len - 5);

    g_strstrip (v);
    if (v[0] == '"' && strlen (v) >= 2 && v[strlen (v) - 1] == '"') {
      v[strlen (v) - 1] = '\0';
      memmove (v, v + 1, strlen (v));
    }
    g_free (r->etag);
    r->etag = g_ascii_strdown (v, -1);
    g_free (v);
  }
  return len;
}

/* libcurl's low-speed check averages over several seconds: a store that
 * stops in the middle of a body would get ~5 s more than stall-timeout.
 * This one counts from the last byte that moved either way. */
static int
progress (void *data, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
  Request *r = data;
  gint64 now = g_get_monotonic_time ();

  if (r->last_move == 0 || ulnow != r->last_ul || dlnow != r->last_dl) {
    r->last_move = now;
    r->last_ul = ulnow;
    r->last_dl = dlnow;
  } else if (now - r->last_move >
      (gint64) r->store->stall_timeout_ms * 1000) {
    r->stalled = TRUE;
    return 1;
  }
  r->sent = ulnow;
  return g_atomic_int_get (&r->store->cancelled) ? 1 : 0;
}

/* MD5 (base64, for Content-MD5) and SHA-256 (hex) of the body. */
static gboolean
hash_body (Request * r, gchar ** md5_hex)
{
  GChecksum *md5 = g_checksum_new (G_CHECKSUM_MD5);
  GChecksum *sha = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[16];
  gsize dlen = sizeof (digest);
  guint64 done = 0;
  gchar *buf = r->body ? NULL : g_malloc (65536);
  gboolean ok = TRUE;

  while (done < r->length) {
    const guint8 *p;
    ssize_t got;

    if (r->body) {
      p = (const guint8 *) r->body;
      got = r->length;
    } else {
      got = pread (r->fd, buf, MIN (65536, r->length - done),
          r->offset + done);
      if (got <= 0) {
        ok = FALSE;
        break;
      }
      p = (const guint8 *) buf;
    }
    g_checksum_update (md5, p, got);
    g_checksum_update (sha, p, got);
    done += got;
  }
  g_checksum_get_digest (md5, digest, &dlen);
  r->md5_b64 = g_base64_encode (digest, dlen);
  r->sha256_hex = g_strdup (g_checksum_get_string (sha));
  if (md5_hex)
    *md5_hex = g_strdup (g_checksum_get_string (md5));
  g_checksum_free (md5);
  g_checksum_free (sha);
  g_free (buf);
  return ok;
}

static struct curl_slist *
request_headers (Request * r)
{
  DashcamObjstore *s = r->store;
  struct curl_slist *h = NULL;
  gchar *line = NULL;

  /* curl's own "Expect: 100-continue" stays (a store refuses a request
   * before the body is sent): an empty "Expect:" to remove it would be
   * signed by curl 7.88 as a header that is not sent */
  if (r->md5_b64) {
    line = g_strdup_printf ("Content-MD5: %s", r->md5_b64);
    h = curl_slist_append (h, line);
    g_free (line);
  }
  if (r->content_type) {
    line = g_strdup_printf ("Content-Type: %s", r->content_type);
    h = curl_slist_append (h, line);
    g_free (line);
  }
  if (s->s3) {
    /* curl cannot hash a body it reads through a callback: it signs the
     * value given here, which the store checks against the body */
    line = g_strdup_printf ("x-amz-content-sha256: %s", r->sha256_hex ?
        r->sha256_hex :
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    h = curl_slist_append (h, line);
    g_free (line);
    if (s->session_token && *s->session_token) {
      line = g_strdup_printf ("x-amz-security-token: %s", s->session_token);
      h = curl_slist_append (h, line);
      memset (line, 0, strlen (line));
      g_free (line);
    }
  }
  return h;
}

static void
setup_method (CURL * c, Request * r)
{
  if (g_str_equal (r->method, "PUT")) {
    curl_easy_setopt (c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt (c, CURLOPT_INFILESIZE_LARGE, (curl_off_t) r->length);
  } else if (g_str_equal (r->method, "HEAD")) {
    curl_easy_setopt (c, CURLOPT_NOBODY, 1L);
  } else if (g_str_equal (r->method, "POST")) {
    curl_easy_setopt (c, CURLOPT_POST, 1L);
    curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) r->length);
  } else {
    curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, r->method);
  }
  if (r->length > 0 || g_str_equal (r->method, "POST")) {
    curl_easy_setopt (c, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt (c, CURLOPT_READDATA, r);
  }
}

/* The S3 error code of an XML error body, or NULL. */
static gchar *
s3_error_code (const gchar * body)
{
  const gchar *a = strstr (body, "<Code>"), *b;

  if (a == NULL || (b = strstr (a, "</Code>")) == NULL)
    return NULL;
  return g_strndup (a + 6, b - a - 6);
}

static DashcamObjstoreResult
classify (Request * r, CURLcode rc, const gchar * errbuf,
    DashcamObjstoreOutcome * o)
{
  gchar *code;
  DashcamObjstoreResult res;

  o->http_status = r->status;
  if (rc == CURLE_ABORTED_BY_CALLBACK
      && g_atomic_int_get (&r->store->cancelled))
    return set_outcome (o, DASHCAM_OBJSTORE_CANCELLED, TRUE, "cancelled");
  if (r->read_failed)
    return set_outcome (o, DASHCAM_OBJSTORE_FAILED, FALSE,
        "could not read the file: %s", g_strerror (r->read_errno));
  if (rc == CURLE_OPERATION_TIMEDOUT || (rc == CURLE_ABORTED_BY_CALLBACK
          && r->stalled))
    return r->stalled ? set_outcome (o, DASHCAM_OBJSTORE_TIMEOUT, TRUE,
        "%s %s: nothing moved for %u ms", r->method, r->url,
        r->store->stall_timeout_ms) : set_outcome (o,
        DASHCAM_OBJSTORE_TIMEOUT, TRUE, "%s %s: %s", r->method, r->url,
        *errbuf ? errbuf : curl_easy_strerror (rc));
  if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE
      || rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_ISSUER_ERROR)
    return set_outcome (o, DASHCAM_OBJSTORE_REJECTED, FALSE,
        "TLS: %s", *errbuf ? errbuf : curl_easy_strerror (rc));
  if (rc != CURLE_OK)
    return set_outcome (o, DASHCAM_OBJSTORE_UNREACHABLE, TRUE,
        "%s %s: %s", r->method, r->url, *errbuf ? errbuf :
        curl_easy_strerror (rc));
  if (r->status >= 200 && r->status < 300)
    return set_outcome (o, DASHCAM_OBJSTORE_DONE, FALSE, "HTTP %ld",
        r->status);

  code = s3_error_code (r->response->str);
  if (r->status == 400 && code && (g_str_equal (code, "BadDigest")
          || g_str_equal (code, "InvalidDigest")
          || g_str_equal (code, "XAmzContentSHA256Mismatch")
          || g_str_equal (code, "IncompleteBody")))
    res = set_outcome (o, DASHCAM_OBJSTORE_CORRUPT, TRUE, "%s %s: HTTP %ld "
        "%s", r->method, r->url, r->status, code);
  else if (r->status == 403 && code
      && g_str_equal (code, "RequestTimeTooSkewed"))
    /* a device that booted without the time: signing works once the
     * clock is set */
    res = set_outcome (o, DASHCAM_OBJSTORE_REJECTED, TRUE, "%s %s: HTTP "
        "403 RequestTimeTooSkewed (is the clock set?)", r->method, r->url);
  else if (r->status == 408 || r->status == 429 || r->status >= 500)
    res = set_outcome (o, DASHCAM_OBJSTORE_UNREACHABLE, TRUE, "%s %s: HTTP "
        "%ld%s%s", r->method, r->url, r->status, code ? " " : "",
        code ? code : "");
  else
    res = set_outcome (o, DASHCAM_OBJSTORE_REJECTED, FALSE, "%s %s: HTTP "
        "%ld%s%s", r->method, r->url, r->status, code ? " " : "",
        code ? code : "");
  g_free (code);
  return res;
}

static DashcamObjstoreResult
perform (Request * r, DashcamObjstoreOutcome * o)
{
  DashcamObjstore *s = r->store;
  CURL *c;
  struct curl_slist *headers;
  gchar errbuf[CURL_ERROR_SIZE] = "";
  guint64 bps;
  CURLcode rc;
  DashcamObjstoreResult res;

  if (g_atomic_int_get (&s->cancelled))
    return set_outcome (o, DASHCAM_OBJSTORE_CANCELLED, TRUE, "cancelled");
  c = curl_easy_init ();
  g_mutex_lock (&s->lock);
  bps = s->max_bitrate;
  g_mutex_unlock (&s->lock);
  r->response = g_string_new (NULL);
  headers = request_headers (r);
  curl_easy_setopt (c, CURLOPT_URL, r->url);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT_MS,
      (long) s->connect_timeout_ms);
  /* a store that stops reading the body or never answers */
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_TIME,
      (long) MAX (1, (s->stall_timeout_ms + 999) / 1000));
  curl_easy_setopt (c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt (c, CURLOPT_XFERINFOFUNCTION, progress);
  curl_easy_setopt (c, CURLOPT_XFERINFODATA, r);
  curl_easy_setopt (c, CURLOPT_HEADERFUNCTION, read_header);
  curl_easy_setopt (c, CURLOPT_HEADERDATA, r);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, write_response);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, r);
  if (s->ca_file)
    curl_easy_setopt (c, CURLOPT_CAINFO, s->ca_file);
  if (bps > 0)
    curl_easy_setopt (c, CURLOPT_MAX_SEND_SPEED_LARGE,
        (curl_off_t) MAX (1, bps / 8));
  if (s->s3) {
    curl_easy_setopt (c, CURLOPT_AWS_SIGV4, s->sigv4);
    curl_easy_setopt (c, CURLOPT_USERNAME, s->access_key);
    curl_easy_setopt (c, CURLOPT_PASSWORD, s->secret_key);
  }
  setup_method (c, r);

  GST_DEBUG ("%s %s (%" G_GUINT64_FORMAT " bytes)", r->method, r->url,
      r->length);
  rc = curl_easy_perform (c);
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_easy_getinfo (c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
      &r->content_length);
  {
    curl_off_t up = 0;

    curl_easy_getinfo (c, CURLINFO_SIZE_UPLOAD_T, &up);
    r->sent = MAX (r->sent, (guint64) up);
  }
  o->bytes_sent += r->sent;
  res = classify (r, rc, errbuf, o);
  GST_DEBUG ("%s %s: %s (%s), %" G_GUINT64_FORMAT " bytes sent", r->method,
      r->url, dashcam_objstore_result_name (res), o->reason, r->sent);
  curl_slist_free_all (headers);
  curl_easy_cleanup (c);
  return res;
}

static void
request_clear (Request * r)
{
  g_free (r->url);
  g_free (r->md5_b64);
  g_free (r->sha256_hex);
  g_free (r->etag);
  if (r->response)
    g_string_free (r->response, TRUE);
  memset (r, 0, sizeof (*r));
}

static gchar *
object_url (DashcamObjstore * s, const gchar * key, const gchar * query)
{
  gchar *full = g_strconcat (s->prefix, key, NULL);
  gchar *esc = g_uri_escape_string (full, "/", FALSE);
  gchar *url = g_strconcat (s->base_url, esc, query ? "?" : "", query ? query :
      "", NULL);

  g_free (esc);
  g_free (full);
  return url;
}

/* ---- whole-object PUT ---- */

static DashcamObjstoreResult head_object (DashcamObjstore * s,
    const gchar * key, guint64 size, const gchar * multipart_etag,
    DashcamObjstoreOutcome * o);

static DashcamObjstoreResult
head_size (DashcamObjstore * s, const gchar * key, guint64 size,
    DashcamObjstoreOutcome * o)
{
  return head_object (s, key, size, NULL, o);
}

/* HEAD: the object's length must be @size and, if @multipart_etag is
 * given and the store's ETag has S3's multipart form, its ETag too. */
static DashcamObjstoreResult
head_object (DashcamObjstore * s, const gchar * key, guint64 size,
    const gchar * multipart_etag, DashcamObjstoreOutcome * o)
{
  Request r = { s, "HEAD", object_url (s, key, NULL), -1, };
  DashcamObjstoreResult res;

  res = perform (&r, o);
  if (res == DASHCAM_OBJSTORE_DONE && multipart_etag && r.etag
      && strchr (r.etag, '-') && g_strcmp0 (r.etag, multipart_etag) != 0)
    res = set_outcome (o, DASHCAM_OBJSTORE_CORRUPT, TRUE, "HEAD %s: ETag "
        "%s, not %s", r.url, r.etag, multipart_etag);
  if (res == DASHCAM_OBJSTORE_DONE && r.content_length != (curl_off_t) size)
    res = set_outcome (o, DASHCAM_OBJSTORE_CORRUPT, TRUE, "HEAD %s: "
        "Content-Length %" G_GINT64_FORMAT " for %" G_GUINT64_FORMAT
        " bytes sent", r.url, (gint64) r.content_length, size);
  request_clear (&r);
  return res;
}

/* http(s): PUT, then HEAD: a WebDAV server gives no checksum, but its
 * Content-Length says whether the whole body was stored. */
static DashcamObjstoreResult
put_http (DashcamObjstore * s, gint fd, guint64 size, const gchar * key,
    DashcamObjstoreOutcome * o)
{
  Request r = { s, "PUT", object_url (s, key, NULL), fd, 0, size, };
  DashcamObjstoreResult res;

  if (!hash_body (&r, NULL)) {
    request_clear (&r);
    return set_outcome (o, DASHCAM_OBJSTORE_FAILED, FALSE,
        "could not read the file: %s", g_strerror (errno));
  }
  res = perform (&r, o);
  request_clear (&r);
  if (res != DASHCAM_OBJSTORE_DONE)
    return res;

  return head_size (s, key, size, o);
}

/* S3 PutObject (or UploadPart with @query): the store checks Content-MD5
 * and the SHA-256; the ETag it answers must still be our MD5. */
static DashcamObjstoreResult
put_s3 (DashcamObjstore * s, gint fd, guint64 offset, guint64 length,
    const gchar * key, const gchar * query, gchar ** etag,
    DashcamObjstoreOutcome * o)
{
  Request r = { s, "PUT", object_url (s, key, query), fd, offset, length, };
  gchar *md5_hex = NULL;
  DashcamObjstoreResult res;

  if (!hash_body (&r, &md5_hex)) {
    request_clear (&r);
    return set_outcome (o, DASHCAM_OBJSTORE_FAILED, FALSE,
        "could not read the file: %s", g_strerror (errno));
  }
  res = perform (&r, o);
  if (res == DASHCAM_OBJSTORE_DONE && g_strcmp0 (r.etag, md5_hex) != 0)
    res = set_outcome (o, DASHCAM_OBJSTORE_CORRUPT, TRUE, "PUT %s: ETag "
        "%s, not the MD5 %s of what was sent", r.url, r.etag ? r.etag :
        "(none)", md5_hex);
  if (res == DASHCAM_OBJSTORE_DONE && etag)
    *etag = g_strdup (md5_hex);
  g_free (md5_hex);
  request_clear (&r);
  return res;
}

/* ---- multipart ---- */

static void
resume_state_free (ResumeState * st)
{
  if (st == NULL)
    return;
  g_free (st->key);
  g_free (st->upload_id);
  g_ptr_array_unref (st->etags);
  g_free (st);
}

static gboolean
is_md5_hex (const gchar * v)
{
  gint i;

  for (i = 0; v[i]; i++)
    if (!g_ascii_isxdigit (v[i]))
      return FALSE;
  return i == 32;
}

/* `s3mpu1 size=N part=N key=K id=I etags=E,E,...` (K and I
 * percent-encoded): one line without spaces in its values. */
static gchar *
resume_state_to_string (const ResumeState * st)
{
  GString *out = g_string_new (STATE_MAGIC);
  gchar *key = g_uri_escape_string (st->key, "/", FALSE);
  gchar *id = g_uri_escape_string (st->upload_id, NULL, FALSE);
  guint i;

  g_string_append_printf (out, " size=%" G_GUINT64_FORMAT " part=%"
      G_GUINT64_FORMAT " key=%s id=%s etags=", st->size, st->part_size, key,
      id);
  for (i = 0; i < st->etags->len; i++)
    g_string_append_printf (out, "%s%s", i ? "," : "",
        (gchar *) g_ptr_array_index (st->etags, i));
  g_free (key);
  g_free (id);
  return g_string_free (out, FALSE);
}

static ResumeState *
resume_state_parse (const gchar * line)
{
  gchar **f = line ? g_strsplit (line, " ", -1) : NULL;
  ResumeState *st;
  gint i;

  if (f == NULL || g_strv_length (f) != 6 || !g_str_equal (f[0], STATE_MAGIC)) {
    g_strfreev (f);
    return NULL;
  }
  st = g_new0 (ResumeState, 1);
  st->etags = g_ptr_array_new_with_free_func (g_free);
  for (i = 1; f[i]; i++) {
    if (g_str_has_prefix (f[i], "size="))
      st->size = g_ascii_strtoull (f[i] + 5, NULL, 10);
    else if (g_str_has_prefix (f[i], "part="))
      st->part_size = g_ascii_strtoull (f[i] + 5, NULL, 10);
    else if (g_str_has_prefix (f[i], "key="))
      st->key = g_uri_unescape_string (f[i] + 4, NULL);
    else if (g_str_has_prefix (f[i], "id="))
      st->upload_id = g_uri_unescape_string (f[i] + 3, NULL);
    else if (g_str_has_prefix (f[i], "etags=")) {
      gchar **e = g_strsplit (f[i] + 6, ",", -1);
      gint j;

      for (j = 0; e[j] && *e[j]; j++)
        g_ptr_array_add (st->etags, g_strdup (e[j]));
      g_strfreev (e);
    }
  }
  g_strfreev (f);
  if (st->key == NULL || st->upload_id == NULL || !*st->upload_id
      || st->part_size < DASHCAM_OBJSTORE_MIN_PART_SIZE || st->size == 0
      || st->etags->len * st->part_size >= st->size + st->part_size)
    goto bad;
  for (i = 0; i < (gint) st->etags->len; i++)
    if (!is_md5_hex (g_ptr_array_index (st->etags, i)))
      goto bad;
  return st;

bad:
  resume_state_free (st);
  return NULL;
}

static gchar *
xml_value (const gchar * body, const gchar * tag)
{
  gchar *open = g_strdup_printf ("<%s>", tag);
  gchar *close = g_strdup_printf ("</%s>", tag);
  const gchar *a = strstr (body, open), *b = a ? strstr (a, close) : NULL;
  gchar *v = (a && b) ? g_strndup (a + strlen (open), b - a - strlen (open)) :
      NULL;

  g_free (open);
  g_free (close);
  return v;
}

static DashcamObjstoreResult
initiate (DashcamObjstore * s, const gchar * key, gchar ** upload_id,
    DashcamObjstoreOutcome * o)
{
  /* "uploads=": what the signature's canonical query has either way */
  Request r = { s, "POST", object_url (s, key, "uploads="), -1, };
  DashcamObjstoreResult res;

  r.content_type = "application/octet-stream";
  res = perform (&r, o);
  if (res == DASHCAM_OBJSTORE_DONE) {
    *upload_id = xml_value (r.response->str, "UploadId");
    if (*upload_id == NULL || !**upload_id)
      res = set_outcome (o, DASHCAM_OBJSTORE_REJECTED, TRUE, "POST %s: no "
          "UploadId in the answer", r.url);
  }
  request_clear (&r);
  return res;
}

/* The ETag S3 gives a multipart object: MD5 of the parts' MD5s, "-N". */
static gchar *
multipart_etag (GPtrArray * etags)
{
  GChecksum *md5 = g_checksum_new (G_CHECKSUM_MD5);
  gchar *etag;
  guint i, j;

  for (i = 0; i < etags->len; i++) {
    const gchar *hex = g_ptr_array_index (etags, i);
    guint8 raw[16];

    for (j = 0; j < 16; j++)
      raw[j] = g_ascii_xdigit_value (hex[2 * j]) << 4 |
          g_ascii_xdigit_value (hex[2 * j + 1]);
    g_checksum_update (md5, raw, 16);
  }
  etag = g_strdup_printf ("%s-%u", g_checksum_get_string (md5), etags->len);
  g_checksum_free (md5);
  return etag;
}

static DashcamObjstoreResult
complete (DashcamObjstore * s, ResumeState * st, DashcamObjstoreOutcome * o)
{
  gchar *id = g_uri_escape_string (st->upload_id, NULL, FALSE);
  gchar *query = g_strdup_printf ("uploadId=%s", id);
  GString *xml = g_string_new ("<CompleteMultipartUpload>");
  Request r = { s, "POST", object_url (s, st->key, query), -1, };
  gchar *expected = multipart_etag (st->etags);
  DashcamObjstoreResult res;
  gboolean check_size = FALSE;
  guint i;

  for (i = 0; i < st->etags->len; i++)
    g_string_append_printf (xml, "<Part><PartNumber>%u</PartNumber>"
        "<ETag>\"%s\"</ETag></Part>", i + 1,
        (gchar *) g_ptr_array_index (st->etags, i));
  g_string_append (xml, "</CompleteMultipartUpload>");
  r.body = xml->str;
  r.length = xml->len;
  r.content_type = "application/xml";
  hash_body (&r, NULL);
  res = perform (&r, o);
  if (res == DASHCAM_OBJSTORE_DONE) {
    /* S3 may answer 200 and put the error in the body */
    gchar *code = s3_error_code (r.response->str);
    gchar *etag = xml_value (r.response->str, "ETag");

    if (etag)
      g_strstrip (g_strdelimit (etag, "\"", ' '));
    if (code)
      res = classify (&r, CURLE_OK, "", o) == DASHCAM_OBJSTORE_DONE ?
          set_outcome (o, DASHCAM_OBJSTORE_UNREACHABLE, TRUE, "POST %s: %s",
          r.url, code) : o->result;
    else if (etag && strchr (etag, '-')
        && g_ascii_strcasecmp (etag, expected) != 0)
      res = set_outcome (o, DASHCAM_OBJSTORE_CORRUPT, TRUE, "POST %s: ETag "
          "%s, not %s", r.url, etag, expected);
    else if (etag == NULL || !strchr (etag, '-'))
      check_size = TRUE;
    g_free (etag);
    g_free (code);
  }
  request_clear (&r);
  /* a store whose multipart ETag is not S3's MD5 of the parts' MD5s
   * (s3rver gives the object's MD5): at least the size must be right */
  if (check_size)
    res = head_size (s, st->key, st->size, o);
  g_free (expected);
  g_string_free (xml, TRUE);
  g_free (query);
  g_free (id);
  return res;
}

static DashcamObjstoreResult
multipart (DashcamObjstore * s, gint fd, guint64 size, const gchar * key,
    const gchar * resume, DashcamObjstoreStateFunc func, gpointer data,
    DashcamObjstoreOutcome * o)
{
  ResumeState *st = resume_state_parse (resume);
  DashcamObjstoreResult res = DASHCAM_OBJSTORE_DONE;
  gboolean restarted = FALSE;
  guint n_parts;
  gchar *line;

  if (st && (!g_str_equal (st->key, key) || st->size != size)) {
    DashcamObjstoreOutcome aborted;

    GST_INFO ("resume state is for another object or size: starting over");
    dashcam_objstore_abort (s, resume, &aborted);
    dashcam_objstore_outcome_clear (&aborted);
    g_clear_pointer (&st, resume_state_free);
  } else if (resume && st == NULL) {
    GST_WARNING ("unreadable resume state: starting over");
  }

again:
  if (st == NULL) {
    o->parts_resumed = 0;
    st = g_new0 (ResumeState, 1);
    st->etags = g_ptr_array_new_with_free_func (g_free);
    st->key = g_strdup (key);
    st->size = size;
    st->part_size = s->part_size;
    res = initiate (s, key, &st->upload_id, o);
    if (res != DASHCAM_OBJSTORE_DONE)
      goto out;
    line = resume_state_to_string (st);
    if (func)
      func (line, data);
    g_free (line);
  } else {
    o->parts_resumed = st->etags->len;
    GST_INFO ("resuming %s at part %u", key, st->etags->len + 1);
  }

  n_parts = (size + st->part_size - 1) / st->part_size;
  while (st->etags->len < n_parts) {
    guint n = st->etags->len + 1;
    guint64 off = (guint64) (n - 1) * st->part_size;
    gchar *id = g_uri_escape_string (st->upload_id, NULL, FALSE);
    gchar *query = g_strdup_printf ("partNumber=%u&uploadId=%s", n, id);
    gchar *etag = NULL;

    res = put_s3 (s, fd, off, MIN (st->part_size, size - off), key, query,
        &etag, o);
    g_free (query);
    g_free (id);
    if (res != DASHCAM_OBJSTORE_DONE) {
      g_free (etag);
      /* the store forgot the upload (aborted, expired): once from scratch */
      if (o->http_status == 404 && o->reason
          && strstr (o->reason, "NoSuchUpload") && !restarted) {
        restarted = TRUE;
        g_clear_pointer (&st, resume_state_free);
        outcome_reset (o);
        goto again;
      }
      goto out;
    }
    g_ptr_array_add (st->etags, etag);
    o->parts_done = st->etags->len;
    line = resume_state_to_string (st);
    if (func)
      func (line, data);
    g_free (line);
  }
  res = complete (s, st, o);
  if (res == DASHCAM_OBJSTORE_REJECTED && o->http_status == 404
      && o->reason && strstr (o->reason, "NoSuchUpload")) {
    /* completed before, but the answer was lost (a power cut before the
     * caller kept it): the object is there, with our parts' ETag */
    gchar *expected = multipart_etag (st->etags);

    outcome_reset (o);
    res = head_object (s, key, size, expected, o);
    g_free (expected);
    if (res != DASHCAM_OBJSTORE_DONE && !restarted) {
      GST_INFO ("%s: the upload is gone and the object is not ours: "
          "starting over", key);
      restarted = TRUE;
      g_clear_pointer (&st, resume_state_free);
      outcome_reset (o);
      goto again;
    }
  }
  if (res == DASHCAM_OBJSTORE_DONE && func)
    func (NULL, data);

out:
  if (st)
    o->parts_done = st->etags->len;
  resume_state_free (st);
  return res;
}

/**
 * dashcam_objstore_upload:
 * @store: the store
 * @path: the file to upload
 * @key: its key (under the URI's path or prefix)
 * @resume_state: (nullable): a state given to @state_func by an earlier
 *   call for the same file and key
 * @state_func: (nullable): called after each step of a multipart upload
 * @user_data: for @state_func
 * @outcome: (out caller-allocates): what happened; clear it with
 *   dashcam_objstore_outcome_clear()
 *
 * Uploads @path, blocking (timeouts and dashcam_objstore_cancel() bound
 * it). %DASHCAM_OBJSTORE_DONE means the store answered success and its
 * checksum (S3 ETag) or size (HEAD) matches the file.
 *
 * Returns: @outcome->result
 */
DashcamObjstoreResult
dashcam_objstore_upload (DashcamObjstore * s, const gchar * path,
    const gchar * key, const gchar * resume_state,
    DashcamObjstoreStateFunc state_func, gpointer user_data,
    DashcamObjstoreOutcome * o)
{
  struct stat st;
  gint fd;
  DashcamObjstoreResult res;

  memset (o, 0, sizeof (*o));
  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0 || fstat (fd, &st) != 0) {
    res = set_outcome (o, DASHCAM_OBJSTORE_FAILED, FALSE, "%s: %s", path,
        g_strerror (errno));
    if (fd >= 0)
      close (fd);
    return res;
  }
  GST_INFO ("uploading %s (%" G_GUINT64_FORMAT " bytes) as %s to %s", path,
      (guint64) st.st_size, key, s->shown);
  if (!s->s3)
    res = put_http (s, fd, st.st_size, key, o);
  else if ((guint64) st.st_size > s->threshold)
    res = multipart (s, fd, st.st_size, key, resume_state, state_func,
        user_data, o);
  else
    res = put_s3 (s, fd, 0, st.st_size, key, NULL, NULL, o);
  close (fd);
  GST_INFO ("%s: %s%s%s, %" G_GUINT64_FORMAT " bytes sent", key,
      dashcam_objstore_result_name (res), o->reason ? ": " : "",
      o->reason ? o->reason : "", o->bytes_sent);
  return res;
}

/**
 * dashcam_objstore_abort:
 * @store: the store
 * @resume_state: a multipart resume state
 * @outcome: (out caller-allocates): what happened
 *
 * Aborts the multipart upload of @resume_state, whose parts the store
 * would otherwise keep (and bill). An upload the store no longer knows
 * counts as aborted.
 *
 * Returns: %DASHCAM_OBJSTORE_DONE once the store holds no part of it
 */
DashcamObjstoreResult
dashcam_objstore_abort (DashcamObjstore * s, const gchar * resume_state,
    DashcamObjstoreOutcome * o)
{
  ResumeState *st = resume_state_parse (resume_state);
  Request r = { s, "DELETE", NULL, -1, };
  DashcamObjstoreResult res;
  gchar *id, *query;

  memset (o, 0, sizeof (*o));
  if (st == NULL || !s->s3)
    return set_outcome (o, DASHCAM_OBJSTORE_FAILED, FALSE,
        "not a multipart resume state");
  id = g_uri_escape_string (st->upload_id, NULL, FALSE);
  query = g_strdup_printf ("uploadId=%s", id);
  r.url = object_url (s, st->key, query);
  res = perform (&r, o);
  if (res == DASHCAM_OBJSTORE_REJECTED && o->http_status == 404
      && o->reason && strstr (o->reason, "NoSuchUpload"))
    res = set_outcome (o, DASHCAM_OBJSTORE_DONE, FALSE, "no such upload");
  GST_INFO ("abort of %s: %s", r.url, dashcam_objstore_result_name (res));
  request_clear (&r);
  g_free (query);
  g_free (id);
  resume_state_free (st);
  return res;
}

/* ---- keys ---- */

static gboolean
expand_key (const gchar * format, const gchar * device, gint64 start_us,
    const gchar * segment, gchar ** key, GError ** error)
{
  GDateTime *t = g_date_time_new_from_unix_utc (start_us / G_USEC_PER_SEC);
  gchar *timed = t ? g_date_time_format (t, format) : NULL;
  GString *out = g_string_new (NULL);
  const gchar *p;

  if (t)
    g_date_time_unref (t);
  if (timed == NULL) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "backlog-key-format \"%s\" has a %% conversion that strftime does "
        "not know", format);
    goto fail;
  }
  for (p = timed; *p;) {
    const gchar *close;

    if (*p != '{') {
      g_string_append_c (out, *p++);
      continue;
    }
    close = strchr (p, '}');
    if (close && g_str_has_prefix (p, "{device}"))
      g_string_append (out, device);
    else if (close && g_str_has_prefix (p, "{segment}"))
      g_string_append (out, segment);
    else {
      g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
          "backlog-key-format \"%s\": unknown placeholder \"%.*s\" "
          "(known: {device}, {segment}, and strftime's %%Y %%m %%d "
          "%%H %%M %%S ... of the segment's UTC start)", format,
          close ? (gint) (close - p + 1) : (gint) strlen (p), p);
      goto fail;
    }
    p = close + 1;
  }
  g_free (timed);
  *key = g_string_free (out, FALSE);
  return TRUE;

fail:
  g_free (timed);
  g_string_free (out, TRUE);
  return FALSE;
}

static gboolean
key_is_safe (const gchar * key)
{
  gchar **parts;
  gboolean ok = TRUE;
  gint i;

  if (*key == '\0' || strlen (key) > DASHCAM_OBJSTORE_MAX_KEY_LENGTH)
    return FALSE;
  for (i = 0; key[i]; i++)
    if (g_ascii_iscntrl (key[i]) || key[i] == '\\')
      return FALSE;
  parts = g_strsplit (key, "/", -1);
  for (i = 0; parts[i] && ok; i++)
    ok = *parts[i] && !g_str_equal (parts[i], ".")
        && !g_str_equal (parts[i], "..");
  g_strfreev (parts);
  return ok;
}

/**
 * dashcam_objstore_key_format_validate:
 * @format: a backlog-key-format
 * @error: return location for a #GError
 *
 * A key format is a strftime(3) format of the segment's UTC start with
 * `{device}` and `{segment}` placeholders; it must contain `{segment}`
 * (else every segment would overwrite the same object) and give a key of
 * at most 1024 bytes, with no empty, `.` or `..` path component.
 *
 * Returns: %TRUE if @format is usable
 */
gboolean
dashcam_objstore_key_format_validate (const gchar * format, GError ** error)
{
  gchar *key = NULL;

  ensure_init ();
  if (format == NULL || strstr (format, "{segment}") == NULL) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "backlog-key-format \"%s\" has no {segment}: every segment would "
        "get the same key", format ? format : "(null)");
    return FALSE;
  }
  if (!expand_key (format, "device-0123456789abcdef",
          G_GINT64_CONSTANT (1795363200) * G_USEC_PER_SEC,
          "20261122T143000Z-000123", &key, error))
    return FALSE;
  if (!key_is_safe (key)) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "backlog-key-format \"%s\" gives the key \"%s\": empty, longer than "
        "%d bytes, with a control character or backslash, or an empty, "
        "\".\" or \"..\" path component", format, key,
        DASHCAM_OBJSTORE_MAX_KEY_LENGTH);
    g_free (key);
    return FALSE;
  }
  g_free (key);
  return TRUE;
}

/**
 * dashcam_objstore_key_expand:
 * @format: a backlog-key-format
 * @device: the device id
 * @start_us: the segment's UTC start, microseconds since the epoch
 * @segment: the segment's name without extension
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the object key
 */
gchar *
dashcam_objstore_key_expand (const gchar * format, const gchar * device,
    gint64 start_us, const gchar * segment, GError ** error)
{
  gchar *key = NULL;

  if (!expand_key (format, device, MAX (start_us, 0), segment, &key, error))
    return NULL;
  if (!key_is_safe (key)) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "backlog-key-format \"%s\" gives the unusable key \"%s\"", format,
        key);
    g_free (key);
    return NULL;
  }
  return key;
}
