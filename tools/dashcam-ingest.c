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
 * - Data that libsrt still holds back for TSBPD when a caller closes is lost:
 *   libsrt does not deliver it after the connection is broken.  A sender that
 *   needs every byte on disk (the backlog uploader) must wait for its send
 *   buffer to drain and then about the peer latency before closing.
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
  gboolean quiet;
} IngestSettings;

typedef struct
{
  guint id;
  SRTSOCKET sock;
  gint fd;
  gchar *relpath;
  guint64 bytes;
} IngestConn;

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
} IngestServer;

static volatile sig_atomic_t stop_requested = 0;

static void
on_stop_signal (int signum)
{
  stop_requested = 1;
}

/* Called from the main thread and from libsrt's receiver thread (listen
 * callback); one locked write per line keeps lines whole. */
static void G_GNUC_PRINTF (2, 3)
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

/* SRS access control syntax: "#!::key=value,key=value". */
static gint
parse_srs_streamid (const gchar * keys, gchar ** relpath)
{
  g_auto (GStrv) pairs = g_strsplit (keys, ",", -1);
  const gchar *resource = NULL;
  const gchar *mode = NULL;
  guint i;

  for (i = 0; pairs[i] != NULL; i++) {
    gchar *eq = strchr (pairs[i], '=');

    if (eq == NULL)
      return SRT_REJX_BAD_REQUEST;
    *eq = '\0';
    if (strcmp (pairs[i], "r") == 0)
      resource = eq + 1;
    else if (strcmp (pairs[i], "m") == 0)
      mode = eq + 1;
    /* "h" (host/vhost), "u", "s", "t" and unknown keys are ignored. */
  }

  if (mode != NULL && strcmp (mode, "publish") != 0)
    return SRT_REJX_BAD_MODE;
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
  escaped = g_strescape (streamid ? streamid : "", NULL);
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
  ingest_log (self, "close id=%u bytes=%" G_GUINT64_FORMAT " file=%s "
      "reason=%s", conn->id, conn->bytes, conn->relpath, reason);
  /* Frees @conn. */
  g_hash_table_remove (self->conns, GINT_TO_POINTER (conn->sock));
}

/* Writes out everything libsrt has ready for @conn.  Returns FALSE with
 * @reason set when the connection is over.  Main thread only. */
static gboolean
ingest_conn_drain (IngestConn * conn, const gchar ** reason)
{
  gchar buf[RECV_BUFFER_SIZE];

  for (;;) {
    gint n = srt_recvmsg (conn->sock, buf, sizeof (buf));

    if (n > 0) {
      if (!write_all (conn->fd, buf, n)) {
        g_printerr ("dashcam-ingest: write to %s failed: %s\n",
            conn->relpath, g_strerror (errno));
        *reason = "write-error";
        return FALSE;
      }
      conn->bytes += n;
    } else if (n == 0) {
      *reason = "eof";
      return FALSE;
    } else if (srt_getlasterror (NULL) == SRT_EASYNCRCV) {
      return TRUE;
    } else {
      *reason = "peer-gone";
      return FALSE;
    }
  }
}

/* Main thread only. */
static void
ingest_server_add_conn (IngestServer * self, SRTSOCKET sock,
    const struct sockaddr *peeraddr)
{
  gchar streamid[MAX_STREAMID_LEN + 1] = "";
  gint len = sizeof (streamid) - 1;
  gboolean no = FALSE;
  gint events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  g_autofree gchar *path = NULL;
  g_autofree gchar *relpath = NULL;
  g_autofree gchar *peer = format_address (peeraddr);
  g_autofree gchar *escaped = NULL;
  IngestConn *conn;
  gint fd, code;

  if (srt_getsockflag (sock, SRTO_STREAMID, streamid, &len) == 0)
    streamid[CLAMP (len, 0, MAX_STREAMID_LEN)] = '\0';
  escaped = g_strescape (streamid, NULL);

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

/* Main thread only. */
static void
ingest_server_accept (IngestServer * self)
{
  for (;;) {
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

/* Main thread only. */
static void
ingest_server_handle_event (IngestServer * self, const SRT_EPOLL_EVENT * ev)
{
  IngestConn *conn;
  const gchar *reason = NULL;

  if (ev->fd == self->listener) {
    ingest_server_accept (self);
    return;
  }

  conn = g_hash_table_lookup (self->conns, GINT_TO_POINTER (ev->fd));
  if (conn == NULL)
    return;

  /* A broken socket may still hold data: read it before closing. */
  if (!ingest_conn_drain (conn, &reason))
    ingest_server_close_conn (self, conn, reason);
  else if (ev->events & SRT_EPOLL_ERR)
    ingest_server_close_conn (self, conn, "peer-gone");
}

static gboolean
ingest_server_run (IngestServer * self)
{
  SRT_EPOLL_EVENT events[EPOLL_MAX_EVENTS];

  while (!stop_requested) {
    gint i, n;

    n = srt_epoll_uwait (self->eid, events, EPOLL_MAX_EVENTS,
        EPOLL_TIMEOUT_MS);
    if (n < 0) {
      if (srt_getlasterror (NULL) == SRT_ETIMEOUT)
        continue;
      g_printerr ("dashcam-ingest: epoll failed: %s\n",
          srt_getlasterror_str ());
      return FALSE;
    }
    for (i = 0; i < n && !stop_requested; i++)
      ingest_server_handle_event (self, &events[i]);
  }

  return TRUE;
}

/* Main thread only. */
static void
ingest_server_shutdown (IngestServer * self)
{
  GList *conns, *l;

  if (self->listener != SRT_INVALID_SOCK) {
    srt_close (self->listener);
    self->listener = SRT_INVALID_SOCK;
  }

  conns = g_hash_table_get_values (self->conns);
  for (l = conns; l != NULL; l = l->next) {
    IngestConn *conn = l->data;
    const gchar *reason = "shutdown";

    ingest_conn_drain (conn, &reason);
    ingest_server_close_conn (self, conn, reason);
  }
  g_list_free (conns);

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
