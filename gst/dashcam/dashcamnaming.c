/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Segment file names.
 *
 * A name is a strftime(3) pattern expanded in UTC, plus the `{index}`
 * placeholder: the segment's index, at least six digits. The wall clock
 * makes names readable; the index, which only ever grows (it is kept in the
 * catalog), makes them unique when the clock jumps back or is wrong after a
 * reboot. A name is one path component: it can never hold '/' or be '.' or
 * '..', so it can never leave the recording directory.
 */

#include "dashcamnaming.h"
#include "dashcamcatalog.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/**
 * dashcam_wall_clock_now:
 *
 * The device's wall clock, UTC microseconds since the epoch. The
 * environment variable `GST_DASHCAM_CLOCK_OFFSET` (seconds, may be
 * negative; or `@FILE` to read them from FILE at every call) shifts it, so
 * that tests can make the clock jump.
 *
 * Returns: the time
 */
gint64
dashcam_wall_clock_now (void)
{
  const gchar *offset = g_getenv ("GST_DASHCAM_CLOCK_OFFSET");
  gint64 now = g_get_real_time ();
  gchar *contents = NULL;

  /* "@FILE": read the offset from FILE at every call, so that a test can
   * make the clock jump while a pipeline runs */
  if (offset && offset[0] == '@' && g_file_get_contents (offset + 1,
          &contents, NULL, NULL))
    offset = contents;
  if (offset && *offset && *offset != '@')
    now += g_ascii_strtoll (offset, NULL, 10) * G_USEC_PER_SEC;
  g_free (contents);
  return now;
}

/**
 * dashcam_format_utc:
 * @wall_time_us: microseconds since the epoch
 * @strftime_fmt: a strftime(3) format
 *
 * Returns: (transfer full) (nullable): @wall_time_us formatted in UTC, or
 * %NULL if the result is empty or too long
 */
gchar *
dashcam_format_utc (gint64 wall_time_us, const gchar * strftime_fmt)
{
  time_t secs = (time_t) (wall_time_us / G_USEC_PER_SEC);
  struct tm tm;
  gchar buf[512];
  gsize n;

  if (wall_time_us < 0)
    secs = 0;
  if (gmtime_r (&secs, &tm) == NULL)
    return NULL;
  n = strftime (buf, sizeof (buf), strftime_fmt, &tm);
  if (n == 0)
    return NULL;
  return g_strndup (buf, n);
}

/**
 * dashcam_name_is_safe:
 * @name: a file name
 *
 * Returns: %TRUE if @name is a single, visible, non-special path component
 * of reasonable length with no control characters, and not one of our
 * partial file names
 */
gboolean
dashcam_name_is_safe (const gchar * name)
{
  const gchar *p;

  if (name == NULL || *name == '\0' || *name == '.')
    return FALSE;
  if (strlen (name) > DASHCAM_MAX_NAME_LENGTH)
    return FALSE;
  if (g_str_has_suffix (name, DASHCAM_PARTIAL_SUFFIX))
    return FALSE;
  for (p = name; *p; p++) {
    if (*p == '/' || *p == '\\' || (guchar) * p < 0x20 || *p == 0x7f)
      return FALSE;
  }
  return g_utf8_validate (name, -1, NULL);
}

/* Replaces {index}; refuses any other {placeholder}. */
static gchar *
expand_placeholders (const gchar * format, guint64 index, GError ** error)
{
  GString *out = g_string_new (NULL);
  const gchar *p = format;

  while (*p) {
    const gchar *open = strchr (p, '{'), *close;

    if (open == NULL) {
      g_string_append (out, p);
      break;
    }
    g_string_append_len (out, p, open - p);
    close = strchr (open, '}');
    if (close == NULL) {
      g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
          "unterminated '{' in \"%s\"", format);
      goto fail;
    }
    if (close - open - 1 == 5 && strncmp (open + 1, "index", 5) == 0) {
      /* '%' cannot appear in digits, so strftime leaves this alone */
      g_string_append_printf (out, "%06" G_GUINT64_FORMAT, index);
    } else {
      g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
          "unknown placeholder \"%.*s\" in \"%s\" (only {index} is known)",
          (gint) (close - open + 1), open, format);
      goto fail;
    }
    p = close + 1;
  }
  return g_string_free (out, FALSE);

fail:
  g_string_free (out, TRUE);
  return NULL;
}

/**
 * dashcam_filename_format_expand:
 * @format: strftime(3) pattern with an `{index}` placeholder
 * @wall_time_us: UTC wall clock, microseconds since the epoch
 * @index: the segment index
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the file name, or %NULL with @error
 * set if @format is invalid or gives an unsafe name
 */
gchar *
dashcam_filename_format_expand (const gchar * format, gint64 wall_time_us,
    guint64 index, GError ** error)
{
  gchar *pattern, *name;

  pattern = expand_placeholders (format, index, error);
  if (pattern == NULL)
    return NULL;
  name = dashcam_format_utc (wall_time_us, pattern);
  g_free (pattern);
  if (!dashcam_name_is_safe (name)) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "\"%s\" gives the file name \"%s\", which is empty, too long, hidden, "
        "or not a plain file name (no '/', no control characters)",
        format, name ? name : "");
    g_free (name);
    return NULL;
  }
  return name;
}

/**
 * dashcam_filename_format_validate:
 * @format: a filename-format value
 * @error: return location for a #GError
 *
 * Checks that @format holds `{index}` (which makes names unique), has no
 * path separator and no '..', and expands to a safe name.
 *
 * Returns: %TRUE if @format can be used
 */
gboolean
dashcam_filename_format_validate (const gchar * format, GError ** error)
{
  gchar *name;

  if (format == NULL || *format == '\0') {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "the format is empty");
    return FALSE;
  }
  if (strchr (format, '/') || strstr (format, "..")) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "\"%s\" contains '/' or '..': segment files stay inside location",
        format);
    return FALSE;
  }
  if (strstr (format, "{index}") == NULL) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "\"%s\" lacks {index}: names would not be unique when the clock "
        "jumps back", format);
    return FALSE;
  }
  name = dashcam_filename_format_expand (format, G_GINT64_CONSTANT (1795000000) * G_USEC_PER_SEC,
      123456, error);
  g_free (name);
  return name != NULL;
}
