import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../../src/core/random.js';
import { buildNet, makeMasks, sampleMaskCells, type MaskDcptNet, type NetConfig } from '../../../src/train/models/maskdcpt-net.js';
import { nafnetParameterCount, netPreset, NET_PRESET_NAMES } from '../../../src/train/models/presets.js';
import { tempDir } from '../../support/files.js';
import { readArrays, relativeError, torch, torchRef, writeArrays, type Arr } from '../../support/torch.js';

/**
 * Block-by-block parity with the released architecture: the same weights and input through uirgen and
 * through a PyTorch reference written from MaskDCPT's code (test/support/torch_ref.py: NAFNetBaseline,
 * MaskNAFBlock masking with gathered LayerNorm statistics, PromptIR_NoImg_DC, forward hooks on the
 * decoder stages). Every parameter is set to random non-trivial values so that each branch counts.
 */

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const dir = tempDir('uirgen-parity-');

function config(over: Partial<NetConfig> = {}): NetConfig {
  return {
    method: 'maskdcpt',
    width: 4,
    encBlocks: [1, 2, 1],
    middleBlocks: 1,
    decBlocks: [2, 1, 1],
    maskWindow: 16,
    clsBlocks: 2,
    clsExpand: 2,
    classes: ['a', 'b', 'c'],
    initSeed: 'parity',
    ...over,
  };
}

/** Random values everywhere: zero-initialised residual scales and unit norms would hide whole branches. */
function randomise(net: MaskDcptNet, seed: string): void {
  const rng = createRng(seed);
  for (const [name, v] of net.params.entries()) {
    const scale = /\.(beta|gamma)$/.test(name) ? 0.5 : /norm\d?\.weight$/.test(name) ? 0.3 : 0.4;
    const base = /norm\d?\.weight$/.test(name) ? 1 : 0;
    const vals = Float32Array.from({ length: v.size }, () => base + scale * rng.normal());
    v.assign(tf.tensor(vals, v.shape));
  }
}

function image(n: number, size: number, seed: string, amplitude = 1, offset = 0): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n * size * size * 3 }, () => offset + amplitude * rng.uniform());
}

interface Outputs {
  restored: Float32Array;
  levels: Float32Array[];
  logits: Float32Array;
}

function runUirgen(net: MaskDcptNet, lq: Float32Array, n: number, size: number, cells: Uint8Array | null): Outputs {
  const c = net.config;
  return tf.tidy(() => {
    const x = tf.tensor4d(lq, [n, size, size, 3]);
    const masks = cells ? makeMasks(cells, n, size, size, c.maskWindow, c.encBlocks.length) : null;
    const out = net.forward(x, masks, { restore: true });
    return {
      restored: out.restored?.dataSync() as Float32Array,
      levels: net.featureLevels(x, masks).map((t) => t.dataSync() as Float32Array),
      logits: out.logits.dataSync() as Float32Array,
    };
  });
}

function runTorch(name: string, net: MaskDcptNet, lq: Float32Array, n: number, size: number, cells: Uint8Array | null, env: Record<string, string> = {}): Outputs & { names: string[] } {
  const d = join(dir, name);
  const arrays: Record<string, Arr> = {};
  for (const [pname, v] of net.params.entries()) arrays[pname] = { shape: v.shape, data: v.dataSync() as Float32Array };
  arrays.lq = { shape: [n, size, size, 3], data: lq };
  const w = net.config.maskWindow;
  if (cells) arrays.cells = { shape: [n, size / w, size / w, 1], data: Float32Array.from(cells) };
  writeArrays(join(d, 'in'), arrays);
  writeFileSync(join(d, 'config.json'), JSON.stringify(net.config));
  torchRef('arch', [d], env);
  const out = readArrays(join(d, 'out'));
  const levels = Object.keys(out)
    .filter((k) => k.startsWith('level'))
    .sort()
    .map((k) => out[k].data);
  return { restored: out.restored.data, levels, logits: out.logits.data, names: JSON.parse(readFileSync(join(d, 'out', 'names.json'), 'utf8')) as string[] };
}

describe.skipIf(!torch)('parity with the PyTorch reference of the released code', () => {
  it('has exactly the state_dict names and order of NAFNetBaseline + PromptIR_NoImg_DC', () => {
    const net = buildNet(config());
    const t = runTorch('names', net, image(1, 32, 'x'), 1, 32, null);
    expect(net.params.names()).toEqual(t.names);
    net.dispose();
  });

  it.each([
    ['three stages, masked (window 16)', config(), true],
    ['three stages, unmasked', config(), false],
    ['two stages, masked: the window stays 16 px', config({ encBlocks: [1, 1], decBlocks: [1, 2] }), true],
    ['one block per stage, one classifier block', config({ encBlocks: [1, 1, 1], decBlocks: [1, 1, 1], clsBlocks: 1 }), true],
  ])('%s: restored image, hooked decoder levels and logits match', (_label, cfg, masked) => {
    const net = buildNet(cfg);
    randomise(net, 'w');
    const n = 2;
    const size = 32;
    const lq = image(n, size, 'lq');
    const cells = masked ? sampleMaskCells(n, size / 16, size / 16, 0.5, 'cells') : null;
    const got = runUirgen(net, lq, n, size, cells);
    const want = runTorch(`run-${cfg.encBlocks.length}-${masked}-${cfg.clsBlocks}`, net, lq, n, size, cells);
    expect(relativeError(got.restored, want.restored)).toBeLessThan(1e-4);
    expect(relativeError(got.logits, want.logits)).toBeLessThan(1e-4);
    expect(got.levels).toHaveLength(cfg.encBlocks.length);
    expect(want.levels).toHaveLength(cfg.encBlocks.length);
    got.levels.forEach((l, i) => expect(relativeError(l, want.levels[i]), `level ${i}`).toBeLessThan(1e-4));
    net.dispose();
  });

  it('NAFNet LayerNorm eps is 1e-5: on nearly flat inputs an eps of 1e-6 gives other outputs', () => {
    const net = buildNet(config({ encBlocks: [1], decBlocks: [1], maskWindow: 16 }));
    randomise(net, 'eps');
    // An intro conv that gives every channel nearly the same value: per-pixel channel variances near eps.
    net.params.get('intro.weight').assign(tf.mul(net.params.get('intro.weight'), 1e-3));
    net.params.get('intro.bias').assign(tf.fill([4], 0.1));
    const lq = image(1, 16, 'flat');
    const got = runUirgen(net, lq, 1, 16, null);
    const right = runTorch('eps5', net, lq, 1, 16, null);
    const wrong = runTorch('eps6', net, lq, 1, 16, null, { NAF_LN_EPS: '1e-6' });
    expect(relativeError(got.restored, right.restored)).toBeLessThan(1e-4);
    expect(relativeError(got.restored, wrong.restored)).toBeGreaterThan(1e-3);
    net.dispose();
  });

  it('preset parameter counts equal the PyTorch NAFNetBaseline counts (nafnet-64: 67,888,835)', () => {
    const cfgs = NET_PRESET_NAMES.map((n) => netPreset(n));
    const counts = JSON.parse(torchRef('count', [writeJson('presets.json', cfgs)])) as number[];
    expect(cfgs.map(nafnetParameterCount)).toEqual(counts);
    expect(counts[NET_PRESET_NAMES.indexOf('nafnet-64')]).toBe(67_888_835);
  });
});

function writeJson(name: string, value: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(value));
  return p;
}
