#!/usr/bin/env bash
# On a GPU machine, with .gpu, .gl, dist and build carried from scripts/gpu/pack-carry.sh: unpacks Node, the
# node_modules and the Vulkan loader, then prints, one JSON line each:
#   bench-train on the webgpu backend for reference, maskdcpt-tiny and nafnet-64 (when this build has it),
#   the same nets on the native backend (oneDNN on this machine's CPU cores) for comparison,
#   and a short pre-training on the webgpu backend (its last log line).
# Every command has its own time limit so that the whole script stays within about ten minutes even when
# something hangs; a command that fails or runs out of time prints {"failed": ...} and the script goes on.
# The carried libraries are unpacked under /tmp/uirgen-gl and found through LD_LIBRARY_PATH (nothing is
# installed system-wide); the carried node runs everything (the node_modules' addons are built for it).
# Usage: bash scripts/gpu/run-webgpu.sh [pretrain steps, default 300]   (UIRGEN_GPU_BENCH_STEPS, UIRGEN_GPU_WARMUP: default 30, 10)
set -uo pipefail
cd "$(dirname "$0")/../.."
steps=${1:-300}
bench_steps=${UIRGEN_GPU_BENCH_STEPS:-30}
warmup=${UIRGEN_GPU_WARMUP:-10}
libs=/tmp/uirgen-gl
for f in .gl/*.deb; do [ -f "$f" ] && dpkg -x "$f" "$libs"; done
export LD_LIBRARY_PATH=$libs/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
mkdir -p /tmp/uirgen-node && xz -dc .gpu/node.xz > /tmp/uirgen-node/node && chmod +x /tmp/uirgen-node/node
export PATH=/tmp/uirgen-node:$PATH
[ -d node_modules ] || tar -xJf .gpu/modules.tar.xz
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
echo "node $(node --version); $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi'); $(nproc) CPUs"

# run LIMIT_S LABEL CMD...: one JSON line (the command's last stdout line), or {"failed": ...}
run() {
  local limit=$1 label=$2
  shift 2
  local out
  out=$(timeout "$limit" "$@" 2>/tmp/uirgen-gpu-stderr)
  local rc=$?
  if [ $rc -eq 0 ] && [ -n "$out" ]; then
    echo "$out" | tail -n 1
  else
    echo "{\"failed\":\"$label\",\"exit\":$rc,\"stderr\":$(grep -v 'artificially reduced' /tmp/uirgen-gpu-stderr | tail -c 400 | node -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(0,"utf8")))')}"
  fi
  return $rc
}

nets=(reference maskdcpt-tiny)
node dist/cli/main.js bench-train --help | grep -q 'nafnet-64' && nets+=(nafnet-64)
echo "== bench-train, webgpu (batch 16, 64x64; $bench_steps steps after $warmup warm-up)"
for net in "${nets[@]}"; do
  run 75 "webgpu $net" node dist/cli/main.js bench-train --net "$net" --backend webgpu --steps "$bench_steps" --warmup "$warmup" --json
done
echo "== bench-train, native on this machine's CPU cores (10 steps after 2 warm-up)"
if [ -f build/native/uirgen_native.node ]; then
  for net in "${nets[@]}"; do
    run 45 "native $net" node dist/cli/main.js bench-train --net "$net" --backend native --steps 10 --warmup 2 --json
  done
else
  echo '{"failed":"native","reason":"build/native/uirgen_native.node was not carried"}'
fi
echo "== pretrain --backend webgpu, $steps steps on the demo recipe (380 pairs)"
if run 45 synthesize node dist/cli/main.js synthesize --sources samples/images --out /tmp/uirgen-gpu-ds --recipe manifests/demo.json --json >/dev/null; then
  rm -rf /tmp/uirgen-gpu-ckpt
  run 150 pretrain node dist/cli/main.js pretrain --data /tmp/uirgen-gpu-ds --out /tmp/uirgen-gpu-ckpt --steps "$steps" --backend webgpu --json
  [ -f /tmp/uirgen-gpu-ckpt/log.jsonl ] && head -n 1 /tmp/uirgen-gpu-ckpt/log.jsonl && tail -n 1 /tmp/uirgen-gpu-ckpt/log.jsonl
fi
