# Shared by the README commands (sourced): dependencies and the build.
# Builds into ./build at the top of the source tree.

DASHCAM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DASHCAM_BUILD=${DASHCAM_BUILD:-$DASHCAM_TOP/build}

dashcam_install_deps() {
  bash "$DASHCAM_TOP/scripts/install-deps.sh"
}

# dashcam_build [MESON-SETUP-OPTION...]: the options apply to a new build dir.
dashcam_build() {
  if [ ! -f "$DASHCAM_BUILD/build.ninja" ]; then
    meson setup "$DASHCAM_BUILD" "$DASHCAM_TOP" -Dtests=enabled "$@" >/dev/null
  fi
  ninja -C "$DASHCAM_BUILD" >/dev/null
  bash "$DASHCAM_TOP/scripts/install-s3rver.sh" "$DASHCAM_BUILD/s3rver"
}

# Makes the plugin in the build tree visible to gst-launch-1.0 & co.
dashcam_env() {
  export GST_PLUGIN_PATH_1_0="$DASHCAM_BUILD/plugins/dashcam"
  export GST_REGISTRY_1_0="$DASHCAM_BUILD/registry.bin"
  export PATH="$DASHCAM_BUILD/tools:$PATH"
}
