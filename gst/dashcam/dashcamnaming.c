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

/* A regular expression for what a strftime conversion can give, in UTC,
 * for the ones names are made of; anything else matches loosely. */
static const gchar *
conversion_regex (gchar c)
{
  switch (c) {
    case 'Y':
    case 'G':
      return "[0-9]{4}";
    case 'm':
    case 'd':
    case 'H':
    case 'M':
    case 'S':
    case 'y':
    case 'g':
    case 'C':
    case 'I':
    case 'U':
    case 'V':
    case 'W':
      return "[0-9]{2}";
    case 'j':
      return "[0-9]{3}";
    case 'u':
    case 'w':
      return "[0-9]";
    case 's':
      return "[0-9]+";
    case 'F':
      return "[0-9]{4}-[0-9]{2}-[0-9]{2}";
    case 'T':
      return "[0-9]{2}:[0-9]{2}:[0-9]{2}";
    case 'R':
      return "[0-9]{2}:[0-9]{2}";
    case 'z':
      return "[+-][0-9]{4}";
    case 'Z':
      return "[A-Z]+";
    default:
      return ".+?";
  }
}

static GRegex *
format_regex (const gchar * format)
{
  GString *re = g_string_new ("^");
  const gchar *p = format;
  GRegex *regex;

  while (*p) {
    if (g_str_has_prefix (p, "{index}")) {
      g_string_append (re, "([0-9]{6,})");
      p += strlen ("{index}");
    } else if (p[0] == '%' && p[1] == '%') {
      g_string_append (re, "%");
      p += 2;
    } else if (p[0] == '%' && p[1]) {
      gboolean modified = FALSE;

      /* glibc flags, width and the E and O modifiers */
      for (p++; *p && strchr ("_-0^#123456789EO", *p); p++)
        modified = TRUE;
      if (*p == '\0')
        break;
      g_string_append (re, modified ? ".+?" : conversion_regex (*p));
      p++;
    } else {
      gchar *lit = g_regex_escape_string (p, g_utf8_next_char (p) - p);

      g_string_append (re, lit);
      g_free (lit);
      p = g_utf8_next_char (p);
    }
  }
  g_string_append (re, "$");
  regex = g_regex_new (re->str, G_REGEX_DOTALL, 0, NULL);
  g_string_free (re, TRUE);
  return regex;
}

/**
 * dashcam_filename_format_match:
 * @format: a valid filename-format
 * @name: a file name
 * @index: (out) (optional): the index the name holds
 *
 * Tells whether @name looks like a name @format gives, e.g. a segment
 * found on disk that the catalog lost.
 *
 * Returns: %TRUE if @name is safe and has the shape of @format
 */
gboolean
dashcam_filename_format_match (const gchar * format, const gchar * name,
    guint64 * index)
{
  GMatchInfo *info = NULL;
  GRegex *regex;
  gboolean ret = FALSE;
  gchar *digits;

  if (format == NULL || !dashcam_name_is_safe (name)
      || !g_utf8_validate (format, -1, NULL))
    return FALSE;
  regex = format_regex (format);
  if (regex == NULL)
    return FALSE;
  if (g_regex_match (regex, name, 0, &info)) {
    digits = g_match_info_fetch (info, 1);
    ret = digits != NULL && g_ascii_string_to_unsigned (digits, 10, 0,
        G_MAXUINT64, index, NULL);
    g_free (digits);
  }
  g_match_info_free (info);
  g_regex_unref (regex);
  return ret;
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

/* TRUE if a strftime conversion or a digit touches {index} in @format:
 * the index could not be told from the digits next to it in a name. */
static gboolean
index_touches_digits (const gchar * format)
{
  const gchar *p = format;
  gboolean prev_digits = FALSE, prev_index = FALSE;

  while (*p) {
    gboolean digits = FALSE, index = FALSE;

    if (g_str_has_prefix (p, "{index}")) {
      index = TRUE;
      p += strlen ("{index}");
    } else if (p[0] == '%' && p[1] == '%') {
      p += 2;
    } else if (p[0] == '%') {
      for (p++; *p && strchr ("_-0^#123456789EO", *p); p++);
      if (*p)
        p++;
      digits = TRUE;
    } else {
      digits = g_ascii_isdigit (*p);
      p++;
    }
    if ((index && (prev_digits || prev_index)) || (prev_index && digits))
      return TRUE;
    prev_digits = digits;
    prev_index = index;
  }
  return FALSE;
}

/**
 * dashcam_filename_format_validate:
 * @format: a filename-format value
 * @error: return location for a #GError
 *
 * Checks that @format holds `{index}` (which makes names unique), has no
 * path separator and no '..', and expands to a safe name that
 * dashcam_filename_format_match() recognises, index and all.
 *
 * Returns: %TRUE if @format can be used
 */
gboolean
dashcam_filename_format_validate (const gchar * format, GError ** error)
{
  static const guint64 samples[] = { 123456, G_GUINT64_CONSTANT (12345678901234) };
  guint64 index = 0;
  gchar *name;
  guint i;

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
  if (index_touches_digits (format)) {
    g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
        "\"%s\" puts a %% conversion or a digit right next to {index}: "
        "the index could not be read back from a name (separate them, "
        "e.g. with '-')", format);
    return FALSE;
  }
  for (i = 0; i < G_N_ELEMENTS (samples); i++) {
    name = dashcam_filename_format_expand (format,
        G_GINT64_CONSTANT (1795000000) * G_USEC_PER_SEC, samples[i], error);
    if (name == NULL)
      return FALSE;
    /* a segment whose record a damaged journal lost is adopted by its
     * name: refuse what strftime writes in a way the name matcher does not
     * read back (a stray modifier, "%O-", printed as is; digits next to
     * {index}), with short and long indexes */
    if (!dashcam_filename_format_match (format, name, &index)
        || index != samples[i]) {
      g_set_error (error, DASHCAM_ERROR, DASHCAM_ERROR_INVALID,
          "\"%s\" gives names like \"%s\", which would not be recognised "
          "as segments after a journal loss (check its %% conversions and "
          "what is next to {index})", format, name);
      g_free (name);
      return FALSE;
    }
    g_free (name);
  }
  return TRUE;
}
