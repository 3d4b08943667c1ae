/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Streamid templates: credentials in streamids are masked wherever a
 * streamid is shown, a device id that would change a server's fields is
 * refused, and the length check uses the real device id. */

#include <gst/check/gstcheck.h>

#include <string.h>

#include "dashcamtemplate.h"

static void
check_mask (const gchar * streamid, const gchar * expected)
{
  gchar *masked = dashcam_streamid_mask (streamid);

  fail_unless_equals_string (masked, expected);
  g_free (masked);
}

GST_START_TEST (test_mask_credentials)
{
  /* MediaMTX: action:path:user:pass[:query] */
  check_mask ("publish:car42/20261122-143000:alice:hunter22",
      "publish:car42/20261122-143000:alice:***");
  check_mask ("publish:{device}/{start}:alice:hunter22:token=abc",
      "publish:{device}/{start}:alice:***:token=***");
  check_mask ("read:cam:bob:pw", "read:cam:bob:***");
  /* MediaMTX with a query only */
  check_mask ("publish:car42/x:jwt=eyJhbGciOi", "publish:car42/x:jwt=***");
  /* SRT access control (SRS, MediaMTX): s= is the password or secret;
   * the user name stays visible */
  check_mask ("#!::r=live/car42,m=publish,u=alice,s=hunter22",
      "#!::r=live/car42,m=publish,u=alice,s=***");
  check_mask ("#!::s=hunter22,r=live/{segment}",
      "#!::s=***,r=live/{segment}");
  check_mask ("#!::r=live/car42,secret=abc,streamKey=xyz,Token=t",
      "#!::r=live/car42,secret=***,streamKey=***,Token=***");
  /* SRS style query */
  check_mask ("live/car42?secret=abc&vhost=v", "live/car42?secret=***&vhost=v");
  /* nothing secret: unchanged */
  check_mask ("publish:car42/20261122-143000", "publish:car42/20261122-143000");
  check_mask ("#!::r=live/car42,m=publish", "#!::r=live/car42,m=publish");
  check_mask ("a=b,s=", "a=b,s=");
  check_mask ("", "");
  check_mask (NULL, "");
}

GST_END_TEST;

GST_START_TEST (test_device_id_refused)
{
  const gchar *bad[] = { "car:42", "car,42", "fleet/car42", "car#42",
    "car=42", "car 42", "car\t42", "car\n42", "car&42", "car?42", "", NULL
  };
  const gchar *good[] = { "car42", "CAR-42_a.b", "0123456789abcdef",
    "voiture-éé", NULL
  };
  GError *err = NULL;
  gint i;

  for (i = 0; bad[i]; i++) {
    fail_if (dashcam_device_id_validate (bad[i], &err), "\"%s\" accepted",
        bad[i]);
    fail_unless (err != NULL);
    fail_unless (strstr (err->message, "device id") != NULL, "%s",
        err->message);
    g_clear_error (&err);
  }
  fail_if (dashcam_device_id_validate (NULL, NULL));
  for (i = 0; good[i]; i++)
    fail_unless (dashcam_device_id_validate (good[i], &err), "%s: %s",
        good[i], err ? err->message : "");
}

GST_END_TEST;

/* A streamid that the real device id makes longer than 512 bytes fails
 * the check, and the check's verdict matches what expansion gives. */
GST_START_TEST (test_check_uses_device)
{
  DashcamTemplateValues v = { NULL, 0, "20261122T143000Z-000123" };
  GError *err = NULL;
  gchar *device, *sid;
  gsize n;

  /* "publish:" + device + "/" + 23-byte segment: 512 at 480 */
  for (n = 470; n <= 490; n++) {
    gboolean ok;

    device = g_strnfill (n, 'd');
    ok = dashcam_template_check ("publish:{device}/{segment}", device, TRUE,
        &err);
    v.device = device;
    sid = dashcam_template_expand ("publish:{device}/{segment}", &v, NULL);
    fail_unless_equals_int (ok, sid != NULL);
    fail_unless_equals_int (ok, n <= 480);
    if (!ok) {
      fail_unless (strstr (err->message, "512") != NULL, "%s", err->message);
      g_clear_error (&err);
    }
    g_free (sid);
    g_free (device);
  }
  /* the sample device of dashcam_template_validate() passes it */
  device = g_strnfill (500, 'd');
  fail_unless (dashcam_template_validate ("publish:{device}/{start}", FALSE,
          NULL));
  fail_if (dashcam_template_check ("publish:{device}/{start}", device,
          FALSE, NULL));
  g_free (device);
}

GST_END_TEST;

/* Error messages quote the template masked. */
GST_START_TEST (test_errors_masked)
{
  GError *err = NULL;
  gchar *device = g_strnfill (500, 'd');

  fail_if (dashcam_template_check ("publish:{nope}:alice:hunter22", "car42",
          FALSE, &err));
  fail_unless (strstr (err->message, "{nope}") != NULL, "%s", err->message);
  fail_unless (strstr (err->message, "hunter22") == NULL, "%s",
      err->message);
  g_clear_error (&err);
  fail_if (dashcam_template_check ("#!::r={device,s=hunter22", "car42",
          FALSE, &err));
  fail_unless (strstr (err->message, "hunter22") == NULL, "%s",
      err->message);
  g_clear_error (&err);
  fail_if (dashcam_template_check ("#!::r={device},s=hunter22", device,
          FALSE, &err));
  fail_unless (strstr (err->message, "hunter22") == NULL, "%s",
      err->message);
  g_clear_error (&err);
  g_free (device);
}

GST_END_TEST;

static Suite *
template_suite (void)
{
  Suite *s = suite_create ("template");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_mask_credentials);
  tcase_add_test (tc, test_device_id_refused);
  tcase_add_test (tc, test_check_uses_device);
  tcase_add_test (tc, test_errors_masked);
  return s;
}

GST_CHECK_MAIN (template);
