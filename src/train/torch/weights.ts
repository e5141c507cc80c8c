import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { TOOLKIT_VERSION } from '../../version.js';
import { CheckpointError, readCheckpoint, saveWeightsCheckpoint, type Json } from '../checkpoint.js';
import { EMA_PREFIX } from '../ema.js';
import { buildRestorationNet, describeNafnet, sameNafnet, type NafnetConfig } from '../models/nafnet.js';
import { presetOf } from '../models/presets.js';
import type { HostTensor } from './layout.js';
import { decodePth, encodePth, PthError } from './pth.js';
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type NamedTensor } from './safetensors.js';
import { detectStyle, fromStateDict, inferNafnetConfig, StateDictError, toStateDict, type NameStyle } from './state-dict.js';

/**
 * `uirgen export` and `uirgen import-weights`: a checkpoint's restoration network to a PyTorch file that
 * BasicSR's NAFNetBaseline loads with strict=True, and such a file back to a checkpoint.
 *
 * .pth: torch.save({"params": live, "params_ema": ema}) as BasicSR saves net_g (params_ema only when the
 * checkpoint has an EMA). .safetensors: one flat state dict (the EMA when there is one, else the live
 * weights; metadata "param_key" says which). export.json beside them gives the constructor arguments.
 */

export type WeightsFormat = 'pth' | 'safetensors';

export class WeightsIoError extends Error {
  override name = 'WeightsIoError';
}

export function formatOf(path: string): WeightsFormat | null {
  const ext = extname(path).toLowerCase();
  if (ext === '.pth' || ext === '.pt') return 'pth';
  if (ext === '.safetensors') return 'safetensors';
  return null;
}

/** BasicSR's network options for NAFNetBaseline: `type` and the constructor's keyword arguments. */
export function networkOptions(c: NafnetConfig): { type: 'NAFNetBaseline'; img_channel: 3; width: number; middle_blk_num: number; enc_blk_nums: number[]; dec_blk_nums: number[] } {
  return { type: 'NAFNetBaseline', img_channel: 3, width: c.width, middle_blk_num: c.middleBlocks, enc_blk_nums: [...c.encBlocks], dec_blk_nums: [...c.decBlocks] };
}

export interface ExportOptions {
  out: string;
  style?: NameStyle;
  /** safetensors: which copy to write (default: the EMA when present). */
  weights?: 'ema' | 'live' | 'auto';
  /** Where export.json goes (default: export.json beside `out`). */
  meta?: string;
}

export interface ExportResult {
  out: string;
  meta: string;
  format: WeightsFormat;
  /** State-dict keys written (.pth) or the one copy written (.safetensors). */
  keys: string[];
  parameters: number;
  network: ReturnType<typeof networkOptions>;
}

async function writeAtomic(path: string, data: Buffer | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.partial`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** Export a checkpoint's restoration network. */
export async function exportWeights(checkpoint: string, opts: ExportOptions): Promise<ExportResult> {
  const format = formatOf(opts.out);
  if (!format) throw new WeightsIoError(`${opts.out}: the output must end in .pth or .safetensors`);
  const style = opts.style ?? 'maskdcpt';
  const { info, tensors } = await readCheckpoint(checkpoint);
  try {
    const specs = buildRestorationNet(info.nafnet, 'specs', 'specs').params;
    const set = (prefix: string): NamedTensor[] =>
      toStateDict(
        info.restoration.map((name) => {
          const t = tensors.get(`${prefix}${name}`);
          if (!t) throw new CheckpointError(`${checkpoint}: no tensor ${prefix}${name}`);
          return { name, spec: specs.spec(name), data: t.dataSync() as Float32Array };
        }),
        style,
      );
    const hasEma = info.ema !== null;
    let keys: string[];
    let bytes: Buffer;
    if (format === 'pth') {
      const groups = [{ key: 'params', tensors: set('') }, ...(hasEma ? [{ key: 'params_ema', tensors: set(EMA_PREFIX) }] : [])];
      keys = groups.map((g) => g.key);
      bytes = encodePth(groups);
    } else {
      const choice = opts.weights ?? 'auto';
      if (choice === 'ema' && !hasEma) throw new WeightsIoError(`${checkpoint} has no EMA weights; export the live ones (--weights live)`);
      const ema = choice === 'ema' || (choice === 'auto' && hasEma);
      keys = [ema ? 'params_ema' : 'params'];
      bytes = encodeSafetensors(set(ema ? EMA_PREFIX : ''), { format: 'pt', param_key: keys[0], uirgen: TOOLKIT_VERSION, names: style });
    }
    const network = networkOptions(info.nafnet);
    const parameters = specs.count();
    const meta = opts.meta ?? join(dirname(opts.out), 'export.json');
    const description = {
      format: 'uirgen-export',
      version: 1,
      weights: basename(opts.out),
      file_format: format,
      names: style,
      architecture: 'NAFNetBaseline of MILab-PKU/MaskDCPT basicsr/archs/nafnet_arch.py (LayerNorm2d eps 1e-5)',
      network_g: network,
      param_keys: keys,
      param_key_g: keys.includes('params_ema') ? 'params_ema' : 'params',
      preset: presetOf(info.nafnet),
      parameters,
      checkpoint: { kind: info.kind, step: info.kind === 'pretrain' ? info.step : null, toolkit: info.toolkit },
      exported_by: `uirgen ${TOOLKIT_VERSION}`,
    };
    await writeAtomic(opts.out, bytes);
    await writeAtomic(meta, `${JSON.stringify(description, null, 2)}\n`);
    return { out: opts.out, meta, format, keys, parameters, network };
  } finally {
    tf.dispose([...tensors.values()]);
  }
}

export interface ImportOptions {
  out: string;
  /** The network the weights must be (default: inferred from them). */
  net?: NafnetConfig;
  /** Import only this state dict of a .pth (e.g. params_ema); default: params as the live weights, params_ema as the EMA. */
  key?: string;
}

export interface ImportResult {
  checkpoint: string;
  config: NafnetConfig;
  style: NameStyle;
  /** The .pth keys used as live weights and EMA (or '' for a bare state dict). */
  live: string;
  ema: string | null;
  ignored: string[];
  parameters: number;
}

/** Read a .pth or .safetensors NAFNet state dict into a `weights` checkpoint. */
export async function importWeights(file: string, opts: ImportOptions): Promise<ImportResult> {
  const format = formatOf(file);
  if (!format) throw new WeightsIoError(`${file}: expected a .pth (or .pt) or .safetensors file`);
  const bytes = await readFile(file);
  let groups: Map<string, Map<string, HostTensor>>;
  let ignored: string[] = [];
  try {
    if (format === 'pth') {
      ({ groups, ignored } = decodePth(bytes));
    } else {
      const st = decodeSafetensors(bytes);
      groups = new Map([[st.metadata.param_key === 'params_ema' ? 'params_ema' : '', st.tensors]]);
    }
  } catch (err) {
    if (err instanceof PthError || err instanceof SafetensorsError) throw new WeightsIoError(`${file}: ${err.message}`);
    throw new WeightsIoError(`${file}: ${(err as Error).message}`);
  }
  const keys = [...groups.keys()];
  let live: string;
  let ema: string | null = null;
  if (opts.key !== undefined) {
    if (!groups.has(opts.key)) throw new WeightsIoError(`${file} has no state dict "${opts.key}" (it has: ${keys.map((k) => k || '(bare)').join(', ')})`);
    live = opts.key;
  } else if (groups.has('params')) {
    live = 'params';
    if (groups.has('params_ema')) ema = 'params_ema';
  } else if (keys.length === 1) {
    live = keys[0];
  } else {
    const pick = ['params_ema', 'state_dict', 'model', 'net_g'].find((k) => groups.has(k));
    if (!pick) throw new WeightsIoError(`${file} holds several state dicts (${keys.join(', ')}); choose one with --key`);
    live = pick;
  }
  const liveSd = groups.get(live) as Map<string, HostTensor>;
  let config: NafnetConfig;
  let converted: Map<string, HostTensor>;
  let emaConverted: Map<string, HostTensor> | null = null;
  try {
    config = inferNafnetConfig(liveSd);
    if (opts.net && !sameNafnet(opts.net, config)) {
      throw new WeightsIoError(`${file}: the weights are a NAFNet of ${describeNafnet(config)}, --net asks for ${describeNafnet(opts.net)}`);
    }
    converted = fromStateDict(liveSd, config);
    if (ema) emaConverted = fromStateDict(groups.get(ema) as Map<string, HostTensor>, config);
  } catch (err) {
    if (err instanceof StateDictError) throw new WeightsIoError(`${file}${live ? ` [${live}]` : ''}: ${err.message}`);
    throw err;
  }
  const toTf = (m: Map<string, HostTensor>): Map<string, tf.Tensor> => new Map([...m].map(([k, v]) => [k, tf.tensor(v.data, v.shape, 'float32')]));
  const liveTf = toTf(converted);
  const emaTf = emaConverted ? toTf(emaConverted) : null;
  try {
    const source: Json = {
      file: basename(file),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      format,
      names: detectStyle(liveSd.keys()),
      live,
      ema,
    };
    const checkpoint = await saveWeightsCheckpoint(opts.out, config, liveTf, emaTf, source);
    const parameters = [...converted.values()].reduce((n, t) => n + t.data.length, 0);
    return { checkpoint, config, style: detectStyle(liveSd.keys()), live, ema, ignored, parameters };
  } finally {
    tf.dispose([...liveTf.values(), ...(emaTf ? [...emaTf.values()] : [])]);
  }
}
