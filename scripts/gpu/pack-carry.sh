#!/usr/bin/env bash
# Packs what the webgpu backend needs on a GPU machine that has no Node and no network (the lent H100/H200
# machines): .gpu/node.xz (this machine's node binary), .gpu/modules.tar.xz (production node_modules),
# .gl/*.deb (the Vulkan loader; oneDNN and the OpenCL loader it links, so that the native backend's figures
# can be taken on the same machine's CPU cores for comparison). Run here, in the repository root's checkout;
# then on the GPU machine, carrying .gpu, .gl, dist and build: bash scripts/gpu/run-webgpu.sh.
# Everything stays under 64 MiB. .gpu and .gl are in .gitignore.
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run build >/dev/null
rm -rf .gpu && mkdir -p .gpu .gl
xz -T0 -6 -c "$(command -v node)" > .gpu/node.xz

# production dependencies only (compiled ones such as better-sqlite3 as built here), without other
# platforms' Dawn binaries
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -a node_modules package.json package-lock.json "$tmp"/
(cd "$tmp" && npm prune --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
find "$tmp/node_modules/webgpu/dist" -mindepth 1 -maxdepth 1 -type d ! -name linux-x64 -exec rm -rf {} +
tar -C "$tmp" -cJf .gpu/modules.tar.xz node_modules

# the Vulkan loader (the machines have NVIDIA's driver and its ICD, not always libvulkan.so.1), and the
# libraries the native addon in build/ links (libdnnl.so.2, libOpenCL.so.1)
missing=()
for pkg in libvulkan1 libdnnl2 ocl-icd-libopencl1; do
  ls .gl/"${pkg}"_*.deb >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update -qq && (cd .gl && apt-get $o download "${missing[@]}" >/dev/null)
fi
du -ch .gpu .gl dist build | tail -1
echo "carry: .gpu .gl dist build"
