#!/usr/bin/env bash
# ResNet-18 training throughput (CIFAR stem, 32x32, batch 64, wasm-ort) inside a CPU quota, as in a
# container given fewer CPUs than its host has (docker --cpus, a Kubernetes limit): the engine's
# threads at the host's core count (what the default was) against the default now (the quota's,
# rounded up: src/core/cpuLimit.ts). BENCHMARKS.md, "Engine threads under a CPU quota".
#
#   npm run build && bash bench/engine/cpu_quota.sh [quota in CPUs, default 1] [steps, default 8] [thread counts, default "<cores> 0"]
#
# Thread count 0 is the engine's default; a count above the machine's cores stands for a larger host
# (64 cores, a quota of 2).
#
# Needs root and a writable cgroup v1 cpu hierarchy or v2 unified one; on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
QUOTA=${1:-1}
STEPS=${2:-8}
THREADS=${3:-"$(nproc) 0"}
PERIOD=100000
QUOTA_US=$(awk -v q="$QUOTA" -v p="$PERIOD" 'BEGIN { printf "%d", q * p }')
if [ -d /sys/fs/cgroup/cpu ] && [ -f /sys/fs/cgroup/cpu/cgroup.procs ]; then
  GROUP=/sys/fs/cgroup/cpu/cvw-bench-quota
  mkdir -p "$GROUP"
  echo "$PERIOD" > "$GROUP/cpu.cfs_period_us"
  echo "$QUOTA_US" > "$GROUP/cpu.cfs_quota_us"
else
  GROUP=/sys/fs/cgroup/cvw-bench-quota
  echo +cpu > /sys/fs/cgroup/cgroup.subtree_control || true
  mkdir -p "$GROUP"
  echo "$QUOTA_US $PERIOD" > "$GROUP/cpu.max"
fi
trap 'rmdir "$GROUP" 2>/dev/null || true' EXIT

echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); quota $QUOTA CPUs; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for threads in $THREADS; do
  # --threads 0: the engine's default, which now reads the quota.
  json=$(sh -c "echo \$\$ > '$GROUP/cgroup.procs'; exec node -r sucrase/register bench/engine/models.ts --child wasm-ort --model resnet18 --batch 64 --steps $STEPS --warmup 2 --threads $threads" 2>/dev/null | tail -1)
  node -e '
    const r = JSON.parse(process.argv[1]);
    const ms = [...r.stepMs].sort((a, b) => a - b);
    const label = process.argv[2] === "0" ? "the default now" : process.argv[2] === process.argv[3] ? "the host cores: the old default" : "set";
    console.log(`threads ${r.summary.match(/; (\d+) threads? for the native/)[1]} (${label}): ${r.samplesPerS.toFixed(1)} samples/s, step median ${ms[ms.length >> 1].toFixed(0)} ms, min ${ms[0].toFixed(0)} ms, max ${ms[ms.length - 1].toFixed(0)} ms`);
  ' "$json" "$threads" "$(nproc)"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
