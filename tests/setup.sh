#!/usr/bin/env bash
# setup.sh - install the dependencies, build umpa in ./build and run its main job on
# the built-in example: one packet of every protocol into a capture, then dissect it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/deps.sh
[ -x configure ] || autoreconf -fi
mkdir -p build
cd build
[ -f Makefile ] || ../configure -q
make -j"$(nproc)" >/dev/null
./umpa build --example -w example.pcapng --pcapng
./umpa show example.pcapng
echo "--- the same capture as a field tree (first packet) ---"
./umpa show -v -c 1 example.pcapng
