#!/usr/bin/env node
// Compiles the two native addons:
// - native/*.cc (tfjs convolution kernels run by oneDNN, elementwise kernels on all cores) into
//   build/native/uirgen_native.node; without it the trainer uses the wasm backend;
// - native/png/*.cc (the PNG writer of src/core/png.ts, same bytes, faster; needs only a C++
//   compiler) into build/native/uirgen_png.node, with the byte <-> float conversions of
//   src/core/image.ts (native/png/pixels.cc); without it the TypeScript runs (same bytes).
// Optional by default: without a C++ compiler or oneDNN it says what to install and exits 0.
// UIRGEN_NATIVE=required (CI sets it) makes a failed build an error.
// Skips a compile when the addon is newer than its sources.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'build', 'native');
const required = process.env.UIRGEN_NATIVE === 'required';

const TARGETS = [
  {
    name: 'uirgen_png',
    sourceDir: join(root, 'native', 'png'),
    args: ['-O3', '-ffp-contract=off', '-fno-math-errno', '-std=c++17', '-shared', '-fPIC', '-fvisibility=hidden'],
    libs: [],
    fallback: 'PNGs are written by the TypeScript encoder (the same bytes, slower)',
    hint: 'install a C++ compiler (Debian/Ubuntu: apt-get install g++) and run npm run build again',
  },
  {
    name: 'uirgen_native',
    sourceDir: join(root, 'native'),
    args: ['-O3', '-ffp-contract=off', '-std=c++17', '-shared', '-fPIC', '-fopenmp', '-fvisibility=hidden'],
    libs: ['-ldnnl'],
    fallback: 'the trainer will use --backend wasm',
    hint: 'install oneDNN and a C++ compiler (Debian/Ubuntu: apt-get install libdnnl-dev g++) and run npm run build again',
  },
];

/** Build one addon; returns null when built or up to date, else why not. */
function build(t) {
  const sources = readdirSync(t.sourceDir).filter((f) => f.endsWith('.cc')).sort().map((f) => join(t.sourceDir, f));
  const target = join(outDir, `${t.name}.node`);
  // this script's own flags count as a source too
  const newestSource = Math.max(statSync(fileURLToPath(import.meta.url)).mtimeMs, ...readdirSync(t.sourceDir).map((f) => statSync(join(t.sourceDir, f)).mtimeMs));
  if (process.platform !== 'linux' && !required) return `the native build is set up for Linux (this is ${process.platform})`;
  if (existsSync(target) && statSync(target).mtimeMs > newestSource) {
    console.log(`build-native: ${target} is up to date`);
    return null;
  }
  // Node's headers (node_api.h): beside the running node, or where npm's nodedir points.
  const headerDirs = [join(dirname(process.execPath), '..', 'include', 'node'), process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'), '/usr/include/node', '/usr/local/include/node'].filter(Boolean);
  const nodeHeaders = headerDirs.find((d) => existsSync(join(d, 'node_api.h')));
  if (!nodeHeaders) return `Node's headers (node_api.h) were not found in ${headerDirs.join(', ')}`;
  const compiler = process.env.CXX || 'c++';
  const args = [...t.args, `-DNODE_GYP_MODULE_NAME=${t.name}`, `-I${nodeHeaders}`, ...sources, ...t.libs, '-o', target];
  mkdirSync(outDir, { recursive: true });
  const started = Date.now();
  const result = spawnSync(compiler, args, { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (result.error) return `the C++ compiler "${compiler}" could not run (${result.error.message})`;
  if (result.status !== 0) {
    const stderr = result.stderr ?? '';
    if (/dnnl\.hpp: No such file|cannot find -ldnnl/.test(stderr)) return 'oneDNN (dnnl.hpp / libdnnl) is not installed';
    process.stderr.write(stderr);
    return `${compiler} failed (exit ${result.status})`;
  }
  console.log(`build-native: built ${target} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return null;
}

let failed = false;
for (const t of TARGETS) {
  const reason = build(t);
  if (reason === null) continue;
  if (required) {
    console.error(`build-native: ${t.name}: ${reason}`);
    failed = true;
  } else {
    console.log(`build-native: ${t.name} skipped, ${reason}; ${t.fallback}. To build it, ${t.hint}.`);
  }
}
process.exit(failed ? 1 : 0);
