#!/usr/bin/env bash
# Packs what the webgpu backend needs on a GPU machine that has no Node and no network (the lent H100/H200
# machines): .gpu/node.xz (this machine's node binary), .gpu/modules.tar.xz (production node_modules),
# .gl/*.deb (the Vulkan loader). Run here, in the repository root's checkout; then on the GPU machine,
# carrying .gpu, .gl and dist: bash scripts/gpu/run-webgpu.sh. Everything stays under 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/../.."
for d in /.gpu/ /.gl/; do grep -qxF "$d" .git/info/exclude 2>/dev/null || echo "$d" >> .git/info/exclude; done
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

# the Vulkan loader (the machines have NVIDIA's driver and its ICD, not always libvulkan.so.1)
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update -qq && (cd .gl && apt-get $o download libvulkan1 >/dev/null)
fi
du -ch .gpu .gl dist | tail -1
echo "carry: .gpu .gl dist"
