/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Streamid templates and SRT URIs.
 *
 * A streamid template is text with placeholders: `{device}`, `{start}` (UTC
 * `%Y%m%d-%H%M%S`, what MediaMTX paths and SRS stream names commonly carry)
 * and, for backlog uploads, `{segment}`. Anything else in braces is an
 * error, found when the element starts rather than when a server refuses
 * the name. SRT limits a streamid to 512 bytes.
 */

#include "dashcamtemplate.h"
#include "dashcamcatalog.h"
#include "dashcamnaming.h"

#include <stdlib.h>
#include <string.h>

static gboolean
expand (const gchar * tmpl, const DashcamTemplateValues * v,
    gboolean allow_segment, GString * out, GError ** error)
{
  const gchar *p = tmpl;

  while (*p) {
    const gchar *open = strchr (p, '{'), *close;
    gsize len;

    if (open == NULL) {
      g_string_append (out, p);
      break;
    }
    g_string_append_len (out, p, open - p);
    close = strchr (open, '}');
    if (close == NULL) {
      gchar *shown = dashcam_streamid_mask (tmpl);

      g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
          "unterminated '{' in \"%s\"", shown);
      g_free (shown);
      return FALSE;
    }
    len = close - open - 1;
    if (len == 6 && strncmp (open + 1, "device", 6) == 0) {
      g_string_append (out, v ? v->device : "device");
    } else if (len == 5 && strncmp (open + 1, "start", 5) == 0) {
      gchar *t = dashcam_format_utc (v ? v->start_us : 0, "%Y%m%d-%H%M%S");

      g_string_append (out, t ? t : "");
      g_free (t);
    } else if (allow_segment && len == 7
        && strncmp (open + 1, "segment", 7) == 0) {
      g_string_append (out, v && v->segment ? v->segment :
          "20261122T143000Z-000123");
    } else {
      /* the template may carry credentials: quote it masked */
      gchar *shown = dashcam_streamid_mask (tmpl);

      g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
          "unknown placeholder \"%.*s\" in \"%s\" (known: {device}, "
          "{start}%s)", (gint) (len + 2), open, shown,
          allow_segment ? ", {segment}" : "");
      g_free (shown);
      return FALSE;
    }
    p = close + 1;
  }
  return TRUE;
}

/**
 * dashcam_template_validate:
 * @tmpl: a streamid template
 * @allow_segment: whether `{segment}` is allowed
 * @error: return location for a #GError
 *
 * Returns: %TRUE if @tmpl only uses known placeholders and a typical
 * expansion fits in an SRT streamid
 */
gboolean
dashcam_template_validate (const gchar * tmpl, gboolean allow_segment,
    GError ** error)
{
  return dashcam_template_check (tmpl, "device-0123456789abcdef",
      allow_segment, error);
}

/**
 * dashcam_template_check:
 * @tmpl: a streamid template
 * @device: the device id that `{device}` will expand to
 * @allow_segment: whether `{segment}` is allowed
 * @error: return location for a #GError
 *
 * Like dashcam_template_validate(), with the real device id: `{start}`
 * and `{segment}` always expand to the same length, so a template that
 * passes never gives a streamid over 512 bytes. Messages show the
 * template masked (dashcam_streamid_mask()).
 *
 * Returns: %TRUE if @tmpl only uses known placeholders and its expansion
 * fits in an SRT streamid
 */
gboolean
dashcam_template_check (const gchar * tmpl, const gchar * device,
    gboolean allow_segment, GError ** error)
{
  GString *out = g_string_new (NULL);
  DashcamTemplateValues v = { device, 0, NULL };
  gchar *shown;
  gboolean ok;

  if (tmpl == NULL) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "no template");
    g_string_free (out, TRUE);
    return FALSE;
  }
  shown = dashcam_streamid_mask (tmpl);
  ok = expand (tmpl, &v, allow_segment, out, error);
  if (ok && out->len > DASHCAM_STREAMID_MAX_LENGTH) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "\"%s\" gives a streamid of %u bytes with a device id of %u, "
        "more than SRT's %d", shown, (guint) out->len,
        (guint) strlen (device), DASHCAM_STREAMID_MAX_LENGTH);
    ok = FALSE;
  }
  g_free (shown);
  g_string_free (out, TRUE);
  return ok;
}

/* Keys of a `key=value` streamid field whose value is a secret: SRT
 * access control's `s` (MediaMTX reads it as the password, SRS as a
 * secret), and what servers and their auth hooks commonly call them. The
 * user name (`u`) is no secret and helps tell callers apart. */
static gboolean
is_secret_key (const gchar * key, gsize len)
{
  static const gchar *const names[] = { "s", "pass", "passwd", "password",
    "pwd", "passphrase", "secret", "token", "jwt", "key", "auth", "sig",
    "sign", "signature", NULL
  };
  static const gchar *const suffixes[] = { "pass", "password", "secret",
    "token", "key", NULL
  };
  gchar *k = g_ascii_strdown (key, len);
  gboolean secret = FALSE;
  gint i;

  for (i = 0; names[i] && !secret; i++)
    secret = g_str_equal (k, names[i]);
  for (i = 0; suffixes[i] && !secret; i++)
    secret = g_str_has_suffix (k, suffixes[i]);
  g_free (k);
  return secret;
}

/* Masks the secret values of `key=value` pairs separated by `,` `&` `;`
 * `?` or `:` in @s (from @from on). */
static void
mask_pairs (GString * s, gsize from)
{
  gsize i = from;

  while (i < s->len) {
    gsize start = i, eq, end;

    while (i < s->len && !strchr (",&;?:", s->str[i]))
      i++;
    end = i;
    i++;
    for (eq = start; eq < end && s->str[eq] != '='; eq++);
    if (eq == end || eq + 1 == end)
      continue;
    if (is_secret_key (s->str + start, eq - start)) {
      g_string_erase (s, eq + 1, end - eq - 1);
      g_string_insert (s, eq + 1, "***");
      i = eq + 1 + 3 + 1;
    }
  }
}

/**
 * dashcam_streamid_mask:
 * @streamid: (nullable): a streamid or streamid template
 *
 * The streamid as logs and messages may show it: the password of a
 * MediaMTX `action:path:user:pass[:query]` and the values of secret keys
 * (`s=`, `secret=`, `token=`, ...: SRT access control `#!::...`, SRS,
 * query strings) replaced by `***`.
 *
 * Returns: (transfer full): the masked copy
 */
gchar *
dashcam_streamid_mask (const gchar * streamid)
{
  GString *s;

  if (streamid == NULL)
    return g_strdup ("");
  s = g_string_new (streamid);
  if (!g_str_has_prefix (streamid, "#!::")
      && (g_str_has_prefix (streamid, "publish:")
          || g_str_has_prefix (streamid, "read:"))) {
    gchar **fields = g_strsplit (streamid, ":", 5);

    /* action:path:user:pass[:query] (action:path:query has 3 fields) */
    if (g_strv_length (fields) >= 4 && strchr (fields[2], '=') == NULL) {
      g_free (fields[3]);
      fields[3] = g_strdup ("***");
      gchar *joined = g_strjoinv (":", fields);

      g_string_assign (s, joined);
      g_free (joined);
    }
    g_strfreev (fields);
  }
  mask_pairs (s, g_str_has_prefix (s->str, "#!::") ? 4 : 0);
  return g_string_free (s, FALSE);
}

/**
 * dashcam_device_id_validate:
 * @device: a device id
 * @error: return location for a #GError
 *
 * A device id goes into streamids as `{device}`; a character that
 * separates a server's fields there (`:` `,` `/` `#` `=` `&` `?`), a
 * space or a control character would change what the server reads (a
 * MediaMTX user name, an SRS key, a path), so it is refused.
 *
 * Returns: %TRUE if @device is non-empty and has none of them
 */
gboolean
dashcam_device_id_validate (const gchar * device, GError ** error)
{
  const gchar *p;

  if (device == NULL || *device == '\0') {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "the device id is empty");
    return FALSE;
  }
  for (p = device; *p; p++) {
    if (strchr (":,/#=&?", *p) || g_ascii_isspace (*p)
        || g_ascii_iscntrl (*p)) {
      gchar *shown = g_strescape (device, NULL);
      gchar *what = g_ascii_isgraph (*p) ? g_strdup_printf ("'%c'", *p) :
          g_strdup ("a space or control character");

      g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
          "the device id \"%s\" contains %s, which would change the "
          "fields of the streamid (not allowed: : , / # = & ? spaces and "
          "control characters)", shown, what);
      g_free (what);
      g_free (shown);
      return FALSE;
    }
  }
  return TRUE;
}

/**
 * dashcam_template_expand:
 * @tmpl: a streamid template
 * @values: the values of the placeholders
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the streamid, or %NULL if the
 * template is invalid or the result is longer than 512 bytes
 */
gchar *
dashcam_template_expand (const gchar * tmpl,
    const DashcamTemplateValues * values, GError ** error)
{
  GString *out = g_string_new (NULL);

  if (!expand (tmpl, values, values->segment != NULL, out, error))
    goto fail;
  if (out->len > DASHCAM_STREAMID_MAX_LENGTH) {
    gchar *shown = dashcam_streamid_mask (out->str);

    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "streamid \"%.40s...\" is %u bytes, more than SRT's %d", shown,
        (guint) out->len, DASHCAM_STREAMID_MAX_LENGTH);
    g_free (shown);
    goto fail;
  }
  return g_string_free (out, FALSE);

fail:
  g_string_free (out, TRUE);
  return NULL;
}

/**
 * dashcam_srt_uri_parse:
 * @uri: `srt://host:port[?key=value&...]`
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the parsed URI
 */
/* The URI for messages: the query may hold a passphrase, so it is left
 * out. */
static gchar *
uri_for_humans (const gchar * uri)
{
  const gchar *q = uri ? strchr (uri, '?') : NULL;

  if (uri == NULL)
    return g_strdup ("(null)");
  return q ? g_strdup_printf ("%.*s?...", (gint) (q - uri), uri) :
      g_strdup (uri);
}

DashcamSrtUri *
dashcam_srt_uri_parse (const gchar * uri, GError ** error)
{
  GUri *parsed;
  DashcamSrtUri *res;
  const gchar *query;
  gchar *shown;
  gint port;

  if (uri == NULL || !g_str_has_prefix (uri, "srt://")) {
    shown = uri_for_humans (uri);
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "\"%s\" is not an srt://host:port URI", shown);
    g_free (shown);
    return NULL;
  }
  parsed = g_uri_parse (uri, G_URI_FLAGS_ENCODED_QUERY, NULL);
  port = parsed ? g_uri_get_port (parsed) : -1;
  if (parsed == NULL || g_uri_get_host (parsed) == NULL
      || *g_uri_get_host (parsed) == '\0' || port <= 0 || port > 65535
      || (g_uri_get_path (parsed) && *g_uri_get_path (parsed)
          && !g_str_equal (g_uri_get_path (parsed), "/"))) {
    shown = uri_for_humans (uri);
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "\"%s\" is not an srt://host:port URI (host and port 1-65535 "
        "needed, no path)", shown);
    g_free (shown);
    if (parsed)
      g_uri_unref (parsed);
    return NULL;
  }

  res = g_new0 (DashcamSrtUri, 1);
  res->host = g_strdup (g_uri_get_host (parsed));
  res->port = port;
  query = g_uri_get_query (parsed);
  res->params = query ? g_uri_parse_params (query, -1, "&",
      G_URI_PARAMS_NONE, NULL) : NULL;
  if (res->params == NULL)
    res->params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
        g_free);
  g_uri_unref (parsed);
  return res;
}

void
dashcam_srt_uri_free (DashcamSrtUri * uri)
{
  gchar *pass;

  if (uri == NULL)
    return;
  g_free (uri->host);
  /* the query may hold a passphrase: leave no copy in freed memory */
  if ((pass = g_hash_table_lookup (uri->params, "passphrase")))
    memset (pass, 0, strlen (pass));
  g_hash_table_unref (uri->params);
  g_free (uri);
}

/**
 * dashcam_default_device_id:
 *
 * Returns: (transfer full): the machine id (/etc/machine-id), or the host
 * name when there is none
 */
gchar *
dashcam_default_device_id (void)
{
  gchar *id = NULL;

  if (g_file_get_contents ("/etc/machine-id", &id, NULL, NULL)) {
    g_strstrip (id);
    if (*id)
      return id;
    g_free (id);
  }
  return g_strdup (g_get_host_name ());
}
