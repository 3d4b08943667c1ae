/* gst-dashcam
 * Copyright (C) 2026 gst-dashcam authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstdashcambin.h"
#ifdef HAVE_LIBGPS
#include "gstgpsklvsrc.h"
#endif
#include "gstlooprecsink.h"
#include "gstsrtuploadsink.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (looprecsink, plugin);
  ret |= GST_ELEMENT_REGISTER (srtuploadsink, plugin);
  ret |= GST_ELEMENT_REGISTER (dashcambin, plugin);
#ifdef HAVE_LIBGPS
  ret |= GST_ELEMENT_REGISTER (gpsklvsrc, plugin);
#endif

  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, dashcam,
    "Dashcam recording and SRT upload elements", plugin_init, VERSION,
    GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
