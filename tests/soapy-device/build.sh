#!/usr/bin/env bash
# Builds the ciottest SoapySDR module (ciot_test_device.cpp) into the directory $1; point
# SOAPY_SDR_PLUGIN_PATH at that directory to use it. Needs g++ and libsoapysdr-dev.
set -euo pipefail
out="${1:?usage: build.sh OUTDIR}"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
# Build to a temporary name, then rename: a concurrent reader never loads a half-written file.
tmp="$out/.libciottest.so.$$"
g++ -O2 -std=c++17 -shared -fPIC -Wall -Wextra -o "$tmp" "$here/ciot_test_device.cpp" \
  $(pkg-config --cflags --libs SoapySDR)
mv -f "$tmp" "$out/libciottest.so"
echo "$out/libciottest.so"
