#!/usr/bin/env bash
# Renders docs/diagram-example.png (shown in the README) from the charon capture in
# test/vectors/captures with headless Chromium (interop/install.sh installs it):
#   npm run build && bash scripts/diagram-example.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node dist/cli/main.js decode --keylog test/vectors/captures/charon-mm-psk.keys \
    --diagram "$tmp/example.svg" test/vectors/captures/charon-mm-psk.pcap
read -r width height < <(sed -n 's/^<svg [^>]*width="\([0-9]*\)" height="\([0-9]*\)".*/\1 \2/p' "$tmp/example.svg")
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
    --user-data-dir="$tmp/profile" --window-size="$width,$height" \
    --screenshot="$PWD/docs/diagram-example.png" "file://$tmp/example.svg" 2>/dev/null
echo "wrote docs/diagram-example.png (${width}x${height})"
