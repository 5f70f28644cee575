#!/usr/bin/env bash
# Pack what bench/gpu/run.sh needs on a machine that reaches no registry (the device machine) into
# one archive: this node binary, the production npm dependencies (webgpu included) trimmed to
# Linux x64 (other platforms' binaries, source maps, browser bundles removed), and dist/ without
# source maps or the editor bundle. run.sh unpacks it when it finds it and no node_modules.
#
#   npm run build && bench/gpu/pack.sh [.gpu]      → .gpu/bundle.tar.xz (carry .gpu)
set -euo pipefail
cd "$(dirname "$0")/../.."
DEST=${1:-.gpu}
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
[ -d dist/lib ] || { echo "pack.sh: run npm run build first" >&2; exit 1; }

mkdir -p "$STAGE/.gpu/bin" "$STAGE/node_modules" "$STAGE/dist"
cp "$(command -v node)" "$STAGE/.gpu/bin/node"
NM=$(readlink -f node_modules)
# Top-level package folders of every production dependency (npm hoists them; nested ones come along).
npm ls --omit=dev --all --parseable 2>/dev/null | sed "s#^$NM/##; s#^$(pwd)/node_modules/##" | grep -v '^/' |
  awk -F/ '{ if ($1 ~ /^@/) print $1"/"$2; else print $1 }' | sort -u | while read -r pkg; do
  [ -d "$NM/$pkg" ] || continue
  mkdir -p "$STAGE/node_modules/$(dirname "$pkg")"
  cp -r "$NM/$pkg" "$STAGE/node_modules/$pkg"
done
M="$STAGE/node_modules"
rm -rf "$M"/onnxruntime-node/bin/napi-v*/{darwin,win32} "$M"/onnxruntime-node/bin/napi-v*/linux/arm64
rm -rf "$M"/webgpu/dist/{darwin-universal,linux-arm64,win32-arm64,win32-x64}
rm -rf "$M"/@types
find "$M" \( -name '*.map' -o -name '*.d.ts' -o -name '*.min.js' -o -name '*.es2017.js' -o -name '*.esm.js' -o -name '*.fesm.js' -o -name 'miniprogram' -o -name '*.md' \) -prune -exec rm -rf {} +
for d in "$M"/@tensorflow/*/; do rm -rf "$d"src "$d"dist/*/ 2>/dev/null || true; done
cp -r dist/lib dist/cli dist/vendor "$STAGE/dist/" 2>/dev/null || cp -r dist/lib dist/cli "$STAGE/dist/"
cp dist/cvw.schema.json "$STAGE/dist/" 2>/dev/null || true
find "$STAGE/dist" -name '*.map' -delete

mkdir -p "$DEST"
tar -C "$STAGE" -cf - .gpu node_modules dist | xz -T0 -6 >"$DEST/bundle.tar.xz"
du -h "$DEST/bundle.tar.xz"
