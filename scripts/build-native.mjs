#!/usr/bin/env node
// Compiles native/*.cc (tfjs convolution kernels run by oneDNN, elementwise kernels on all cores) into build/native/uirgen_native.node.
// Optional by default: without a C++ compiler or oneDNN it says what to install and exits 0, and the
// trainer uses the wasm backend. UIRGEN_NATIVE=required (CI sets it) makes a failed build an error.
// Skips the compile when the addon is newer than its source.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = join(root, 'native');
const sources = readdirSync(sourceDir).filter((f) => f.endsWith('.cc')).sort().map((f) => join(sourceDir, f));
// this script's own flags count as a source too
const newestSource = Math.max(statSync(fileURLToPath(import.meta.url)).mtimeMs, ...readdirSync(sourceDir).map((f) => statSync(join(sourceDir, f)).mtimeMs));
const outDir = join(root, 'build', 'native');
const target = join(outDir, 'uirgen_native.node');
const required = process.env.UIRGEN_NATIVE === 'required';

function give(reason) {
  const hint = 'install oneDNN and a C++ compiler (Debian/Ubuntu: apt-get install libdnnl-dev g++) and run npm run build again';
  if (required) {
    console.error(`build-native: ${reason}`);
    process.exit(1);
  }
  console.log(`build-native: skipped, ${reason}; the trainer will use --backend wasm. For the faster native backend, ${hint}.`);
  process.exit(0);
}

if (process.platform !== 'linux' && !required) give(`the oneDNN addon build is set up for Linux (this is ${process.platform})`);

if (existsSync(target) && statSync(target).mtimeMs > newestSource) {
  console.log(`build-native: ${target} is up to date`);
  process.exit(0);
}

// Node's headers (node_api.h): beside the running node, or where npm's nodedir points.
const headerDirs = [join(dirname(process.execPath), '..', 'include', 'node'), process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'), '/usr/include/node', '/usr/local/include/node'].filter(Boolean);
const nodeHeaders = headerDirs.find((d) => existsSync(join(d, 'node_api.h')));
if (!nodeHeaders) give(`Node's headers (node_api.h) were not found in ${headerDirs.join(', ')}`);

const compiler = process.env.CXX || 'c++';
const args = ['-O3', '-ffp-contract=off', '-std=c++17', '-shared', '-fPIC', '-fopenmp', '-fvisibility=hidden', '-DNODE_GYP_MODULE_NAME=uirgen_native', `-I${nodeHeaders}`, ...sources, '-ldnnl', '-o', target];
mkdirSync(outDir, { recursive: true });
const started = Date.now();
const result = spawnSync(compiler, args, { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
if (result.error) give(`the C++ compiler "${compiler}" could not run (${result.error.message})`);
if (result.status !== 0) {
  const stderr = result.stderr ?? '';
  if (/dnnl\.hpp: No such file|cannot find -ldnnl/.test(stderr)) give('oneDNN (dnnl.hpp / libdnnl) is not installed');
  process.stderr.write(stderr);
  give(`${compiler} failed (exit ${result.status})`);
}
console.log(`build-native: built ${target} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
