import { sameNafnet, type NafnetConfig } from './nafnet.js';

/**
 * Restoration networks by name. `nafnet-64` is the published size (MaskDCPT's options/all_in_one/test/
 * test_NAFNet_5d.yml and NAFNet's GoPro model: width 64, encoder [1, 1, 1, 28], middle 1, decoder
 * [1, 1, 1, 1]; 67,888,835 parameters), `nafnet-32` NAFNet's GoPro width-32 model; the tiny ones are for
 * CPU runs and tests.
 */
export const NET_PRESETS = {
  'nafnet-64': { width: 64, encBlocks: [1, 1, 1, 28], middleBlocks: 1, decBlocks: [1, 1, 1, 1] },
  'nafnet-32': { width: 32, encBlocks: [1, 1, 1, 28], middleBlocks: 1, decBlocks: [1, 1, 1, 1] },
  /** The CPU default of `pretrain`: width 16, three stages of one block. */
  'nafnet-tiny': { width: 16, encBlocks: [1, 1, 1], middleBlocks: 1, decBlocks: [1, 1, 1] },
  /** The smallest useful one, for tests: width 8, two stages. */
  'nafnet-micro': { width: 8, encBlocks: [1, 1], middleBlocks: 1, decBlocks: [1, 1] },
} as const satisfies Record<string, NafnetConfig>;

export type NetPresetName = keyof typeof NET_PRESETS;
export const NET_PRESET_NAMES = Object.keys(NET_PRESETS) as NetPresetName[];

export function isNetPreset(name: string): name is NetPresetName {
  return Object.prototype.hasOwnProperty.call(NET_PRESETS, name);
}

/** A fresh (mutable) copy of a preset's shape. */
export function netPreset(name: NetPresetName): NafnetConfig {
  const p = NET_PRESETS[name];
  return { width: p.width, encBlocks: [...p.encBlocks], middleBlocks: p.middleBlocks, decBlocks: [...p.decBlocks] };
}

/** The preset a shape is, if any (for messages and export.json). */
export function presetOf(config: NafnetConfig): NetPresetName | null {
  return NET_PRESET_NAMES.find((name) => sameNafnet(netPreset(name), config)) ?? null;
}

/** Parameters of NAFNetBaseline with this shape (img_channel 3), computed from the architecture. */
export function nafnetParameterCount(c: NafnetConfig): number {
  const block = (ch: number): number => {
    const dw = 2 * ch;
    // conv1, conv2 (depthwise 3x3), conv3, sca, conv4, conv5 (all with bias), two LayerNorms, beta, gamma
    return ch * dw + dw + dw * 9 + dw + (dw / 2) * ch + ch + (dw / 2) ** 2 + dw / 2 + ch * 2 * ch + 2 * ch + ch * ch + ch + 4 * ch + 2 * ch;
  };
  let n = 3 * c.width * 9 + c.width + c.width * 3 * 9 + 3; // intro, ending
  let ch = c.width;
  for (const blocks of c.encBlocks) {
    n += blocks * block(ch) + ch * 2 * ch * 4 + 2 * ch; // blocks, 2x2 stride-2 down conv
    ch *= 2;
  }
  n += c.middleBlocks * block(ch);
  for (const blocks of c.decBlocks) {
    n += ch * 2 * ch; // bias-free 1x1 up conv
    ch /= 2;
    n += blocks * block(ch);
  }
  return n;
}
