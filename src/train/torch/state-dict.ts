import type { ParamSpec } from '../models/layers.js';
import { buildRestorationNet, type NafnetConfig } from '../models/nafnet.js';
import { fromTorch, toTorch, type HostTensor } from './layout.js';
import type { NamedTensor } from './safetensors.js';

/**
 * The restoration network as a PyTorch state dict, and back.
 *
 * uirgen's parameter names are those of MaskDCPT's NAFNetBaseline (basicsr/archs/nafnet_arch.py there),
 * the class its released weights load into. Two other spellings of the same network exist and are
 * accepted on import and offered on export:
 * - dcpt: MILab-PKU/dcpt's NAFNetBaseline, stages as nn.Sequential: `encoders.0.0.*`, `middle_blks.0.*`,
 *   `decoder0.0.*`;
 * - megvii: megvii-research/NAFNet's NAFNet: `encoders.0.0.*`, `middle_blks.0.*`, `decoders.0.0.*` (its
 *   LayerNorm2d uses eps 1e-6 where MaskDCPT's uses 1e-5: outputs differ slightly, weights are the same).
 * DistributedDataParallel's `module.` prefix is dropped on import.
 */

export type NameStyle = 'maskdcpt' | 'dcpt' | 'megvii';
export const NAME_STYLES: readonly NameStyle[] = ['maskdcpt', 'dcpt', 'megvii'];

export class StateDictError extends Error {
  override name = 'StateDictError';
}

/** A uirgen (MaskDCPT) name in another style. */
export function renameTo(style: NameStyle, name: string): string {
  if (style === 'maskdcpt') return name;
  let m = /^encoders\.(\d+)\.blocks\.(\d+)\.(.+)$/.exec(name);
  if (m) return `encoders.${m[1]}.${m[2]}.${m[3]}`;
  m = /^middle_blks\.blocks\.(\d+)\.(.+)$/.exec(name);
  if (m) return `middle_blks.${m[1]}.${m[2]}`;
  m = /^decoder(\d+)\.blocks\.(\d+)\.(.+)$/.exec(name);
  if (m) return style === 'megvii' ? `decoders.${m[1]}.${m[2]}.${m[3]}` : `decoder${m[1]}.${m[2]}.${m[3]}`;
  return name;
}

/** Any style's name in uirgen's (MaskDCPT's) spelling. */
export function canonicalName(name: string): string {
  const n = name.startsWith('module.') ? name.slice('module.'.length) : name;
  let m = /^encoders\.(\d+)\.(\d+)\.(.+)$/.exec(n);
  if (m) return `encoders.${m[1]}.blocks.${m[2]}.${m[3]}`;
  m = /^middle_blks\.(\d+)\.(.+)$/.exec(n);
  if (m) return `middle_blks.blocks.${m[1]}.${m[2]}`;
  m = /^decoders?(?:\.)?(\d+)\.(\d+)\.(.+)$/.exec(n);
  if (m) return `decoder${m[1]}.blocks.${m[2]}.${m[3]}`;
  return n;
}

/** The style a state dict's names are written in (maskdcpt when nothing tells). */
export function detectStyle(names: Iterable<string>): NameStyle {
  let sequential = false;
  for (const raw of names) {
    const n = raw.startsWith('module.') ? raw.slice(7) : raw;
    if (/^decoders\.\d+\.\d+\./.test(n)) return 'megvii';
    if (/^decoder\d+\.\d+\./.test(n) || /^encoders\.\d+\.\d+\./.test(n) || /^middle_blks\.\d+\./.test(n)) sequential = true;
  }
  return sequential ? 'dcpt' : 'maskdcpt';
}

/** The parameters to export, each with its spec (layout) and values. */
export interface ExportParam {
  name: string;
  spec: ParamSpec;
  data: Float32Array;
}

/** uirgen parameters as PyTorch tensors under `style`'s names, in the given order. */
export function toStateDict(params: readonly ExportParam[], style: NameStyle = 'maskdcpt'): NamedTensor[] {
  return params.map((p) => ({ name: renameTo(style, p.name), ...toTorch(p.spec.layout, { shape: p.spec.shape, data: p.data }, p.name) }));
}

/**
 * NAFNetBaseline's shape from its state dict's names and shapes: width from intro.weight, one stage per
 * downs.{i}, blocks counted per stage. Throws when the names are not a NAFNet's.
 */
export function inferNafnetConfig(sd: ReadonlyMap<string, HostTensor>): NafnetConfig {
  const names = [...sd.keys()].map(canonicalName);
  const intro = [...sd.entries()].find(([k]) => canonicalName(k) === 'intro.weight');
  if (!intro) throw new StateDictError('no intro.weight: this is not a NAFNet state dict');
  const width = intro[1].shape[0];
  const count = (re: RegExp): Map<number, Set<number>> => {
    const out = new Map<number, Set<number>>();
    for (const n of names) {
      const m = re.exec(n);
      if (!m) continue;
      const stage = Number(m[1]);
      if (!out.has(stage)) out.set(stage, new Set());
      (out.get(stage) as Set<number>).add(Number(m[2]));
    }
    return out;
  };
  const downs = new Set(names.map((n) => /^downs\.(\d+)\.weight$/.exec(n)).filter((m) => m).map((m) => Number((m as RegExpExecArray)[1])));
  const stages = downs.size;
  if (stages === 0 || [...downs].some((i) => i >= stages)) throw new StateDictError('downs.{i}.weight are missing or not numbered 0..n-1: not a NAFNet state dict');
  const enc = count(/^encoders\.(\d+)\.blocks\.(\d+)\.conv1\.weight$/);
  const dec = count(/^decoder(\d+)\.blocks\.(\d+)\.conv1\.weight$/);
  const middle = count(/^middle_blks\.blocks\.()(\d+)\.conv1\.weight$/).get(0)?.size ?? 0;
  return {
    width,
    encBlocks: Array.from({ length: stages }, (_, i) => enc.get(i)?.size ?? 0),
    middleBlocks: middle,
    decBlocks: Array.from({ length: stages }, (_, i) => dec.get(i)?.size ?? 0),
  };
}

const list = (xs: string[]): string => (xs.length > 6 ? `${xs.slice(0, 6).join(', ')} and ${xs.length - 6} more` : xs.join(', '));

/**
 * A state dict (any style) as uirgen tensors for NAFNetBaseline(config), checked as load_state_dict(strict=True)
 * checks it: no missing names, no unexpected ones, every shape right.
 */
export function fromStateDict(sd: ReadonlyMap<string, HostTensor>, config: NafnetConfig): Map<string, HostTensor> {
  const byName = new Map<string, HostTensor>();
  for (const [k, v] of sd) {
    const c = canonicalName(k);
    if (byName.has(c)) throw new StateDictError(`${k} and another name both map to ${c}`);
    byName.set(c, v);
  }
  const net = buildRestorationNet(config, 'specs', 'specs');
  try {
    const names = net.params.names();
    const missing = names.filter((n) => !byName.has(n));
    const unexpected = [...byName.keys()].filter((n) => !names.includes(n));
    if (missing.length || unexpected.length) {
      throw new StateDictError(
        [missing.length ? `missing ${missing.length}: ${list(missing)}` : '', unexpected.length ? `unexpected ${unexpected.length}: ${list(unexpected)}` : '']
          .filter(Boolean)
          .join('; '),
      );
    }
    const out = new Map<string, HostTensor>();
    for (const name of names) {
      const spec = net.params.spec(name);
      try {
        out.set(name, fromTorch(spec.layout, byName.get(name) as HostTensor, spec.shape, name));
      } catch (err) {
        throw new StateDictError((err as Error).message);
      }
    }
    return out;
  } finally {
    net.dispose();
  }
}
