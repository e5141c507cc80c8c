#!/usr/bin/env bash
# On a GPU machine, with .gpu, .gl and dist carried from scripts/gpu/pack-carry.sh: unpacks Node, the
# node_modules and the Vulkan loader, then runs bench-train for the reference net, maskdcpt-tiny and the
# published nafnet-64 on the webgpu backend and a
# short pre-training on a small synthesized dataset, printing their figures.
# Usage: bash scripts/gpu/run-webgpu.sh [pretrain steps, default 100]
set -uo pipefail
cd "$(dirname "$0")/../.."
steps=${1:-100}
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
mkdir -p /tmp/uirgen-node && xz -dc .gpu/node.xz > /tmp/uirgen-node/node && chmod +x /tmp/uirgen-node/node
export PATH=/tmp/uirgen-node:$PATH
[ -d node_modules ] || tar -xJf .gpu/modules.tar.xz
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
echo "node $(node --version); $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
for net in reference maskdcpt-tiny nafnet-64; do
  node dist/cli/main.js bench-train --net "$net" --backend webgpu --steps 20 --json
done
node dist/cli/main.js synthesize --sources samples/images --out /tmp/uirgen-gpu-ds --recipe manifests/demo.json --json >/dev/null \
  && node dist/cli/main.js pretrain --data /tmp/uirgen-gpu-ds --out /tmp/uirgen-gpu-ckpt --steps "$steps" --backend webgpu \
  && tail -n 1 /tmp/uirgen-gpu-ckpt/log.jsonl
