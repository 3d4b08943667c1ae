/* gst-dashcam
 * Copyright (C) 2026 The gst-dashcam authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * This library is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Library General Public License for more details.
 *
 * You should have received a copy of the GNU Library General Public
 * License along with this library; if not, write to the
 * Free Software Foundation, Inc., 51 Franklin St, Fifth Floor,
 * Boston, MA 02110-1301, USA.
 */

/*
 * dashcam-ingest: the project's reference SRT ingest receiver.
 *
 * It stands in for a media server that records (MediaMTX, SRS) in tests and
 * demos: a libsrt listener in live mode that accepts any number of callers at
 * once and writes what each one sends to its own file under --root, named
 * after the caller's streamid:
 *
 *   publish:car42/20261122-143000   ->  car42/20261122-143000.ts  (MediaMTX)
 *   #!::r=live/car42,m=publish      ->  live/car42.ts             (SRS)
 *   foo/bar                         ->  foo/bar.ts
 *   (empty)                         ->  default.ts
 *
 * Design decisions:
 *
 * - Streamids are checked in the listen callback, before the handshake
 *   completes, so a caller is refused with a reject reason it can read with
 *   srt_getrejectreason(): SRT_REJX_BAD_REQUEST for a streamid that cannot
 *   name a file under root, SRT_REJX_BAD_MODE for `read:` or `m=request`,
 *   SRT_REJX_FORBIDDEN for a --reject pattern.  Wrong or missing passphrases
 *   are refused by libsrt itself (SRTO_ENFORCEDENCRYPTION), which gives us no
 *   hook, so those refusals are not logged here.
 * - Files are created only once a connection is accepted, with O_EXCL, one
 *   path component at a time under a directory fd of root (O_NOFOLLOW), so a
 *   streamid can neither overwrite a file nor reach outside root.  A busy or
 *   reused streamid gets `<path>.1.ts`, `<path>.2.ts`, ...
 * - One thread and one srt_epoll set serve the listener and all connections.
 *   Payloads go to the file with write(2) as they come out of libsrt, so a
 *   SIGKILL loses nothing that was already delivered.
 * - When a caller closes, libsrt (1.5.1) still holds the packets of the
 *   last latency window, already acknowledged to the caller, and releases
 *   them from the broken socket only at their TSBPD time.  A receiver that
 *   closes on the first read error loses them; we keep reading them out
 *   (--drop-tail restores the naive behaviour, to test senders against it).
 *   A sender cannot tell the two apart: "all acknowledged" is not "all
 *   recorded" unless it waits about the latency before closing.
 * - libsrt 1.5.1 does not signal a socket that broke before it was added to
 *   the epoll set, so connection states are also polled once a second.
 * - Passphrases are never printed, and the password field of a MediaMTX
 *   "publish:path:user:pass" streamid is masked in the log.
 */

#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>

#include <srt/srt.h>
#include <srt/access_control.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#define DEFAULT_BIND_ADDRESS "127.0.0.1"
#define DEFAULT_STREAMID_PATH "default"

/* Live mode payloads are at most 1316 bytes; leave room for any MTU. */
#define RECV_BUFFER_SIZE 1500
/* SRTO_STREAMID is at most 512 bytes. */
#define MAX_STREAMID_LEN 512
/* Keeps "<component>.<n>.ts" well below NAME_MAX. */
#define MAX_COMPONENT_LEN 200
#define MAX_NAME_SUFFIX 100000
#define LISTEN_BACKLOG 32
#define EPOLL_TIMEOUT_MS 100
/* While a closed caller's last packets wait for their TSBPD time. */
#define TAIL_POLL_MS 10
#define TAIL_GRACE_MS 1000
#define STATE_CHECK_INTERVAL_US G_USEC_PER_SEC
#define EPOLL_MAX_EVENTS 64

typedef struct
{
  gchar *bind_address;
  gint port;
  gchar *root;
  gchar *passphrase;
  gint pbkeylen;
  gint latency;
  gchar **reject;
  gboolean drop_tail;
  gboolean quiet;
} IngestSettings;

typedef struct
{
  guint id;
  SRTSOCKET sock;
  gint fd;
  gchar *relpath;
  guint64 bytes;
  /* Monotonic time (us) after which a broken connection's tail is given
   * up; 0 while the caller is connected. */
  gint64 tail_deadline;
} IngestConn;

typedef enum
{
  DRAIN_AGAIN,
  DRAIN_BROKEN,
  DRAIN_WRITE_ERROR,
} DrainResult;

typedef struct
{
  /* Read-only once the listener is up: the listen callback reads it from
   * a libsrt thread without locking. */
  IngestSettings settings;

  /* Only touched by the main thread. */
  gint root_fd;
  SRTSOCKET listener;
  gint eid;
  GHashTable *conns;            /* SRTSOCKET -> IngestConn */
  guint next_id;
  guint n_tails;                /* broken connections still draining */
} IngestServer;

static volatile sig_atomic_t stop_requested = 0;

static void
on_stop_signal (int signum)
{
  stop_requested = 1;
}

/* *INDENT-OFF* */
static void ingest_log (const IngestServer * self, const gchar * format, ...)
    G_GNUC_PRINTF (2, 3);
/* *INDENT-ON* */

/* Called from the main thread and from libsrt's receiver thread (listen
 * callback); one locked write per line keeps lines whole. */
static void
ingest_log (const IngestServer * self, const gchar * format, ...)
{
  g_autofree gchar *line = NULL;
  va_list args;

  if (self->settings.quiet)
    return;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);

  flockfile (stdout);
  fputs (line, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
  funlockfile (stdout);
}

static gchar *
format_address (const struct sockaddr *sa)
{
  gchar host[INET6_ADDRSTRLEN] = "?";

  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) sa;

    inet_ntop (AF_INET6, &sin6->sin6_addr, host, sizeof (host));
    return g_strdup_printf ("[%s]:%u", host, ntohs (sin6->sin6_port));
  } else if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *) sa;

    inet_ntop (AF_INET, &sin->sin_addr, host, sizeof (host));
    return g_strdup_printf ("%s:%u", host, ntohs (sin->sin_port));
  }

  return g_strdup ("?");
}

static const gchar *
reject_reason_name (gint code)
{
  switch (code) {
    case SRT_REJX_BAD_REQUEST:
      return "bad-request";
    case SRT_REJX_FORBIDDEN:
      return "forbidden";
    case SRT_REJX_BAD_MODE:
      return "bad-mode";
    default:
      return "rejected";
  }
}

/* Turns a path taken from a streamid into a relative path of sanitised
 * components.  Returns 0 or the SRT_REJX_* code to refuse with. */
static gint
sanitise_path (const gchar * path, gchar ** relpath)
{
  g_auto (GStrv) parts = NULL;
  g_autoptr (GString) out = g_string_new (NULL);
  guint i;

  if (*path == '\0') {
    *relpath = g_strdup (DEFAULT_STREAMID_PATH);
    return 0;
  }
  if (*path == '/')
    return SRT_REJX_BAD_REQUEST;

  parts = g_strsplit (path, "/", -1);
  for (i = 0; parts[i] != NULL; i++) {
    gchar *c;

    if (*parts[i] == '\0')
      continue;
    if (strcmp (parts[i], ".") == 0 || strcmp (parts[i], "..") == 0)
      return SRT_REJX_BAD_REQUEST;
    if (strlen (parts[i]) > MAX_COMPONENT_LEN)
      return SRT_REJX_BAD_REQUEST;

    for (c = parts[i]; *c != '\0'; c++) {
      if (!g_ascii_isalnum (*c) && *c != '.' && *c != '_' && *c != '-')
        *c = '_';
    }
    if (out->len > 0)
      g_string_append_c (out, '/');
    g_string_append (out, parts[i]);
  }

  *relpath = g_string_free (g_steal_pointer (&out), FALSE);
  return 0;
}

/* SRT access control syntax, as SRS uses it: "#!::key=value,key=value".
 * The path is "r" (resource); SRS also takes "h=app/stream" when there is
 * no "r", so "h" with a '/' is the fallback.  "m" must be "publish" if
 * present; "u", "s", "t" and unknown keys are ignored. */
static gint
parse_srs_streamid (const gchar * keys, gchar ** relpath)
{
  g_auto (GStrv) pairs = g_strsplit (keys, ",", -1);
  const gchar *resource = NULL;
  const gchar *host = NULL;
  const gchar *mode = NULL;
  guint i;

  for (i = 0; pairs[i] != NULL; i++) {
    gchar *eq = strchr (pairs[i], '=');

    if (eq == NULL)
      return SRT_REJX_BAD_REQUEST;
    *eq = '\0';
    if (strcmp (pairs[i], "r") == 0)
      resource = eq + 1;
    else if (strcmp (pairs[i], "h") == 0)
      host = eq + 1;
    else if (strcmp (pairs[i], "m") == 0)
      mode = eq + 1;
  }

  if (mode != NULL && strcmp (mode, "publish") != 0)
    return SRT_REJX_BAD_MODE;
  if (resource == NULL && host != NULL && strchr (host, '/') != NULL)
    resource = host;
  if (resource == NULL || *resource == '\0')
    return SRT_REJX_BAD_REQUEST;

  return sanitise_path (resource, relpath);
}

/* Maps a streamid to the file path (without ".ts") it is recorded to.
 * Returns 0 or the SRT_REJX_* code to refuse the caller with. */
static gint
streamid_to_path (const gchar * streamid, gchar ** relpath)
{
  *relpath = NULL;

  if (g_str_has_prefix (streamid, "#!::"))
    return parse_srs_streamid (streamid + 4, relpath);

  if (g_str_has_prefix (streamid, "read:"))
    return SRT_REJX_BAD_MODE;

  if (g_str_has_prefix (streamid, "publish:")) {
    /* MediaMTX: publish:path[:user:pass][:query] */
    g_autofree gchar *path = g_strdup (streamid + strlen ("publish:"));
    gchar *colon = strchr (path, ':');

    if (colon != NULL)
      *colon = '\0';
    return sanitise_path (path, relpath);
  }

  return sanitise_path (streamid, relpath);
}

/* The streamid as it goes into the log: escaped, and with the password of
 * a MediaMTX "publish:path:user:pass[:query]" masked. */
static gchar *
streamid_for_log (const gchar * streamid)
{
  g_auto (GStrv) fields = NULL;
  g_autofree gchar *masked = NULL;

  if (g_str_has_prefix (streamid, "publish:") ||
      g_str_has_prefix (streamid, "read:")) {
    fields = g_strsplit (streamid, ":", -1);
    if (g_strv_length (fields) >= 4) {
      g_free (fields[3]);
      fields[3] = g_strdup ("***");
      masked = g_strjoinv (":", fields);
      streamid = masked;
    }
  }

  return g_strescape (streamid, NULL);
}

/* Thread-safe: only reads the immutable settings. */
static gint
ingest_server_check_streamid (const IngestServer * self,
    const gchar * streamid, gchar ** relpath)
{
  gchar **pattern;

  *relpath = NULL;
  for (pattern = self->settings.reject; pattern && *pattern; pattern++) {
    if (g_pattern_match_simple (*pattern, streamid))
      return SRT_REJX_FORBIDDEN;
  }

  return streamid_to_path (streamid, relpath);
}

/* Runs on libsrt's receiver thread for each incoming handshake. */
static int
ingest_listen_cb (void *opaque, SRTSOCKET ns, int hsversion,
    const struct sockaddr *peeraddr, const char *streamid)
{
  IngestServer *self = opaque;
  g_autofree gchar *relpath = NULL;
  g_autofree gchar *peer = NULL;
  g_autofree gchar *escaped = NULL;
  gint code;

  code = ingest_server_check_streamid (self, streamid ? streamid : "",
      &relpath);
  if (code == 0)
    return 0;

  srt_setrejectreason (ns, code);

  peer = format_address (peeraddr);
  escaped = streamid_for_log (streamid ? streamid : "");
  ingest_log (self, "refuse peer=%s streamid=\"%s\" reason=%s code=%d",
      peer, escaped, reject_reason_name (code), code);

  return -1;
}

/* Opens (creating them) the directories of @relpath under @root_fd without
 * following symlinks.  Returns a directory fd, or -1 with errno set. */
static gint
open_parent_dir (gint root_fd, gchar ** components, guint n_dirs)
{
  gint dir_fd = dup (root_fd);
  guint i;

  for (i = 0; i < n_dirs && dir_fd >= 0; i++) {
    gint next_fd;

    if (mkdirat (dir_fd, components[i], 0755) < 0 && errno != EEXIST) {
      gint saved_errno = errno;

      close (dir_fd);
      errno = saved_errno;
      return -1;
    }
    next_fd = openat (dir_fd, components[i],
        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close (dir_fd);
    dir_fd = next_fd;
  }

  return dir_fd;
}

/* Creates a new file for @relpath (sanitised, without ".ts") and never
 * reuses an existing one.  Returns the fd, or -1 with errno set. */
static gint
open_unique_file (gint root_fd, const gchar * relpath, gchar ** created)
{
  g_auto (GStrv) components = g_strsplit (relpath, "/", -1);
  guint n_dirs = g_strv_length (components) - 1;
  const gchar *base = components[n_dirs];
  gint dir_fd, fd = -1, saved_errno;
  guint n;

  dir_fd = open_parent_dir (root_fd, components, n_dirs);
  if (dir_fd < 0)
    return -1;

  for (n = 0; n < MAX_NAME_SUFFIX; n++) {
    g_autofree gchar *name = n == 0 ? g_strdup_printf ("%s.ts", base) :
        g_strdup_printf ("%s.%u.ts", base, n);

    fd = openat (dir_fd, name,
        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) {
      g_free (components[n_dirs]);
      components[n_dirs] = g_steal_pointer (&name);
      *created = g_strjoinv ("/", components);
      break;
    }
    if (errno != EEXIST)
      break;
  }

  saved_errno = errno;
  close (dir_fd);
  errno = saved_errno;
  return fd;
}

static gboolean
write_all (gint fd, const gchar * data, gsize len)
{
  while (len > 0) {
    gssize n = write (fd, data, len);

    if (n < 0) {
      if (errno == EINTR)
        continue;
      return FALSE;
    }
    data += n;
    len -= n;
  }

  return TRUE;
}

static void
ingest_conn_free (IngestConn * conn)
{
  if (conn->fd >= 0)
    close (conn->fd);
  if (conn->sock != SRT_INVALID_SOCK)
    srt_close (conn->sock);
  g_free (conn->relpath);
  g_free (conn);
}

/* Main thread only. */
static void
ingest_server_close_conn (IngestServer * self, IngestConn * conn,
    const gchar * reason)
{
  srt_epoll_remove_usock (self->eid, conn->sock);
  if (conn->tail_deadline != 0)
    self->n_tails--;
  ingest_log (self, "close id=%u bytes=%" G_GUINT64_FORMAT " file=%s "
      "reason=%s", conn->id, conn->bytes, conn->relpath, reason);
  /* Frees @conn. */
  g_hash_table_remove (self->conns, GINT_TO_POINTER (conn->sock));
}

/* Writes out everything libsrt has ready for @conn.  Main thread only. */
static DrainResult
ingest_conn_drain (IngestConn * conn)
{
  gchar buf[RECV_BUFFER_SIZE];

  for (;;) {
    gint n = srt_recvmsg (conn->sock, buf, sizeof (buf));

    if (n > 0) {
      if (!write_all (conn->fd, buf, n)) {
        g_printerr ("dashcam-ingest: write to %s failed: %s\n",
            conn->relpath, g_strerror (errno));
        return DRAIN_WRITE_ERROR;
      }
      conn->bytes += n;
    } else if (n < 0 && srt_getlasterror (NULL) == SRT_EASYNCRCV) {
      return DRAIN_AGAIN;
    } else {
      return DRAIN_BROKEN;
    }
  }
}

/* Main thread only. */
static void
ingest_server_add_conn (IngestServer * self, SRTSOCKET sock,
    const struct sockaddr *peeraddr)
{
  gchar streamid[MAX_STREAMID_LEN + 1] = "";
  gint len = sizeof (streamid);
  gboolean no = FALSE;
  gint events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  g_autofree gchar *path = NULL;
  g_autofree gchar *relpath = NULL;
  g_autofree gchar *peer = format_address (peeraddr);
  g_autofree gchar *escaped = NULL;
  IngestConn *conn;
  gint fd, code;

  /* libsrt wants room for the terminating NUL. */
  if (srt_getsockflag (sock, SRTO_STREAMID, streamid, &len) < 0)
    goto no_streamid;
  streamid[CLAMP (len, 0, MAX_STREAMID_LEN)] = '\0';
  escaped = streamid_for_log (streamid);

  /* Already checked in the listen callback; cannot fail here. */
  code = ingest_server_check_streamid (self, streamid, &path);
  if (code != 0)
    goto refuse;

  fd = open_unique_file (self->root_fd, path, &relpath);
  if (fd < 0)
    goto open_failed;

  srt_setsockflag (sock, SRTO_RCVSYN, &no, sizeof (no));

  conn = g_new0 (IngestConn, 1);
  conn->id = ++self->next_id;
  conn->sock = sock;
  conn->fd = fd;
  conn->relpath = g_steal_pointer (&relpath);
  g_hash_table_insert (self->conns, GINT_TO_POINTER (sock), conn);
  srt_epoll_add_usock (self->eid, sock, &events);

  ingest_log (self, "connect id=%u peer=%s streamid=\"%s\" file=%s",
      conn->id, peer, escaped, conn->relpath);
  return;

  /* ERRORS */
no_streamid:
  {
    g_printerr ("dashcam-ingest: cannot read the streamid of %s: %s\n",
        peer, srt_getlasterror_str ());
    srt_close (sock);
    return;
  }
refuse:
  {
    ingest_log (self, "refuse peer=%s streamid=\"%s\" reason=%s code=%d",
        peer, escaped, reject_reason_name (code), code);
    srt_close (sock);
    return;
  }
open_failed:
  {
    g_printerr ("dashcam-ingest: cannot create file for \"%s\" under %s: "
        "%s\n", path, self->settings.root, g_strerror (errno));
    ingest_log (self, "refuse peer=%s streamid=\"%s\" reason=io-error",
        peer, escaped);
    srt_close (sock);
    return;
  }
}

/* One connection per epoll event: the listener stays readable while more
 * are pending, and libsrt logs an error for every accept that finds none.
 * Main thread only. */
static void
ingest_server_accept (IngestServer * self)
{
  struct sockaddr_storage peer = { 0 };
  gint peerlen = sizeof (peer);
  SRTSOCKET sock;

  sock = srt_accept (self->listener, (struct sockaddr *) &peer, &peerlen);
  if (sock == SRT_INVALID_SOCK) {
    if (srt_getlasterror (NULL) != SRT_EASYNCRCV)
      g_printerr ("dashcam-ingest: accept failed: %s\n",
          srt_getlasterror_str ());
    return;
  }

  ingest_server_add_conn (self, sock, (struct sockaddr *) &peer);
}

static gboolean
parse_bind_address (const gchar * address, gint port,
    struct sockaddr_storage *sa, gint * salen)
{
  struct sockaddr_in *sin = (struct sockaddr_in *) sa;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) sa;

  memset (sa, 0, sizeof (*sa));
  if (inet_pton (AF_INET, address, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons (port);
    *salen = sizeof (*sin);
    return TRUE;
  }
  if (inet_pton (AF_INET6, address, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons (port);
    *salen = sizeof (*sin6);
    return TRUE;
  }

  return FALSE;
}

/* Sets the options that accepted sockets inherit from the listener. */
static gboolean
ingest_server_configure (IngestServer * self, gint family)
{
  const IngestSettings *s = &self->settings;
  gint transtype = SRTT_LIVE;
  gboolean no = FALSE, yes = TRUE;
  gint v6only = 0;

  if (srt_setsockflag (self->listener, SRTO_TRANSTYPE, &transtype,
          sizeof (transtype)) < 0 ||
      srt_setsockflag (self->listener, SRTO_RCVSYN, &no, sizeof (no)) < 0)
    return FALSE;
  if (family == AF_INET6 && srt_setsockflag (self->listener, SRTO_IPV6ONLY,
          &v6only, sizeof (v6only)) < 0)
    return FALSE;
  if (s->latency >= 0 && srt_setsockflag (self->listener, SRTO_LATENCY,
          &s->latency, sizeof (s->latency)) < 0)
    return FALSE;
  if (s->pbkeylen > 0 && srt_setsockflag (self->listener, SRTO_PBKEYLEN,
          &s->pbkeylen, sizeof (s->pbkeylen)) < 0)
    return FALSE;
  if (s->passphrase != NULL) {
    if (srt_setsockflag (self->listener, SRTO_PASSPHRASE, s->passphrase,
            strlen (s->passphrase)) < 0 ||
        srt_setsockflag (self->listener, SRTO_ENFORCEDENCRYPTION, &yes,
            sizeof (yes)) < 0)
      return FALSE;
  }

  return TRUE;
}

static gboolean
ingest_server_listen (IngestServer * self)
{
  struct sockaddr_storage sa;
  gint salen, events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  g_autofree gchar *bound = NULL;

  if (!parse_bind_address (self->settings.bind_address, self->settings.port,
          &sa, &salen))
    goto bad_address;

  self->listener = srt_create_socket ();
  if (self->listener == SRT_INVALID_SOCK)
    goto srt_failed;
  if (!ingest_server_configure (self, sa.ss_family))
    goto srt_failed;
  if (srt_bind (self->listener, (struct sockaddr *) &sa, salen) < 0)
    goto srt_failed;
  if (srt_listen_callback (self->listener, ingest_listen_cb, self) < 0)
    goto srt_failed;
  if (srt_listen (self->listener, LISTEN_BACKLOG) < 0)
    goto srt_failed;

  self->eid = srt_epoll_create ();
  if (self->eid < 0 ||
      srt_epoll_add_usock (self->eid, self->listener, &events) < 0)
    goto srt_failed;

  salen = sizeof (sa);
  if (srt_getsockname (self->listener, (struct sockaddr *) &sa, &salen) < 0)
    goto srt_failed;
  bound = format_address ((struct sockaddr *) &sa);

  /* Always printed, even with --quiet: tests read the port from it. */
  printf ("listening on %s\n", bound);
  fflush (stdout);
  return TRUE;

  /* ERRORS */
bad_address:
  {
    g_printerr ("dashcam-ingest: --bind: \"%s\" is not a numeric IPv4 or "
        "IPv6 address\n", self->settings.bind_address);
    return FALSE;
  }
srt_failed:
  {
    g_printerr ("dashcam-ingest: cannot listen on %s port %d: %s\n",
        self->settings.bind_address, self->settings.port,
        srt_getlasterror_str ());
    return FALSE;
  }
}

/* When a caller closes, libsrt still holds the packets it received in the
 * last latency window and hands them out of a broken socket only at their
 * TSBPD time.  A receiver that closes on the first read error loses them
 * (--drop-tail does that); we keep reading until they are out.  The
 * connection leaves the epoll set, which would report it at every wait.
 * Main thread only. */
static void
ingest_server_conn_broken (IngestServer * self, IngestConn * conn)
{
  /* Edge-triggered ERR has fired already. */
  const gint quiet_events = SRT_EPOLL_ERR | SRT_EPOLL_ET;
  gint rcvdata = 0, latency = 0;
  gint len = sizeof (rcvdata);

  if (self->settings.drop_tail ||
      srt_getsockflag (conn->sock, SRTO_RCVDATA, &rcvdata, &len) < 0 ||
      rcvdata <= 0) {
    ingest_server_close_conn (self, conn, "peer-gone");
    return;
  }

  len = sizeof (latency);
  srt_getsockflag (conn->sock, SRTO_RCVLATENCY, &latency, &len);
  srt_epoll_update_usock (self->eid, conn->sock, &quiet_events);
  conn->tail_deadline = g_get_monotonic_time () +
      (gint64) (MAX (latency, 0) + TAIL_GRACE_MS) * 1000;
  self->n_tails++;
}

/* Reads what @conn has ready; @broken: libsrt reported an error on it.
 * Main thread only. */
static void
ingest_server_service_conn (IngestServer * self, IngestConn * conn,
    gboolean broken)
{
  switch (ingest_conn_drain (conn)) {
    case DRAIN_AGAIN:
      if (!broken)
        break;
      /* fall through */
    case DRAIN_BROKEN:
      ingest_server_conn_broken (self, conn);
      break;
    case DRAIN_WRITE_ERROR:
      ingest_server_close_conn (self, conn, "write-error");
      break;
  }
}

/* libsrt 1.5.1 never reports a socket that broke before it joined the epoll
 * set (a caller that closes right after connecting), so connections are
 * also checked by state: after accept and once a second.
 * Main thread only. */
static void
ingest_server_check_states (IngestServer * self)
{
  GList *conns, *l;

  conns = g_hash_table_get_values (self->conns);
  for (l = conns; l != NULL; l = l->next) {
    IngestConn *conn = l->data;

    if (conn->tail_deadline == 0 && srt_getsockstate (conn->sock) >=
        SRTS_BROKEN)
      ingest_server_service_conn (self, conn, TRUE);
  }
  g_list_free (conns);
}

/* Main thread only. */
static void
ingest_server_handle_event (IngestServer * self, const SRT_EPOLL_EVENT * ev)
{
  IngestConn *conn;

  if (ev->fd == self->listener) {
    ingest_server_accept (self);
    ingest_server_check_states (self);
    return;
  }

  conn = g_hash_table_lookup (self->conns, GINT_TO_POINTER (ev->fd));
  if (conn == NULL || conn->tail_deadline != 0)
    return;

  ingest_server_service_conn (self, conn, (ev->events & SRT_EPOLL_ERR) != 0);
}

/* Main thread only. */
static void
ingest_server_drain_tails (IngestServer * self)
{
  GList *conns, *l;
  gint64 now = g_get_monotonic_time ();

  conns = g_hash_table_get_values (self->conns);
  for (l = conns; l != NULL; l = l->next) {
    IngestConn *conn = l->data;
    gint rcvdata = 0, len = sizeof (rcvdata);

    if (conn->tail_deadline == 0)
      continue;

    if (ingest_conn_drain (conn) == DRAIN_WRITE_ERROR)
      ingest_server_close_conn (self, conn, "write-error");
    else if (srt_getsockflag (conn->sock, SRTO_RCVDATA, &rcvdata, &len) < 0
        || rcvdata <= 0 || now > conn->tail_deadline)
      ingest_server_close_conn (self, conn, "peer-gone");
  }
  g_list_free (conns);
}

static gboolean
ingest_server_run (IngestServer * self)
{
  SRT_EPOLL_EVENT events[EPOLL_MAX_EVENTS];
  gint64 next_check = 0;

  while (!stop_requested) {
    gint i, n;

    n = srt_epoll_uwait (self->eid, events, EPOLL_MAX_EVENTS,
        self->n_tails > 0 ? TAIL_POLL_MS : EPOLL_TIMEOUT_MS);
    if (n < 0 && srt_getlasterror (NULL) != SRT_ETIMEOUT) {
      g_printerr ("dashcam-ingest: epoll failed: %s\n",
          srt_getlasterror_str ());
      return FALSE;
    }
    for (i = 0; i < n && !stop_requested; i++)
      ingest_server_handle_event (self, &events[i]);
    if (self->n_tails > 0)
      ingest_server_drain_tails (self);
    if (g_get_monotonic_time () >= next_check) {
      ingest_server_check_states (self);
      next_check = g_get_monotonic_time () + STATE_CHECK_INTERVAL_US;
    }
  }

  return TRUE;
}

/* Main thread only. */
static void
ingest_server_shutdown (IngestServer * self)
{
  GList *conns, *l;

  conns = g_hash_table_get_values (self->conns);
  for (l = conns; l != NULL; l = l->next) {
    IngestConn *conn = l->data;

    if (ingest_conn_drain (conn) == DRAIN_WRITE_ERROR)
      ingest_server_close_conn (self, conn, "write-error");
    else
      ingest_server_close_conn (self, conn, "shutdown");
  }
  g_list_free (conns);

  if (self->listener != SRT_INVALID_SOCK) {
    srt_close (self->listener);
    self->listener = SRT_INVALID_SOCK;
  }
  if (self->eid >= 0)
    srt_epoll_release (self->eid);
  self->eid = -1;
}

static gboolean
parse_options (IngestSettings * s, gint argc, gchar ** argv)
{
  GOptionEntry entries[] = {
    {"port", 'p', 0, G_OPTION_ARG_INT, &s->port,
        "UDP port to listen on (0 = pick a free port)", "PORT"},
    {"root", 'r', 0, G_OPTION_ARG_FILENAME, &s->root,
        "Directory to record into (created if missing)", "DIR"},
    {"bind", 'b', 0, G_OPTION_ARG_STRING, &s->bind_address,
          "Numeric address to listen on (default " DEFAULT_BIND_ADDRESS ")",
        "ADDR"},
    {"passphrase", 0, 0, G_OPTION_ARG_STRING, &s->passphrase,
          "Require SRT AES encryption with this passphrase (10-79 characters)",
        "SECRET"},
    {"pbkeylen", 0, 0, G_OPTION_ARG_INT, &s->pbkeylen,
        "AES key length in bytes: 16, 24 or 32 (default: libsrt's)", "BYTES"},
    {"latency", 0, 0, G_OPTION_ARG_INT, &s->latency,
        "SRT latency in milliseconds (default: libsrt's, 120)", "MS"},
    {"reject", 0, 0, G_OPTION_ARG_STRING_ARRAY, &s->reject,
        "Refuse streamids matching this glob with SRT_REJX_FORBIDDEN (1403); "
          "repeatable", "GLOB"},
    {"drop-tail", 0, 0, G_OPTION_ARG_NONE, &s->drop_tail,
        "Close a connection at the first read error after the caller left, "
          "dropping what libsrt still holds back for latency", NULL},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &s->quiet,
        "Only print the 'listening on' line; silence libsrt's log", NULL},
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_autoptr (GError) err = NULL;

  ctx = g_option_context_new ("- record SRT callers to one file per streamid");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx, "Reference SRT ingest receiver of "
      PACKAGE_NAME " " VERSION ".");
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    g_printerr ("dashcam-ingest: %s\n", err->message);
    return FALSE;
  }

  if (argc > 1)
    g_printerr ("dashcam-ingest: unexpected argument '%s'\n", argv[1]);
  else if (s->root == NULL)
    g_printerr ("dashcam-ingest: --root is required\n");
  else if (s->port == -1)
    g_printerr ("dashcam-ingest: --port is required\n");
  else if (s->port < 0 || s->port > 65535)
    g_printerr ("dashcam-ingest: --port %d is not in 0-65535\n", s->port);
  else if (s->pbkeylen != 0 && s->pbkeylen != 16 && s->pbkeylen != 24 &&
      s->pbkeylen != 32)
    g_printerr ("dashcam-ingest: --pbkeylen %d is not 16, 24 or 32\n",
        s->pbkeylen);
  else if (s->latency < -1)
    g_printerr ("dashcam-ingest: --latency %d is negative\n", s->latency);
  else if (s->passphrase != NULL && (strlen (s->passphrase) < 10 ||
          strlen (s->passphrase) > 79))
    /* Never echo the passphrase itself. */
    g_printerr ("dashcam-ingest: --passphrase must be 10 to 79 characters "
        "long\n");
  else
    return TRUE;

  return FALSE;
}

static gboolean
open_root (IngestServer * self)
{
  const gchar *root = self->settings.root;

  if (g_mkdir_with_parents (root, 0755) < 0)
    goto failed;
  self->root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (self->root_fd < 0)
    goto failed;

  return TRUE;

  /* ERRORS */
failed:
  {
    g_printerr ("dashcam-ingest: --root %s: %s\n", root, g_strerror (errno));
    return FALSE;
  }
}

static void
install_signal_handlers (void)
{
  struct sigaction sa = { 0 };

  sa.sa_handler = on_stop_signal;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);

  /* A test that stops reading our stdout must not kill us. */
  signal (SIGPIPE, SIG_IGN);
}

int
main (int argc, char **argv)
{
  IngestServer self = { 0 };
  gint ret = EXIT_FAILURE;

  self.settings.port = -1;
  self.settings.latency = -1;
  self.root_fd = -1;
  self.listener = SRT_INVALID_SOCK;
  self.eid = -1;
  self.conns = g_hash_table_new_full (NULL, NULL, NULL,
      (GDestroyNotify) ingest_conn_free);

  if (!parse_options (&self.settings, argc, argv))
    goto out;
  if (self.settings.bind_address == NULL)
    self.settings.bind_address = g_strdup (DEFAULT_BIND_ADDRESS);
  if (!open_root (&self))
    goto out;

  install_signal_handlers ();
  srt_startup ();
  srt_setloglevel (self.settings.quiet ? LOG_CRIT : LOG_ERR);

  if (ingest_server_listen (&self) && ingest_server_run (&self))
    ret = EXIT_SUCCESS;
  ingest_server_shutdown (&self);
  srt_cleanup ();

out:
  g_hash_table_unref (self.conns);
  if (self.root_fd >= 0)
    close (self.root_fd);
  g_free (self.settings.bind_address);
  g_free (self.settings.root);
  g_free (self.settings.passphrase);
  g_strfreev (self.settings.reject);
  return ret;
}
