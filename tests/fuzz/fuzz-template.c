/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* libFuzzer harness: streamid templates and SRT URIs (dashcamtemplate.c).
 *
 * Input: 1 byte of settings (bit 0: {segment} allowed, bit 1: a segment
 * name is given), 8 bytes of wall clock (microseconds), then newline-separated
 * strings: the template, the device id, the segment name, an SRT URI. The
 * seeds are the templates of the README and of SRS/MediaMTX setups.
 *
 * Checked besides memory safety and UB: validation accepts exactly the
 * templates that expand with the values it assumes; an expansion is never
 * longer than SRT allows; a parsed URI has a host and a port 1-65535. */

#include "fuzz-common.h"

#include "dashcamtemplate.h"

#define TYPICAL_DEVICE "device-0123456789abcdef"
#define TYPICAL_SEGMENT "20261122T143000Z-000123"

static const gchar *
field (gchar ** fields, guint i, const gchar * def)
{
  guint n = g_strv_length (fields);

  return i < n ? fields[i] : def;
}

static void
check_expand (const gchar * tmpl, const DashcamTemplateValues * values)
{
  GError *err = NULL;
  gchar *id = dashcam_template_expand (tmpl, values, &err);

  FUZZ_CHECK ((id == NULL) == (err != NULL), "result and error disagree");
  if (id)
    FUZZ_CHECK (strlen (id) <= DASHCAM_STREAMID_MAX_LENGTH,
        "streamid of %zu bytes", strlen (id));
  g_clear_error (&err);
  g_free (id);
}

static void
check_uri (const gchar * text)
{
  GError *err = NULL;
  DashcamSrtUri *uri = dashcam_srt_uri_parse (text, &err);

  FUZZ_CHECK ((uri == NULL) == (err != NULL), "result and error disagree");
  if (uri) {
    FUZZ_CHECK (uri->host && *uri->host, "no host");
    FUZZ_CHECK (uri->port > 0, "port 0");
    FUZZ_CHECK (uri->params != NULL, "no parameters");
  }
  dashcam_srt_uri_free (uri);
  g_clear_error (&err);
}

int
LLVMFuzzerTestOneInput (const uint8_t * input, size_t size)
{
  DashcamTemplateValues typical = { TYPICAL_DEVICE, 0, NULL };
  DashcamTemplateValues values;
  gboolean allow_segment, valid;
  gchar *text, **fields, *id, *uri;
  GError *err = NULL;
  gint64 wall;

  if (size < 9)
    return 0;
  allow_segment = input[0] & 1;
  memcpy (&wall, input + 1, sizeof (wall));
  text = g_strndup ((const gchar *) input + 9, size - 9);
  fields = g_strsplit (text, "\n", 4);

  /* validate() == expand() with the values validate() assumes */
  valid = dashcam_template_validate (fields[0] ? fields[0] : "",
      allow_segment, &err);
  FUZZ_CHECK (valid == (err == NULL), "result and error disagree");
  g_clear_error (&err);
  typical.segment = allow_segment ? TYPICAL_SEGMENT : NULL;
  id = dashcam_template_expand (fields[0] ? fields[0] : "", &typical, NULL);
  FUZZ_CHECK (valid == (id != NULL),
      "validate says %d, expand gives \"%s\" for \"%s\"", valid,
      id ? id : "(null)", fields[0] ? fields[0] : "");
  g_free (id);

  /* messages show templates and streamids masked */
  g_free (dashcam_streamid_mask (field (fields, 0, "")));
  g_free (dashcam_streamid_mask (field (fields, 3, "")));

  /* what srtuploadsink checks at start: then every session and upload
   * gets its streamid (clock between 1970 and 2100) */
  if (dashcam_device_id_validate (field (fields, 1, ""), NULL)
      && dashcam_template_check (field (fields, 0, ""), field (fields, 1, ""),
          allow_segment, NULL)) {
    values.device = field (fields, 1, "");
    values.start_us = wall >= 0 && wall < G_GINT64_CONSTANT (4102444800000000)
        ? wall : 0;
    values.segment = allow_segment ? TYPICAL_SEGMENT : NULL;
    id = dashcam_template_expand (field (fields, 0, ""), &values, NULL);
    FUZZ_CHECK (id != NULL, "\"%s\" passed the start checks but does not "
        "expand", field (fields, 0, ""));
    g_free (id);
  }

  values.device = field (fields, 1, "");
  values.start_us = wall;
  values.segment = (input[0] & 2) ? field (fields, 2, "") : NULL;
  check_expand (field (fields, 0, ""), &values);

  check_uri (field (fields, 3, ""));
  uri = g_strconcat ("srt://", field (fields, 3, ""), NULL);
  check_uri (uri);
  g_free (uri);

  g_strfreev (fields);
  g_free (text);
  return 0;
}
