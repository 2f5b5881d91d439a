#!/bin/sh
# Fetch OpenCV's sample surveillance clip vtest.avi (768 x 576, 795 frames) from
# Debian's opencv-doc package into $1 (default datasets/samples/vtest.avi).
# Needs apt-get and dpkg-deb; exits non-zero, leaving nothing behind, if it cannot.
set -eu
target=${1:-datasets/samples/vtest.avi}
member=./usr/share/doc/opencv-doc/examples/data/vtest.avi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && apt-get download -q opencv-doc >/dev/null 2>&1); then
    echo "fetch_sample_video: 'apt-get download opencv-doc' failed; the real-footage tests will be skipped" >&2
    exit 1
fi
mkdir -p "$(dirname "$target")"
dpkg-deb --fsys-tarfile "$work"/opencv-doc_*.deb | tar -xO "$member" > "$work/vtest.avi"
mv "$work/vtest.avi" "$target"
echo "fetch_sample_video: $target"
