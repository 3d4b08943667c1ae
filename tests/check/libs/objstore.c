/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* dashcamobjstore against real stores started here (tests/peers/): nginx
 * with WebDAV PUT over HTTPS (a CA made by openssl now) and s3rver behind
 * a proxy that verifies SigV4 (botocore), Content-MD5 and the SHA-256 as
 * S3 does, and can flip a byte, cut the link after some parts, hang in a
 * body or answer 5xx. Every object is fetched back with GET and compared
 * byte for byte. tests/peers/NOTES.md says what each peer forgives. */

#include <gst/check/gstcheck.h>
#include <glib/gstdio.h>

#include <curl/curl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dashcamobjstore.h"

#define SECRET "dashcam-test-Secret/0bj+st0re"
#define ACCESS "S3RVER"
#define BUCKET "dashcam-test"
#define MB (1024 * 1024)

typedef struct
{
  GPid pid;
  FILE *in;
  FILE *out;
  gchar *info;
  gchar *dir;
} Peer;

#define assert_result(call, want, o) G_STMT_START {                    \
    DashcamObjstoreResult got_ = (call);                                \
    fail_unless (got_ == (want), "%s, not %s: %s",                      \
        dashcam_objstore_result_name (got_),                            \
        dashcam_objstore_result_name (want),                            \
        (o)->reason ? (o)->reason : "");                                \
  } G_STMT_END

/* ---- every log line of the run, for the secret check ---- */

static GString *logged;
static GMutex log_lock;

static void
capture_log (GstDebugCategory * category, GstDebugLevel level,
    const gchar * file, const gchar * function, gint line, GObject * object,
    GstDebugMessage * message, gpointer user_data)
{
  g_mutex_lock (&log_lock);
  if (logged)
    g_string_append_printf (logged, "%s %s\n",
        gst_debug_category_get_name (category),
        gst_debug_message_get (message));
  g_mutex_unlock (&log_lock);
}

static void
child_setup (gpointer data)
{
  /* a peer never outlives the test */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static gint
info_int (const gchar * json, const gchar * name)
{
  gchar *pat = g_strdup_printf ("\"%s\": ", name);
  const gchar *p = strstr (json, pat);
  gint v = p ? atoi (p + strlen (pat)) : -1;

  g_free (pat);
  return v;
}

static gchar *
info_str (const gchar * json, const gchar * name)
{
  gchar *pat = g_strdup_printf ("\"%s\": \"", name);
  const gchar *p = strstr (json, pat), *e;
  gchar *v = NULL;

  if (p && (e = strchr (p + strlen (pat), '"')))
    v = g_strndup (p + strlen (pat), e - p - strlen (pat));
  g_free (pat);
  return v;
}

static gboolean
have_s3rver (void)
{
  const gchar *s3rver = g_getenv ("DASHCAM_S3RVER");

  /* the README's commands install it: missing, the tests would pass
   * having checked nothing */
  fail_unless (s3rver && g_file_test (s3rver, G_FILE_TEST_IS_EXECUTABLE),
      "no s3rver (DASHCAM_S3RVER=%s): scripts/install-s3rver.sh installs it",
      s3rver ? s3rver : "");
  return TRUE;
}

static Peer *
peer_start (const gchar * kind)
{
  Peer *p = g_new0 (Peer, 1);
  const gchar *script = g_getenv ("DASHCAM_OBJSTORE_PEER");
  /* Debian's python3 with Debian's python3-botocore, not one on PATH */
  gchar *argv[] = { (gchar *) "/usr/bin/python3", (gchar *) script, (gchar *) kind,
    NULL, (gchar *) "--secret", (gchar *) SECRET, (gchar *) "--lifetime",
    (gchar *) "300", NULL
  };
  gchar line[4096];
  gint in_fd, out_fd;
  GError *err = NULL;

  fail_unless (script != NULL, "DASHCAM_OBJSTORE_PEER is not set");
  p->dir = g_dir_make_tmp ("objstore-XXXXXX", &err);
  fail_unless (p->dir != NULL);
  argv[3] = p->dir;
  fail_unless (g_spawn_async_with_pipes (NULL, argv, NULL,
          G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, child_setup, NULL,
          &p->pid, &in_fd, &out_fd, NULL, &err), "%s", err ? err->message :
      "");
  p->in = fdopen (in_fd, "w");
  p->out = fdopen (out_fd, "r");
  /* the peer bounds its own start (20 s per server) and exits if stuck */
  fail_unless (fgets (line, sizeof (line), p->out) != NULL,
      "the %s peer did not start (see %s)", kind, p->dir);
  p->info = g_strdup (line);
  GST_INFO ("%s peer: %s", kind, p->info);
  return p;
}

static gchar *
peer_cmd (Peer * p, const gchar * cmd)
{
  gchar line[4096];

  fprintf (p->in, "%s\n", cmd);
  fflush (p->in);
  fail_unless (fgets (line, sizeof (line), p->out) != NULL);
  return g_strdup (line);
}

static gint
peer_stat (Peer * p, const gchar * name)
{
  gchar *s = peer_cmd (p, "stats");
  gint v = info_int (s, name);

  g_free (s);
  return v;
}

static void
peer_stop (Peer * p)
{
  gint status, i;

  fclose (p->in);
  for (i = 0; i < 100 && waitpid (p->pid, &status, WNOHANG) == 0; i++)
    g_usleep (100 * 1000);
  if (i == 100) {
    kill (p->pid, SIGKILL);
    waitpid (p->pid, &status, 0);
  }
  fclose (p->out);
  g_spawn_close_pid (p->pid);
  {
    gchar *argv[] = { (gchar *) "rm", (gchar *) "-rf", p->dir, NULL };
    g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
        NULL, NULL, NULL);
  }
  g_free (p->info);
  g_free (p->dir);
  g_free (p);
}

/* ---- data ---- */

static gchar *
make_file (const gchar * dir, const gchar * name, gsize size, guint32 seed)
{
  gchar *path = g_build_filename (dir, name, NULL);
  guint32 *buf = g_malloc (size + 4);
  GRand *r = g_rand_new_with_seed (seed);
  gsize i;

  for (i = 0; i < size / 4 + 1; i++)
    buf[i] = g_rand_int (r);
  fail_unless (g_file_set_contents (path, (gchar *) buf, size, NULL));
  g_rand_free (r);
  g_free (buf);
  return path;
}

static size_t
collect (char *data, size_t size, size_t n, void *user_data)
{
  g_byte_array_append (user_data, (guint8 *) data, size * n);
  return size * n;
}

/* GET @url (no credentials: s3rver serves anonymous GETs on its own
 * port); the HTTP status in @status. */
static GBytes *
http_get (const gchar * url, const gchar * ca_file, glong * status)
{
  CURL *c = curl_easy_init ();
  GByteArray *body = g_byte_array_new ();
  CURLcode rc;

  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, body);
  curl_easy_setopt (c, CURLOPT_TIMEOUT, 60L);
  if (ca_file)
    curl_easy_setopt (c, CURLOPT_CAINFO, ca_file);
  rc = curl_easy_perform (c);
  fail_unless (rc == CURLE_OK, "GET %s: %s", url, curl_easy_strerror (rc));
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, status);
  curl_easy_cleanup (c);
  return g_byte_array_free_to_bytes (body);
}

static void
assert_same_object (const gchar * url, const gchar * ca_file,
    const gchar * path)
{
  gchar *data;
  gsize len;
  glong status = 0;
  GBytes *got = http_get (url, ca_file, &status);

  fail_unless (g_file_get_contents (path, &data, &len, NULL));
  fail_unless_equals_int (status, 200);
  fail_unless_equals_uint64 (g_bytes_get_size (got), len);
  fail_unless (memcmp (g_bytes_get_data (got, NULL), data, len) == 0,
      "%s differs from %s", url, path);
  g_bytes_unref (got);
  g_free (data);
}

static void
assert_no_object (const gchar * url)
{
  glong status = 0;
  GBytes *got = http_get (url, NULL, &status);

  fail_unless_equals_int (status, 404);
  g_bytes_unref (got);
}

static gchar *
s3_object_url (Peer * p, const gchar * key)
{
  return g_strdup_printf ("http://127.0.0.1:%d/" BUCKET "/%s",
      info_int (p->info, "s3rver_port"), key);
}

static DashcamObjstore *
s3_store (Peer * p, const gchar * bucket, const gchar * secret,
    guint stall_ms)
{
  gchar *endpoint = g_strdup_printf ("http://127.0.0.1:%d",
      info_int (p->info, "port"));
  gchar *uri = g_strdup_printf ("s3://%s/cams", bucket);
  DashcamObjstoreConfig cfg = { 0, };
  DashcamObjstore *s;
  GError *err = NULL;

  cfg.uri = uri;
  cfg.endpoint = endpoint;
  cfg.region = "eu-central-1";
  cfg.access_key = ACCESS;
  cfg.secret_key = secret;
  cfg.connect_timeout_ms = 5000;
  cfg.stall_timeout_ms = stall_ms;
  s = dashcam_objstore_new (&cfg, &err);
  fail_unless (s != NULL, "%s", err ? err->message : "");
  g_free (uri);
  g_free (endpoint);
  return s;
}

static void
assert_secret_not_logged (void)
{
  g_mutex_lock (&log_lock);
  fail_unless (logged->len > 0, "nothing was logged");
  fail_if (strstr (logged->str, SECRET) != NULL, "the secret was logged");
  /* the secret's signing key is derived from it; the proxy's secret is
   * also part of what a careless URL or header dump would show */
  fail_if (strstr (logged->str, "Authorization") != NULL);
  g_mutex_unlock (&log_lock);
}

/* ---- keys ---- */

GST_START_TEST (test_key_format)
{
  GError *err = NULL;
  gchar *key;
  /* 2026-11-22 14:30:00 UTC */
  gint64 start = G_GINT64_CONSTANT (1795357800) * G_USEC_PER_SEC;

  fail_unless (dashcam_objstore_key_format_validate
      (DASHCAM_OBJSTORE_DEFAULT_KEY_FORMAT, NULL));
  key = dashcam_objstore_key_expand (DASHCAM_OBJSTORE_DEFAULT_KEY_FORMAT,
      "cam7", start, "20261122T143000Z-000042", NULL);
  fail_unless_equals_string (key, "cam7/2026/11/22/20261122T143000Z-000042.ts");
  g_free (key);
  key = dashcam_objstore_key_expand ("fleet/{device}/%H%M%S-{segment}",
      "cam7", start, "s1", NULL);
  fail_unless_equals_string (key, "fleet/cam7/143000-s1");
  g_free (key);

  /* every segment would overwrite one object */
  fail_if (dashcam_objstore_key_format_validate ("{device}/%Y.ts", &err));
  fail_unless (strstr (err->message, "backlog-key-format") != NULL);
  g_clear_error (&err);
  fail_if (dashcam_objstore_key_format_validate ("{device}/{start}/{segment}",
          &err));
  fail_unless (strstr (err->message, "{start}") != NULL, "%s", err->message);
  g_clear_error (&err);
  fail_if (dashcam_objstore_key_format_validate ("%Q/{segment}", &err));
  g_clear_error (&err);
  fail_if (dashcam_objstore_key_format_validate ("/{segment}", &err));
  g_clear_error (&err);
  fail_if (dashcam_objstore_key_format_validate ("a/../{segment}", &err));
  g_clear_error (&err);
  fail_if (dashcam_objstore_key_format_validate ("a//{segment}", &err));
  g_clear_error (&err);
  fail_if (dashcam_objstore_key_format_validate ("{segment", &err));
  g_clear_error (&err);
}

GST_END_TEST;

GST_START_TEST (test_config_refused)
{
  DashcamObjstoreConfig cfg = { 0, };
  GError *err = NULL;

  cfg.uri = "https://user:pw@example.com/x";
  fail_if (dashcam_objstore_new (&cfg, &err));
  fail_if (strstr (err->message, "pw") != NULL, "%s", err->message);
  g_clear_error (&err);
  cfg.uri = "s3://Bad_Bucket/x";
  fail_if (dashcam_objstore_new (&cfg, &err));
  g_clear_error (&err);
  cfg.uri = "s3://good-bucket/x";
  g_unsetenv ("AWS_ACCESS_KEY_ID");
  g_unsetenv ("AWS_SECRET_ACCESS_KEY");
  fail_if (dashcam_objstore_new (&cfg, &err));
  fail_unless (strstr (err->message, "credentials") != NULL);
  g_clear_error (&err);
  cfg.access_key = "a";
  cfg.secret_key = "b";
  cfg.part_size = 1024 * 1024;
  fail_if (dashcam_objstore_new (&cfg, &err));
  g_clear_error (&err);
}

GST_END_TEST;

/* ---- nginx, WebDAV PUT ---- */

static DashcamObjstoreResult
http_upload (const gchar * uri, const gchar * ca, const gchar * path,
    const gchar * key, DashcamObjstoreOutcome * o)
{
  DashcamObjstoreConfig cfg = { 0, };
  DashcamObjstore *s;
  DashcamObjstoreResult res;
  GError *err = NULL;

  cfg.uri = uri;
  cfg.ca_file = ca;
  cfg.connect_timeout_ms = 5000;
  cfg.stall_timeout_ms = 5000;
  s = dashcam_objstore_new (&cfg, &err);
  fail_unless (s != NULL, "%s", err ? err->message : "");
  res = dashcam_objstore_upload (s, path, key, NULL, NULL, NULL, o);
  dashcam_objstore_free (s);
  return res;
}

GST_START_TEST (test_http_nginx)
{
  Peer *p = peer_start ("nginx");
  gchar *ca = info_str (p->info, "ca");
  gint https = info_int (p->info, "https_port");
  gint http = info_int (p->info, "http_port");
  gchar *file = make_file (p->dir, "seg.ts", 3 * MB + 17, 1);
  DashcamObjstoreOutcome o = { 0, };
  gchar *uri, *url;
  struct
  {
    const gchar *fmt;
    gint port;
    const gchar *ca;
    DashcamObjstoreResult res;
    gboolean retryable;
    const gchar *reason;
  } fails[] = {
    /* the certificate names "localhost" only */
    {"https://127.0.0.1:%d/cams", 0, NULL, DASHCAM_OBJSTORE_REJECTED, FALSE,
        "TLS"},
    /* not signed by the system store's CAs */
    {"https://localhost:%d/cams", 0, NULL, DASHCAM_OBJSTORE_REJECTED, FALSE,
        "TLS"},
    {"https://localhost:%d/status403", 0, "ca", DASHCAM_OBJSTORE_REJECTED,
        FALSE, "HTTP 403"},
    {"https://localhost:%d/status404", 0, "ca", DASHCAM_OBJSTORE_REJECTED,
        FALSE, "HTTP 404"},
    {"https://localhost:%d/status503", 0, "ca", DASHCAM_OBJSTORE_UNREACHABLE,
        TRUE, "HTTP 503"},
  };
  guint i;

  /* https with our CA, and plain http, each fetched back */
  uri = g_strdup_printf ("https://localhost:%d/cams", https);
  fail_unless_equals_int (http_upload (uri, ca, file, "cam1/2026/a.ts", &o),
      DASHCAM_OBJSTORE_DONE);
  fail_unless (o.bytes_sent >= 3 * MB + 17, "%" G_GUINT64_FORMAT,
      o.bytes_sent);
  dashcam_objstore_outcome_clear (&o);
  url = g_strdup_printf ("%s/cam1/2026/a.ts", uri);
  assert_same_object (url, ca, file);
  g_free (url);
  g_free (uri);

  uri = g_strdup_printf ("http://127.0.0.1:%d/plain/", http);
  fail_unless_equals_int (http_upload (uri, NULL, file, "b.ts", &o),
      DASHCAM_OBJSTORE_DONE);
  dashcam_objstore_outcome_clear (&o);
  url = g_strdup_printf ("%sb.ts", uri);
  assert_same_object (url, NULL, file);
  g_free (url);
  g_free (uri);

  for (i = 0; i < G_N_ELEMENTS (fails); i++) {
    uri = g_strdup_printf (fails[i].fmt, https);
    fail_unless_equals_int (http_upload (uri, fails[i].ca ? ca : NULL, file,
            "c.ts", &o), fails[i].res);
    fail_unless_equals_int (o.retryable, fails[i].retryable);
    fail_unless (strstr (o.reason, fails[i].reason) != NULL, "%s: %s", uri,
        o.reason);
    dashcam_objstore_outcome_clear (&o);
    g_free (uri);
  }

  /* nobody listens there any more */
  peer_stop (p);
  g_free (file);
  file = make_file (g_get_tmp_dir (), "objstore-gone.ts", 1000, 9);
  uri = g_strdup_printf ("http://127.0.0.1:%d/cams", http);
  fail_unless_equals_int (http_upload (uri, NULL, file, "d.ts", &o),
      DASHCAM_OBJSTORE_UNREACHABLE);
  fail_unless (o.retryable);
  dashcam_objstore_outcome_clear (&o);
  g_unlink (file);
  g_free (uri);
  g_free (file);
  g_free (ca);
}

GST_END_TEST;

/* ---- S3 ---- */

GST_START_TEST (test_s3_put)
{
  Peer *p;
  DashcamObjstore *s;
  DashcamObjstoreOutcome o = { 0, };
  gchar *file, *url;

  if (!have_s3rver ())
    return;
  p = peer_start ("s3");
  file = make_file (p->dir, "seg.ts", 3 * MB + 5, 2);
  s = s3_store (p, BUCKET, SECRET, 5000);
  assert_result (dashcam_objstore_upload (s, file,
          "cam1/2026/11/22/s1.ts", NULL, NULL, NULL, &o), DASHCAM_OBJSTORE_DONE, &o);
  dashcam_objstore_outcome_clear (&o);
  url = s3_object_url (p, "cams/cam1/2026/11/22/s1.ts");
  assert_same_object (url, NULL, file);
  /* the proxy saw signed, checksummed bodies only */
  fail_unless_equals_int (peer_stat (p, "no_md5"), 0);
  fail_unless_equals_int (peer_stat (p, "sig_mismatch"), 0);
  fail_unless_equals_int (peer_stat (p, "puts"), 1);

  /* credentials and region from the usual environment */
  {
    gchar *endpoint = g_strdup_printf ("http://127.0.0.1:%d",
        info_int (p->info, "port"));
    DashcamObjstoreConfig cfg = { "s3://" BUCKET, endpoint, };
    DashcamObjstore *env_store;

    g_setenv ("AWS_ACCESS_KEY_ID", ACCESS, TRUE);
    g_setenv ("AWS_SECRET_ACCESS_KEY", SECRET, TRUE);
    g_setenv ("AWS_REGION", "ap-south-2", TRUE);
    env_store = dashcam_objstore_new (&cfg, NULL);
    fail_unless (env_store != NULL);
    assert_result (dashcam_objstore_upload (env_store, file, "env.ts", NULL,
            NULL, NULL, &o), DASHCAM_OBJSTORE_DONE, &o);
    dashcam_objstore_outcome_clear (&o);
    dashcam_objstore_free (env_store);
    g_free (url);
    url = s3_object_url (p, "env.ts");
    assert_same_object (url, NULL, file);
    g_free (endpoint);
  }

  /* an empty segment is an object too */
  g_file_set_contents (file, "", 0, NULL);
  assert_result (dashcam_objstore_upload (s, file, "empty.ts", NULL,
          NULL, NULL, &o), DASHCAM_OBJSTORE_DONE, &o);
  dashcam_objstore_outcome_clear (&o);

  /* a 5xx: retry later */
  g_free (peer_cmd (p, "status 503 1"));
  fail_unless_equals_int (dashcam_objstore_upload (s, file, "e.ts", NULL,
          NULL, NULL, &o), DASHCAM_OBJSTORE_UNREACHABLE);
  fail_unless (o.retryable);
  fail_unless_equals_int (o.http_status, 503);
  dashcam_objstore_outcome_clear (&o);
  dashcam_objstore_free (s);
  assert_secret_not_logged ();
  peer_stop (p);
  g_free (url);
  g_free (file);
}

GST_END_TEST;

GST_START_TEST (test_s3_refused)
{
  Peer *p;
  DashcamObjstore *s;
  DashcamObjstoreOutcome o = { 0, };
  gchar *file, *url;

  if (!have_s3rver ())
    return;
  p = peer_start ("s3");
  file = make_file (p->dir, "seg.ts", MB, 3);

  /* a wrong secret: the signature does not match */
  s = s3_store (p, BUCKET, "not-the-" SECRET, 5000);
  fail_unless_equals_int (dashcam_objstore_upload (s, file, "w.ts", NULL,
          NULL, NULL, &o), DASHCAM_OBJSTORE_REJECTED);
  fail_if (o.retryable);
  fail_unless_equals_int (o.http_status, 403);
  fail_unless (strstr (o.reason, "SignatureDoesNotMatch"), "%s", o.reason);
  dashcam_objstore_outcome_clear (&o);
  dashcam_objstore_free (s);
  fail_unless_equals_int (peer_stat (p, "sig_mismatch"), 1);
  url = s3_object_url (p, "cams/w.ts");
  assert_no_object (url);
  g_free (url);

  /* a device clock an hour off: refused, but worth retrying once the
   * clock is set */
  s = s3_store (p, BUCKET, SECRET, 5000);
  g_free (peer_cmd (p, "skew 3600"));
  assert_result (dashcam_objstore_upload (s, file, "t.ts", NULL, NULL, NULL,
          &o), DASHCAM_OBJSTORE_REJECTED, &o);
  fail_unless (o.retryable);
  fail_unless (strstr (o.reason, "RequestTimeTooSkewed"), "%s", o.reason);
  dashcam_objstore_outcome_clear (&o);
  g_free (peer_cmd (p, "skew 0"));
  dashcam_objstore_free (s);

  /* a bucket the store does not have */
  s = s3_store (p, "no-such-bucket", SECRET, 5000);
  fail_unless_equals_int (dashcam_objstore_upload (s, file, "b.ts", NULL,
          NULL, NULL, &o), DASHCAM_OBJSTORE_REJECTED);
  fail_unless_equals_int (o.http_status, 404);
  fail_unless (strstr (o.reason, "NoSuchBucket"), "%s", o.reason);
  dashcam_objstore_outcome_clear (&o);
  dashcam_objstore_free (s);
  assert_secret_not_logged ();
  peer_stop (p);
  g_free (file);
}

GST_END_TEST;

/* Criterion 4: a byte flipped on the way is refused by the store (its MD5
 * no longer matches Content-MD5), the object is never the corrupted one,
 * and the retry stores the right bytes. */
GST_START_TEST (test_s3_corrupt)
{
  Peer *p;
  DashcamObjstore *s;
  DashcamObjstoreOutcome o = { 0, };
  gchar *file, *url;

  if (!have_s3rver ())
    return;
  p = peer_start ("s3");
  file = make_file (p->dir, "seg.ts", 2 * MB, 4);
  s = s3_store (p, BUCKET, SECRET, 5000);
  url = s3_object_url (p, "cams/f.ts");

  g_free (peer_cmd (p, "flip 1"));
  fail_unless_equals_int (dashcam_objstore_upload (s, file, "f.ts", NULL,
          NULL, NULL, &o), DASHCAM_OBJSTORE_CORRUPT);
  fail_unless (o.retryable);
  fail_unless (strstr (o.reason, "BadDigest"), "%s", o.reason);
  dashcam_objstore_outcome_clear (&o);
  fail_unless_equals_int (peer_stat (p, "flipped"), 1);
  assert_no_object (url);

  assert_result (dashcam_objstore_upload (s, file, "f.ts", NULL,
          NULL, NULL, &o), DASHCAM_OBJSTORE_DONE, &o);
  dashcam_objstore_outcome_clear (&o);
  assert_same_object (url, NULL, file);
  dashcam_objstore_free (s);
  g_free (url);
  peer_stop (p);
  g_free (file);
}

GST_END_TEST;

/* A store that stops reading in the middle of a body: a timeout after
 * stall-timeout, bounded, not a hang. */
GST_START_TEST (test_s3_hang)
{
  Peer *p;
  DashcamObjstore *s;
  DashcamObjstoreOutcome o = { 0, };
  gchar *file;
  gint64 t0, elapsed;

  if (!have_s3rver ())
    return;
  p = peer_start ("s3");
  /* more than the socket buffers hold, so that the client must wait */
  file = make_file (p->dir, "seg.ts", 6 * MB, 5);
  s = s3_store (p, BUCKET, SECRET, 2000);
  g_free (peer_cmd (p, "hang"));
  t0 = g_get_monotonic_time ();
  assert_result (dashcam_objstore_upload (s, file, "h.ts", NULL,
          NULL, NULL, &o), DASHCAM_OBJSTORE_TIMEOUT, &o);
  elapsed = g_get_monotonic_time () - t0;
  fail_unless (o.retryable);
  /* a bound, not a benchmark: 2 s of stall, generous for a loaded box */
  fail_unless (elapsed < 45 * G_USEC_PER_SEC, "%" G_GINT64_FORMAT " us",
      elapsed);
  g_printerr ("hanging store: timeout after %.1f s (stall-timeout 2 s)\n",
      elapsed / 1e6);
  dashcam_objstore_outcome_clear (&o);
  g_free (peer_cmd (p, "release"));
  dashcam_objstore_free (s);
  peer_stop (p);
  g_free (file);
}

GST_END_TEST;

typedef struct
{
  GMutex lock;
  gchar *state;
  gchar *last_state;            /* the last one that was not NULL */
  guint calls;
  gint64 first_part_done;       /* monotonic, us */
} StateLog;

/* Called on the uploading thread. */
static void
keep_state (const gchar * state, gpointer user_data)
{
  StateLog *l = user_data;

  fail_if (state && strchr (state, '\n'));
  fail_if (state && strstr (state, SECRET));
  g_mutex_lock (&l->lock);
  g_free (l->state);
  l->state = g_strdup (state);
  if (state) {
    g_free (l->last_state);
    l->last_state = g_strdup (state);
  }
  l->calls++;
  if (state && !g_str_has_suffix (state, "etags=") && !l->first_part_done)
    l->first_part_done = g_get_monotonic_time ();
  g_mutex_unlock (&l->lock);
}

typedef struct
{
  StateLog *log;
  DashcamObjstore *store;
  gint64 cancelled_at;
} Canceller;

/* As stop() would: from another thread, 0.5 s into part 2. */
static gpointer
cancel_in_part_2 (gpointer data)
{
  Canceller *c = data;
  gint i;

  for (i = 0; i < 1200; i++) {
    gboolean done;

    g_mutex_lock (&c->log->lock);
    done = c->log->first_part_done != 0;
    g_mutex_unlock (&c->log->lock);
    if (done)
      break;
    g_usleep (50 * 1000);
  }
  g_usleep (500 * 1000);
  c->cancelled_at = g_get_monotonic_time ();
  dashcam_objstore_cancel (c->store);
  return NULL;
}

/* Criterion 3 on the library: a 30 MB segment in 8 MB parts whose link
 * breaks (the store stops listening) after 2 parts resumes from the saved
 * state, by a new store object as after a reboot, at part 3: the proxy
 * received less than 1.3x the file in total, and the object is the file. */
GST_START_TEST (test_s3_multipart_resume)
{
  Peer *p;
  DashcamObjstore *s;
  DashcamObjstoreOutcome o = { 0, };
  StateLog l = { 0, };
  gchar *file, *url;
  gsize size = 30 * MB + 12345;
  gint received;

  if (!have_s3rver ())
    return;
  p = peer_start ("s3");
  file = make_file (p->dir, "big.ts", size, 6);
  url = s3_object_url (p, "cams/big.ts");

  s = s3_store (p, BUCKET, SECRET, 5000);
  g_free (peer_cmd (p, "cut 2"));
  assert_result (dashcam_objstore_upload (s, file, "big.ts", NULL,
          keep_state, &l, &o), DASHCAM_OBJSTORE_UNREACHABLE, &o);
  fail_unless (o.retryable);
  fail_unless_equals_int (o.parts_done, 2);
  fail_unless (l.state && strstr (l.state, "s3mpu1 "), "%s", l.state);
  GST_INFO ("cut after 2 parts, state: %s", l.state);
  dashcam_objstore_outcome_clear (&o);
  dashcam_objstore_free (s);
  assert_no_object (url);

  /* the store is back; a new store object, as after a restart */
  g_free (peer_cmd (p, "start"));
  s = s3_store (p, BUCKET, SECRET, 5000);
  assert_result (dashcam_objstore_upload (s, file, "big.ts",
          l.state, keep_state, &l, &o), DASHCAM_OBJSTORE_DONE, &o);
  fail_unless_equals_int (o.parts_resumed, 2);
  fail_unless_equals_int (o.parts_done, 4);
  fail_unless (l.state == NULL, "%s", l.state);
  dashcam_objstore_outcome_clear (&o);
  assert_same_object (url, NULL, file);

  /* a power cut after the store completed it, before the caller kept
   * that: the state with every part resumes to done, sending no part */
  fail_unless (strstr (l.last_state, "etags=") != NULL);
  assert_result (dashcam_objstore_upload (s, file, "big.ts", l.last_state,
          keep_state, &l, &o), DASHCAM_OBJSTORE_DONE, &o);
  fail_unless_equals_int (o.parts_resumed, 4);
  fail_unless (o.bytes_sent < 4096, "%" G_GUINT64_FORMAT, o.bytes_sent);
  dashcam_objstore_outcome_clear (&o);
  dashcam_objstore_free (s);
  assert_same_object (url, NULL, file);

  received = peer_stat (p, "body_bytes");
  GST_INFO ("%d body bytes for a %" G_GSIZE_FORMAT "-byte file (%.2fx)",
      received, size, received / (double) size);
  g_printerr ("multipart resume: %d body bytes received for a %"
      G_GSIZE_FORMAT "-byte file (%.2fx)\n", received, size,
      received / (double) size);
  fail_unless (received < 1.3 * size);
  fail_unless_equals_int (peer_stat (p, "parts"), 4);
  fail_unless_equals_int (peer_stat (p, "no_md5"), 0);
  assert_secret_not_logged ();
  g_free (l.state);
  g_free (l.last_state);
  g_free (url);
  peer_stop (p);
  g_free (file);
}

GST_END_TEST;

/* stop(): cancel from another thread ends a paced upload in the middle
 * of a part; an aborted upload is gone from the store, and resuming its
 * state starts over cleanly. Pacing holds the body to max-bitrate. */
GST_START_TEST (test_s3_cancel_abort)
{
  Peer *p;
  DashcamObjstore *s;
  DashcamObjstoreOutcome o = { 0, };
  StateLog l = { 0, };
  Canceller c = { &l, NULL, 0 };
  GThread *thread;
  gchar *file, *url, *state;
  gsize size = 11 * MB;
  gint64 t0, t1;
  gdouble part_secs;

  if (!have_s3rver ())
    return;
  p = peer_start ("s3");
  file = make_file (p->dir, "mid.ts", size, 7);
  url = s3_object_url (p, "cams/mid.ts");
  {
    gchar *endpoint = g_strdup_printf ("http://127.0.0.1:%d",
        info_int (p->info, "port"));
    DashcamObjstoreConfig cfg = { "s3://" BUCKET "/cams", endpoint,
      "eu-central-1", ACCESS, SECRET, NULL, NULL, 16 * 1000 * 1000,
      0, 5 * MB, 5000, 5000
    };
    s = dashcam_objstore_new (&cfg, NULL);
    g_free (endpoint);
  }

  c.store = s;
  g_mutex_init (&l.lock);
  thread = g_thread_new ("canceller", cancel_in_part_2, &c);
  t0 = g_get_monotonic_time ();
  assert_result (dashcam_objstore_upload (s, file, "mid.ts", NULL,
          keep_state, &l, &o), DASHCAM_OBJSTORE_CANCELLED, &o);
  t1 = g_get_monotonic_time ();
  g_thread_join (thread);
  fail_unless_equals_int (o.parts_done, 1);
  /* some of part 2 went out before the cancel */
  fail_unless (o.bytes_sent > 5 * MB, "%" G_GUINT64_FORMAT, o.bytes_sent);
  /* a bound, not a benchmark: libcurl looks at least once a second */
  fail_unless (t1 - c.cancelled_at < 10 * G_USEC_PER_SEC);
  /* the pace is a floor: 5 MiB at 16 Mbit/s cannot take less than 2.6 s
   * (unpaced: ~0.2 s here) */
  part_secs = (l.first_part_done - t0) / 1e6;
  fail_unless (part_secs > 2.5, "%.2f s", part_secs);
  g_printerr ("paced at 16 Mbit/s: part 1 in %.2f s (%.1f Mbit/s), "
      "cancel took %.2f s\n", part_secs, 5 * MB * 8 / part_secs / 1e6,
      (t1 - c.cancelled_at) / 1e6);
  dashcam_objstore_outcome_clear (&o);
  dashcam_objstore_reset_cancel (s);

  state = g_strdup (l.state);
  assert_result (dashcam_objstore_abort (s, state, &o),
      DASHCAM_OBJSTORE_DONE, &o);
  dashcam_objstore_outcome_clear (&o);
  fail_unless_equals_int (peer_stat (p, "aborts"), 1);
  /* aborting twice is fine: the store no longer knows it */
  assert_result (dashcam_objstore_abort (s, state, &o),
      DASHCAM_OBJSTORE_DONE, &o);
  dashcam_objstore_outcome_clear (&o);

  /* the aborted upload's state: the store says NoSuchUpload, so the
   * upload starts over and completes */
  dashcam_objstore_set_max_bitrate (s, 0);
  assert_result (dashcam_objstore_upload (s, file, "mid.ts", state,
          keep_state, &l, &o), DASHCAM_OBJSTORE_DONE, &o);
  fail_unless_equals_int (o.parts_done, 3);
  fail_unless_equals_int (o.parts_resumed, 0);
  dashcam_objstore_outcome_clear (&o);
  assert_same_object (url, NULL, file);

  dashcam_objstore_free (s);
  g_free (state);
  g_free (l.state);
  g_free (l.last_state);
  g_mutex_clear (&l.lock);
  g_free (url);
  peer_stop (p);
  g_free (file);
}

GST_END_TEST;

static void
setup (void)
{
  g_mutex_lock (&log_lock);
  logged = g_string_new (NULL);
  g_mutex_unlock (&log_lock);
}

static void
teardown (void)
{
  g_mutex_lock (&log_lock);
  g_string_free (logged, TRUE);
  logged = NULL;
  g_mutex_unlock (&log_lock);
}

static Suite *
objstore_suite (void)
{
  Suite *s = suite_create ("objstore");
  TCase *tc = tcase_create ("general");

  /* GST_DEBUG=*:9 for the whole run, into capture_log */
  gst_debug_set_active (TRUE);
  gst_debug_set_default_threshold (GST_LEVEL_MEMDUMP);
  gst_debug_remove_log_function (gst_debug_log_default);
  gst_debug_add_log_function (capture_log, NULL, NULL);
  curl_global_init (CURL_GLOBAL_DEFAULT);
  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_key_format);
  tcase_add_test (tc, test_config_refused);
  tcase_add_test (tc, test_http_nginx);
  tcase_add_test (tc, test_s3_put);
  tcase_add_test (tc, test_s3_refused);
  tcase_add_test (tc, test_s3_corrupt);
  tcase_add_test (tc, test_s3_hang);
  tcase_add_test (tc, test_s3_multipart_resume);
  tcase_add_test (tc, test_s3_cancel_abort);
  return s;
}

GST_CHECK_MAIN (objstore);
