#!/usr/bin/env bash
# Pack what bench/gpu/run.sh needs on a machine that reaches no registry (the device machine) into
# one archive: this node binary (stripped), the production npm dependencies (webgpu included)
# trimmed to Linux x64 (other platforms' binaries, sources, source maps, browser bundles removed),
# dist/lib without source maps, and the oneDNN addon with the shared libraries it loads (.gpu/lib)
# where `cvw env --build-onednn` built it here, so that the CPU baseline on that machine is
# wasm-ort as users run it, not one without its fastest convolutions. run.sh unpacks the archive
# when it finds it and no node_modules.
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
# Its debug symbols are 13 MB of the 99 (2 MB of the archive, which has to fit the carry limit).
command -v strip >/dev/null && strip "$STAGE/.gpu/bin/node"
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
rm -rf "$M"/@types "$M"/zod/src
find "$M" \( -name '*.map' -o -name '*.d.ts' -o -name '*.min.js' -o -name '*.es2017.js' -o -name '*.esm.js' -o -name '*.fesm.js' -o -name 'miniprogram' -o -name '*.md' \) -prune -exec rm -rf {} +
for d in "$M"/@tensorflow/*/; do rm -rf "$d"src "$d"dist/*/ 2>/dev/null || true; done
# bin/cvw.js and the benchmarks run dist/lib; dist/cli is the VSIX's single-file bundle.
cp -r dist/lib "$STAGE/dist/"
[ -d dist/vendor ] && cp -r dist/vendor "$STAGE/dist/"
cp dist/cvw.schema.json "$STAGE/dist/" 2>/dev/null || true
find "$STAGE/dist" -name '*.map' -delete

ADDON=packages/onednn/build/Release/cvw_onednn.node
PACKED=(.gpu node_modules dist)
if [ -f "$ADDON" ]; then
  mkdir -p "$STAGE/$(dirname "$ADDON")" "$STAGE/.gpu/lib"
  cp "$ADDON" "$STAGE/$ADDON"
  # libdnnl and what it needs beyond glibc and libstdc++ (libgomp, libOpenCL); run.sh puts
  # .gpu/lib on LD_LIBRARY_PATH.
  ldd "$ADDON" | awk '/=> \// { print $3 }' | grep -E 'libdnnl|libgomp|libOpenCL' | while read -r lib; do
    cp -L "$lib" "$STAGE/.gpu/lib/"
  done
  PACKED+=(packages)
else
  echo "pack.sh: the oneDNN addon is not built (cvw env --build-onednn): the CPU baseline will run without it" >&2
fi

mkdir -p "$DEST"
tar -C "$STAGE" -cf - "${PACKED[@]}" | xz -T0 -6 >"$DEST/bundle.tar.xz"
du -h "$DEST/bundle.tar.xz"
# What a device call sends: tracked files, this archive and the Vulkan/EGL loaders in .gl.
tree=$(git ls-files -z | xargs -0 stat -c %s 2>/dev/null | awk '{ s += $1 } END { print s }')
gl=$(cat .gl/*.deb 2>/dev/null | wc -c)
total=$(( tree + $(stat -c %s "$DEST/bundle.tar.xz") + gl ))
echo "pack.sh: tree + archive + .gl = $(( total / 1048576 )) MiB (a device call carries at most 64)"
[ "$total" -le $(( 64 * 1048576 )) ] || { echo "pack.sh: over the device machine's 64 MiB" >&2; exit 1; }
