/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Segment file names: the filename-format pattern, what it may expand to,
 * and the wall clock the names are made from. */

#include <gst/check/gstcheck.h>

#include <string.h>
#include <glib/gstdio.h>

#include "dashcamcatalog.h"
#include "dashcamnaming.h"

/* 2026-11-22 14:30:00 UTC, plus a fraction of a second names ignore */
static gint64
test_wall_time (void)
{
  GDateTime *dt = g_date_time_new_utc (2026, 11, 22, 14, 30, 0);
  gint64 us = g_date_time_to_unix (dt) * G_USEC_PER_SEC + 654321;

  g_date_time_unref (dt);
  return us;
}

/* Expands @format, expecting it to be refused with DASHCAM_ERROR_INVALID,
 * and checks that validation refuses it too. */
static void
check_refused (const gchar * format)
{
  GError *err = NULL;
  gchar *name;

  name = dashcam_filename_format_expand (format, test_wall_time (), 123, &err);
  fail_unless (name == NULL, "\"%s\" expanded to \"%s\"", format, name);
  fail_unless (g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_INVALID),
      "no INVALID error for \"%s\"", format);
  g_clear_error (&err);

  fail_if (dashcam_filename_format_validate (format, &err),
      "\"%s\" validated", format);
  fail_unless (g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_INVALID));
  g_clear_error (&err);
}

static gchar *
expand (const gchar * format, guint64 index)
{
  GError *err = NULL;
  gchar *name;

  name = dashcam_filename_format_expand (format, test_wall_time (), index,
      &err);
  fail_unless (name != NULL, "\"%s\" refused: %s", format,
      err ? err->message : "no error");
  return name;
}

GST_START_TEST (test_default_format)
{
  GError *err = NULL;
  gchar *name;

  fail_unless (dashcam_filename_format_validate
      (DASHCAM_DEFAULT_FILENAME_FORMAT, &err));
  g_assert_no_error (err);

  name = expand (DASHCAM_DEFAULT_FILENAME_FORMAT, 123);
  fail_unless_equals_string (name, "20261122T143000Z-000123.ts");
  g_free (name);

  name = expand (DASHCAM_DEFAULT_FILENAME_FORMAT, 0);
  fail_unless_equals_string (name, "20261122T143000Z-000000.ts");
  g_free (name);

  /* strftime and {index} mix in any order */
  name = expand ("cam-{index}-%Y-%m-%d_%H.%M.%S.ts", 7);
  fail_unless_equals_string (name, "cam-000007-2026-11-22_14.30.00.ts");
  g_free (name);

  /* the name sorts like the time it was made */
  name = expand ("{index}", 42);
  fail_unless_equals_string (name, "000042");
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_index_grows_past_six_digits)
{
  gchar *name;

  name = expand (DASHCAM_DEFAULT_FILENAME_FORMAT, 999999);
  fail_unless_equals_string (name, "20261122T143000Z-999999.ts");
  g_free (name);

  name = expand (DASHCAM_DEFAULT_FILENAME_FORMAT, 1000000);
  fail_unless_equals_string (name, "20261122T143000Z-1000000.ts");
  g_free (name);

  name = expand (DASHCAM_DEFAULT_FILENAME_FORMAT, G_MAXUINT64);
  fail_unless_equals_string (name, "20261122T143000Z-18446744073709551615.ts");
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_path_components_refused)
{
  GError *err = NULL;

  check_refused ("a/{index}.ts");
  check_refused ("/tmp/{index}.ts");
  check_refused ("../{index}.ts");
  check_refused ("..{index}.ts");

  /* '..' anywhere is refused by validation, even when the name would be
   * harmless */
  fail_if (dashcam_filename_format_validate ("x..{index}.ts", &err));
  fail_unless (g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_INVALID));
  fail_unless (strstr (err->message, "..") != NULL, "%s", err->message);
  g_clear_error (&err);

  /* hidden names and control characters */
  check_refused (".%Y-{index}.ts");
  check_refused ("a\tb-{index}.ts");
  check_refused ("a\\b-{index}.ts");
}

GST_END_TEST;

GST_START_TEST (test_missing_index_refused)
{
  GError *err = NULL;
  gchar *name;

  fail_if (dashcam_filename_format_validate ("%Y%m%dT%H%M%SZ.ts", &err));
  fail_unless (g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_INVALID));
  fail_unless (strstr (err->message, "{index}") != NULL, "%s", err->message);
  g_clear_error (&err);

  /* placeholders are case sensitive */
  fail_if (dashcam_filename_format_validate ("%Y-{INDEX}.ts", &err));
  fail_unless (g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_INVALID));
  g_clear_error (&err);

  fail_if (dashcam_filename_format_validate ("", &err));
  fail_unless (g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_INVALID));
  g_clear_error (&err);

  fail_if (dashcam_filename_format_validate (NULL, &err));
  fail_unless (g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_INVALID));
  g_clear_error (&err);

  /* unterminated placeholder */
  name = dashcam_filename_format_expand ("%Y-{index", test_wall_time (), 1,
      &err);
  fail_unless (name == NULL);
  fail_unless (g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_INVALID));
  fail_unless (strstr (err->message, "unterminated") != NULL, "%s",
      err->message);
  g_clear_error (&err);
}

GST_END_TEST;

GST_START_TEST (test_unknown_placeholder_refused)
{
  GError *err = NULL;

  fail_if (dashcam_filename_format_validate ("{device}-{index}.ts", &err));
  fail_unless (g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_INVALID));
  fail_unless (strstr (err->message, "{device}") != NULL, "%s", err->message);
  g_clear_error (&err);

  check_refused ("{index}-{}.ts");
  check_refused ("{index}-{indexx}.ts");
  check_refused ("{index}-{start}.ts");
}

GST_END_TEST;

GST_START_TEST (test_strftime_slash_refused)
{
  GError *err = NULL;
  gchar *name;

  /* %D is %m/%d/%y and %x is 11/22/26 in the C locale */
  check_refused ("%D-{index}.ts");
  check_refused ("%x-{index}.ts");

  fail_if (dashcam_filename_format_validate ("%D-{index}", &err));
  fail_unless (strstr (err->message, "/") != NULL, "%s", err->message);
  g_clear_error (&err);

  /* %F has no '/': fine */
  name = expand ("%F-{index}.ts", 5);
  fail_unless_equals_string (name, "2026-11-22-000005.ts");
  g_free (name);
}

GST_END_TEST;

GST_START_TEST (test_long_names_refused)
{
  GString *fmt = g_string_new (NULL);
  gchar *name;

  /* 193 + 6 digits + ".ts" = 202 > DASHCAM_MAX_NAME_LENGTH */
  g_string_append_len (fmt,
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
      193);
  g_string_append (fmt, "{index}.ts");
  check_refused (fmt->str);

  /* 191 + 6 + 3 = 200: the longest name allowed */
  g_string_erase (fmt, 0, 2);
  name = expand (fmt->str, 1);
  fail_unless_equals_int (strlen (name), DASHCAM_MAX_NAME_LENGTH);
  fail_unless (g_str_has_suffix (name, "x000001.ts"));
  g_free (name);
  g_string_free (fmt, TRUE);
}

GST_END_TEST;

GST_START_TEST (test_name_is_safe)
{
  gchar long_name[DASHCAM_MAX_NAME_LENGTH + 2];

  fail_unless (dashcam_name_is_safe ("20261122T143000Z-000123.ts"));
  fail_unless (dashcam_name_is_safe ("a"));
  fail_unless (dashcam_name_is_safe ("a b.ts"));
  fail_unless (dashcam_name_is_safe ("a..b.ts"));
  fail_unless (dashcam_name_is_safe ("a.part.ts"));
  fail_unless (dashcam_name_is_safe ("caf\xc3\xa9.ts"));

  fail_if (dashcam_name_is_safe (NULL));
  fail_if (dashcam_name_is_safe (""));
  fail_if (dashcam_name_is_safe ("."));
  fail_if (dashcam_name_is_safe (".."));
  fail_if (dashcam_name_is_safe (".dashcam"));
  fail_if (dashcam_name_is_safe ("a/b.ts"));
  fail_if (dashcam_name_is_safe ("../a.ts"));
  fail_if (dashcam_name_is_safe ("a\\b.ts"));
  fail_if (dashcam_name_is_safe ("a\nb.ts"));
  fail_if (dashcam_name_is_safe ("a\x01.ts"));
  fail_if (dashcam_name_is_safe ("a\x7f.ts"));
  fail_if (dashcam_name_is_safe ("caf\xe9.ts"));
  fail_if (dashcam_name_is_safe ("x.ts" DASHCAM_PARTIAL_SUFFIX));

  memset (long_name, 'a', sizeof (long_name));
  long_name[DASHCAM_MAX_NAME_LENGTH] = '\0';
  fail_unless (dashcam_name_is_safe (long_name));
  long_name[DASHCAM_MAX_NAME_LENGTH] = 'a';
  long_name[DASHCAM_MAX_NAME_LENGTH + 1] = '\0';
  fail_if (dashcam_name_is_safe (long_name));
}

GST_END_TEST;

GST_START_TEST (test_format_utc)
{
  gchar *s;

  s = dashcam_format_utc (test_wall_time (), "%Y-%m-%dT%H:%M:%SZ");
  fail_unless_equals_string (s, "2026-11-22T14:30:00Z");
  g_free (s);

  /* a clock before the epoch is clamped to it */
  s = dashcam_format_utc (-5 * G_USEC_PER_SEC, "%Y%m%d-%H%M%S");
  fail_unless_equals_string (s, "19700101-000000");
  g_free (s);

  s = dashcam_format_utc (test_wall_time (), "");
  fail_unless (s == NULL);
}

GST_END_TEST;

/* Checks that dashcam_wall_clock_now() is the real clock shifted by
 * @offset_s seconds (the calls themselves take microseconds). */
static void
check_clock_offset (gint64 offset_s)
{
  gint64 before = g_get_real_time ();
  gint64 now = dashcam_wall_clock_now ();
  gint64 after = g_get_real_time ();

  fail_unless (now >= before + offset_s * G_USEC_PER_SEC
      && now <= after + offset_s * G_USEC_PER_SEC,
      "clock %" G_GINT64_FORMAT " not in [%" G_GINT64_FORMAT ", %"
      G_GINT64_FORMAT "] + %" G_GINT64_FORMAT " s", now, before, after,
      offset_s);
}

GST_START_TEST (test_wall_clock_offset)
{
  g_unsetenv ("GST_DASHCAM_CLOCK_OFFSET");
  check_clock_offset (0);

  g_setenv ("GST_DASHCAM_CLOCK_OFFSET", "3600", TRUE);
  check_clock_offset (3600);

  g_setenv ("GST_DASHCAM_CLOCK_OFFSET", "-86400", TRUE);
  check_clock_offset (-86400);

  /* a clock jumped back by a year still names files in UTC */
  g_setenv ("GST_DASHCAM_CLOCK_OFFSET", "-31536000", TRUE);
  check_clock_offset (-31536000);

  g_setenv ("GST_DASHCAM_CLOCK_OFFSET", "", TRUE);
  check_clock_offset (0);

  g_unsetenv ("GST_DASHCAM_CLOCK_OFFSET");
}

GST_END_TEST;

/* "@FILE": the offset is read from FILE at every call, so a test can make
 * the clock of a running pipeline jump */
/* Found by fuzzing (tests/fuzz/corpus/naming/regress-*): formats that
 * pass validation gave names that dashcam_filename_format_match(), which
 * adopts segments a damaged journal lost, did not recognise or read with
 * another index: the index next to a conversion or to another {index},
 * and a stray modifier that strftime prints as is. They are refused now;
 * every valid format reads back its own names. */
GST_START_TEST (test_names_read_back)
{
  static const gchar *refused[] = { "%2S{index}_", "%S{index}.ts",
    "%Y%m%d%H%M%S{index}.ts", "{index}%s.ts", "x1{index}.ts",
    "H-%M-%S_{index}{index}", "H-%O-%S_{index}",
  };
  static const gchar *valid[] = { DASHCAM_DEFAULT_FILENAME_FORMAT,
    "%F-{index}.ts", "cam-{index}-%Y-%m-%d_%H.%M.%S.ts", "%s.{index}.mts",
    "100%%-{index}.ts", "%_H-{index}.ts",
  };
  static const guint64 indexes[] = { 0, 7, 999999, 1000000,
    G_GUINT64_CONSTANT (123456789012345678)
  };
  GError *err = NULL;
  guint i, j, k;

  for (i = 0; i < G_N_ELEMENTS (refused); i++) {
    fail_if (dashcam_filename_format_validate (refused[i], &err),
        "\"%s\" accepted", refused[i]);
    fail_unless (g_error_matches (err, DASHCAM_ERROR, DASHCAM_ERROR_INVALID));
    fail_unless (strstr (err->message, refused[i]) != NULL, "%s",
        err->message);
    g_clear_error (&err);
  }
  for (i = 0; i < G_N_ELEMENTS (valid); i++) {
    fail_unless (dashcam_filename_format_validate (valid[i], &err),
        "\"%s\": %s", valid[i], err ? err->message : "");
    for (j = 0; j < G_N_ELEMENTS (indexes); j++) {
      for (k = 0; k < 4; k++) {
        /* 1970, 2026 at 14:30:28, 2037, 2099 */
        static const gint64 walls[] = { 0, G_GINT64_CONSTANT (1795012228),
          G_GINT64_CONSTANT (2147483647), G_GINT64_CONSTANT (4102444799)
        };
        gchar *name = dashcam_filename_format_expand (valid[i],
            walls[k] * G_USEC_PER_SEC, indexes[j], &err);
        guint64 found = G_MAXUINT64;

        g_assert_no_error (err);
        fail_unless (dashcam_filename_format_match (valid[i], name, &found),
            "\"%s\" does not recognise \"%s\"", valid[i], name);
        fail_unless_equals_uint64 (found, indexes[j]);
        g_free (name);
      }
    }
  }
}

GST_END_TEST;

GST_START_TEST (test_wall_clock_offset_file)
{
  GError *err = NULL;
  gchar *dir = g_dir_make_tmp ("dashcam-naming-XXXXXX", &err);
  gchar *path, *value;

  g_assert_no_error (err);
  path = g_build_filename (dir, "offset", NULL);
  value = g_strconcat ("@", path, NULL);
  g_setenv ("GST_DASHCAM_CLOCK_OFFSET", value, TRUE);

  fail_unless (g_file_set_contents (path, "120", -1, NULL));
  check_clock_offset (120);
  fail_unless (g_file_set_contents (path, "-7200\n", -1, NULL));
  check_clock_offset (-7200);

  /* no file: no offset */
  g_unlink (path);
  check_clock_offset (0);

  g_unsetenv ("GST_DASHCAM_CLOCK_OFFSET");
  g_rmdir (dir);
  g_free (value);
  g_free (path);
  g_free (dir);
}

GST_END_TEST;

static Suite *
naming_suite (void)
{
  Suite *s = suite_create ("naming");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_default_format);
  tcase_add_test (tc, test_index_grows_past_six_digits);
  tcase_add_test (tc, test_path_components_refused);
  tcase_add_test (tc, test_missing_index_refused);
  tcase_add_test (tc, test_unknown_placeholder_refused);
  tcase_add_test (tc, test_strftime_slash_refused);
  tcase_add_test (tc, test_long_names_refused);
  tcase_add_test (tc, test_name_is_safe);
  tcase_add_test (tc, test_names_read_back);
  tcase_add_test (tc, test_format_utc);
  tcase_add_test (tc, test_wall_clock_offset);
  tcase_add_test (tc, test_wall_clock_offset_file);
  return s;
}

GST_CHECK_MAIN (naming);
