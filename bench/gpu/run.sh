#!/usr/bin/env bash
# The GPU measurements of issue 17, as one device script (a machine with an NVIDIA GPU, Dawn on its
# Vulkan driver), also runnable against Mesa's software adapter with tiny sizes (--tiny):
#
#   1. `cvw env --backend webgpu`: the adapter Dawn found, and `cvw env` (what auto picks);
#   2. the gradient grid on that adapter: the engine fuzz, every op (convolutions with strides,
#      padding, dilation; depthwise; gather; batch norm; …), values and gradients vs the cpu backend;
#   3. ResNet-18 (CIFAR stem, 32x32) training throughput at batch 64 and 256, webgpu against wasm-ort
#      on the same machine's CPUs, each in a fresh process;
#   4. ResNet-18 224x224 inference at batch 32: onnxruntime-node's WebGPU provider against its CPU
#      provider (a randomly initialised ResNet-18 trained one step and exported with `cvw export`).
#
#   bench/gpu/run.sh [--tiny]        results in $OUT (default: a new temporary folder)
#
# $OUT gets five files (the device machine returns at most 8): env.txt, grid.txt, train.jsonl,
# infer.jsonl and stderr.log, every step's errors and warnings under its heading.
#
# Needs `npm run build` (dist/) and the npm dependencies, webgpu included, in the tree it runs in.
# On the device machine nothing can be downloaded: the Vulkan and EGL loaders come as .debs in .gl/,
# and node, node_modules, dist/lib and the oneDNN addon as .gpu/bundle.tar.xz. Here, before:
#
#   mkdir -p .gl /tmp/amd64/partial; o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
#   apt-get $o update; (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
#   npm run build && npx cvw env --build-onednn && bench/gpu/pack.sh   # prints the MiB a call carries (64 at most)
#
# then one device call: command `bash bench/gpu/run.sh`, carry [".gl", ".gpu"], timeout 540 s
# (issue 17 asks for under 8 minutes; not yet timed on a GPU); its summary is in the call's
# output, the five files come back from $OUT.
set -uo pipefail
cd "$(dirname "$0")/../.."

# A packed bundle and no dependencies here (the device machine): unpack it.
if [ ! -e node_modules/@tensorflow/tfjs-core/package.json ] && [ -f .gpu/bundle.tar.xz ]; then
  [ -L node_modules ] && rm -f node_modules
  tar -xJf .gpu/bundle.tar.xz
fi
[ -x .gpu/bin/node ] && NODE=${NODE:-$PWD/.gpu/bin/node}
# The oneDNN addon's libraries, packed beside it (pack.sh).
[ -d .gpu/lib ] && export LD_LIBRARY_PATH=$PWD/.gpu/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

TINY=0
[ "${1:-}" = "--tiny" ] && TINY=1
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
NODE=${NODE:-node}
TS="$NODE -r sucrase/register"
CVW="$NODE bin/cvw.js"

if [ "$TINY" = 1 ]; then
  BATCHES="2 4"; STEPS=2; WARMUP=1; SIZE=16; WIDTH=4; GRID_SEEDS=28; INFER_SIZE=32; INFER_BATCH=2; INFER_ITERS=2
else
  BATCHES="64 256"; STEPS=5; WARMUP=2; SIZE=32; WIDTH=64; GRID_SEEDS=280; INFER_SIZE=224; INFER_BATCH=32; INFER_ITERS=10
fi

# Loaders for the GPU machine (its driver is there; libvulkan and libEGL are not). Only there: on
# any other machine (the test of this script) nothing is unpacked into /.
has_lib() { ldconfig -p | grep "$1" >/dev/null; }   # not grep -q: pipefail would see ldconfig's SIGPIPE
on_nvidia() { command -v nvidia-smi >/dev/null || [ -d /usr/local/nvidia ]; }
if [ -d .gl ] && ls .gl/*.deb >/dev/null 2>&1 && on_nvidia && ! { has_lib libvulkan.so.1 && has_lib libEGL.so.1; }; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
export EGL_PLATFORM=surfaceless
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

ERR=$OUT/stderr.log
: >"$ERR"
step() { echo; echo "== $* ($(date -u +%H:%M:%S))" | tee -a "$ERR"; }
# The last lines of stderr.log that say what went wrong (not Dawn's warnings or stack frames).
why() { grep -v '^Warning\|^ *at ' "$ERR" | tail -5; }
failed=0

step "1. cvw env"
nvidia-smi -L 2>/dev/null | tee "$OUT/env.txt"
$CVW env --backend webgpu 2>>"$ERR" | tee -a "$OUT/env.txt" || { failed=1; why; }
$CVW env 2>/dev/null | head -1 | tee -a "$OUT/env.txt"

step "2. gradient grid on the adapter: $GRID_SEEDS fuzz cases"
$TS bench/engine/fuzz.ts --engines webgpu --seeds "$GRID_SEEDS" 2>>"$ERR" | tee "$OUT/grid.txt" || { failed=1; why; }

step "3. ResNet-18 (CIFAR stem, ${SIZE}x${SIZE}, base width $WIDTH) training throughput"
: >"$OUT/train.jsonl"
for b in $BATCHES; do
  for e in webgpu wasm-ort; do
    $TS bench/gpu/throughput.ts --engine "$e" --batch "$b" --steps "$STEPS" --warmup "$WARMUP" --size "$SIZE" --base-width "$WIDTH" 2>>"$ERR" | tee -a "$OUT/train.jsonl" || { failed=1; echo "$e batch $b failed"; why; }
  done
done

step "4. ResNet-18 ${INFER_SIZE}x${INFER_SIZE} inference, batch $INFER_BATCH: onnxruntime WebGPU vs CPU provider"
WORK=$(mktemp -d)
cat >"$WORK/resnet18.yaml" <<EOF
engine: { backend: wasm-ort }
seed: 1
model:
  type: Classification
  backbone: { type: ResNet, depth: 18, base_width: $WIDTH }
  head: { type: ClsHead }
data:
  workers: 0
  train:
    type: ClsDataset
    batch_size: 2
    source: { type: ImageFolder, root: $PWD/data/images-sample }
    pipeline: [{ type: Resize, size: $INFER_SIZE }, { type: CenterCrop, size: $INFER_SIZE }, { type: ToTensor }]
optimizer: { type: SGD, lr: 0.1 }
runner: { max_iters: 1 }
EOF
if $CVW train "$WORK/resnet18.yaml" --work-dir "$WORK/run" -q >>"$ERR" 2>&1 &&
  $CVW export "$WORK/run" -o "$WORK/resnet18.onnx" >>"$ERR" 2>&1; then
  $TS bench/gpu/ortInference.ts --model "$WORK/resnet18.onnx" --batch "$INFER_BATCH" --size "$INFER_SIZE" --iters "$INFER_ITERS" 2>>"$ERR" | tee "$OUT/infer.jsonl" || { failed=1; why; }
else
  failed=1
  why
fi
rm -rf "$WORK"

step "summary"
$NODE -e '
const fs = require("fs");
const rows = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
for (const b of [...new Set(rows.map((r) => r.batch))]) {
  const w = rows.find((r) => r.batch === b && r.engine === "webgpu");
  const c = rows.find((r) => r.batch === b && r.engine === "wasm-ort");
  const cpu = c ? ` (${c.threads} threads, convolutions on ${c.convolutions})` : "";
  console.log(`training batch ${b}: webgpu ${w ? w.samplesPerS : "-"} samples/s, wasm-ort ${c ? c.samplesPerS : "-"} samples/s${cpu}` + (w && c ? `, ${(w.samplesPerS / c.samplesPerS).toFixed(2)}x` : ""));
}
' "$OUT/train.jsonl"
[ -s "$OUT/infer.jsonl" ] && cat "$OUT/infer.jsonl"
echo "results: $OUT"
exit $failed
