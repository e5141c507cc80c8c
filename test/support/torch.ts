import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The PyTorch side of the tests: the first Python that imports torch (Debian's python3-torch lives in
 * /usr/bin/python3 when a pyenv python3 comes first on PATH), and the reference script
 * test/support/torch_ref.py. Arrays travel as raw float32 files plus a meta.json of shapes, never
 * through uirgen's own weight formats.
 */

const CANDIDATES = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => Boolean(p));

function probe(): { python: string; version: string } | null {
  for (const python of CANDIDATES) {
    const r = spawnSync(python, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { python, version: r.stdout.trim() };
  }
  return null;
}

export const torch = probe();

/** The note a skipped PyTorch test prints. */
export const NO_TORCH = `PyTorch tests skipped: none of ${CANDIDATES.join(', ')} imports torch and numpy (Debian: apt-get install python3-torch)`;

if (!torch) console.warn(NO_TORCH);

export const TORCH_REF = new URL('./torch_ref.py', import.meta.url).pathname;

/** Run torch_ref.py COMMAND ARGS; returns stdout, throws with stderr on failure. */
export function torchRef(command: string, args: string[], env: Record<string, string> = {}): string {
  if (!torch) throw new Error(NO_TORCH);
  const r = spawnSync(torch.python, [TORCH_REF, command, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`torch_ref.py ${command} failed:\n${r.stderr}`);
  return r.stdout;
}

export interface Arr {
  shape: number[];
  data: Float32Array;
}

const fileOf = (name: string): string => `${name.replace(/\//g, '__')}.f32`;

export function writeArrays(dir: string, arrays: Record<string, Arr>): void {
  mkdirSync(dir, { recursive: true });
  const meta: Record<string, number[]> = {};
  for (const [name, a] of Object.entries(arrays)) {
    meta[name] = a.shape;
    writeFileSync(join(dir, fileOf(name)), Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength));
  }
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
}

export function readArrays(dir: string): Record<string, Arr> {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Record<string, number[]>;
  const out: Record<string, Arr> = {};
  for (const [name, shape] of Object.entries(meta)) {
    const b = readFileSync(join(dir, fileOf(name)));
    out[name] = { shape, data: new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) };
  }
  return out;
}

/** Largest |a - b| over the largest |b| (at least 1): a scale-free closeness for network outputs. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}
