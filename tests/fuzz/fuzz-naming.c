/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* libFuzzer harness: the filename-format property (dashcamnaming.c).
 *
 * Input: 8 bytes of wall clock (microseconds), 8 bytes of segment index,
 * then the format, optionally followed by a newline and a file name (the
 * seeds are the default and the formats of the README and the tests).
 *
 * Checked besides memory safety and UB: every name made is safe (one path
 * component, visible, no control characters, not a partial file name,
 * 200 bytes at most), and a format that passes validation makes different
 * names for different indexes at the same second (names are what keeps
 * one segment from overwriting another), and recognises each as its own,
 * with its index (what adopts a segment the journal lost). */

#include "fuzz-common.h"

#include "dashcamnaming.h"

static gchar *
expand (const gchar * format, gint64 wall, guint64 index)
{
  GError *err = NULL;
  gchar *name = dashcam_filename_format_expand (format, wall, index, &err);

  FUZZ_CHECK ((name == NULL) == (err != NULL), "result and error disagree");
  if (name) {
    FUZZ_CHECK (dashcam_name_is_safe (name), "unsafe name \"%s\"", name);
    FUZZ_CHECK (strchr (name, '/') == NULL && name[0] != '.'
        && strlen (name) <= DASHCAM_MAX_NAME_LENGTH, "bad name \"%s\"", name);
  }
  g_clear_error (&err);
  return name;
}

int
LLVMFuzzerTestOneInput (const uint8_t * input, size_t size)
{
  gchar *format, *other, *a, *b;
  gint64 wall;
  guint64 index, found = 0;
  GError *err = NULL;
  gboolean valid;

  if (size < 16)
    return 0;
  memcpy (&wall, input, sizeof (wall));
  memcpy (&index, input + 8, sizeof (index));
  format = g_strndup ((const gchar *) input + 16, size - 16);
  /* an optional file name found on disk after a newline */
  if ((other = strchr (format, '\n'))) {
    *other++ = '\0';
    (void) dashcam_filename_format_match (format, other, &found);
  }

  /* the name checks on any text */
  if (dashcam_name_is_safe (format))
    FUZZ_CHECK (strchr (format, '/') == NULL && format[0] != '.'
        && !g_str_has_suffix (format, ".part"), "\"%s\" is not safe", format);
  g_free (dashcam_format_utc (wall, format));

  valid = dashcam_filename_format_validate (format, &err);
  FUZZ_CHECK (valid == (err == NULL), "result and error disagree");
  g_clear_error (&err);

  a = expand (format, wall, index);
  /* a segment the catalog lost is recognised by its name, index and all
   * (with a clock between 1970 and 2100: years of four digits) */
  if (valid && wall >= 0 && wall < G_GINT64_CONSTANT (4102444800000000)
      && a) {
    FUZZ_CHECK (dashcam_filename_format_match (format, a, &found)
        && found == index, "\"%s\" gives \"%s\" for index %" G_GUINT64_FORMAT
        ", not recognised as such", format, a, index);
    /* the next index at the same second gets another name */
    b = expand (format, wall, index + 1);
    FUZZ_CHECK (b == NULL || !g_str_equal (a, b),
        "\"%s\" gives \"%s\" for index %" G_GUINT64_FORMAT " and the next",
        format, a, index);
    g_free (b);
  }
  g_free (a);
  g_free (format);
  return 0;
}
