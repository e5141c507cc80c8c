import * as tf from '@tensorflow/tfjs-core';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TOOLKIT_VERSION } from '../version.js';
import { EMA_PREFIX } from './ema.js';
import { createFinetuner, SPN_PREFIX, type Finetuner, type FinetuneHyper } from './finetune.js';
import { createTrainer, type Trainer, type TrainHyper } from './maskdcpt.js';
import { validateConfig, type NetConfig } from './models/maskdcpt-net.js';
import { buildRestorationNet, validateNafnetConfig, type NafnetConfig, type RestorationNet } from './models/nafnet.js';

/**
 * Checkpoints in the TensorFlow.js weights format: `model.json` with a `weightsManifest` (one group, one
 * shard `weights-<step>.bin`, float32 little-endian, tensors in manifest order) plus a `uirgen` section
 * saying what they hold. Tensors are named as in PyTorch (the restoration network as NAFNetBaseline's
 * state_dict, the classifier under `dc.`), in uirgen's layouts; `ema/<name>` holds the EMA of a
 * restoration parameter, `opt.m/<name>` and `opt.v/<name>` the AdamW moments.
 *
 * Two kinds:
 * - `pretrain`: a pre-training run, everything needed to continue it exactly (network config,
 *   hyper-parameters, steps taken, optimizer step and moments, EMA, data position, run settings);
 * - `weights`: a restoration network alone (from `import-weights`), live weights and optionally EMA;
 * - `finetune`: a fine-tuning run of the restoration network (moments, EMA, the SPN negative under
 *   `spn/<name>`, data position, run settings), to continue exactly.
 * Both give the restoration network to fine-tuning, evaluation and `restore` through
 * loadRestorationWeights / loadRestorationNet.
 *
 * Writes are crash-safe: the new shard is written first, then model.json is replaced by rename, then
 * shards it no longer names are removed. A reader therefore always sees a consistent pair.
 */

export const CHECKPOINT_FORMAT = 'uirgen-maskdcpt-checkpoint';
export const CHECKPOINT_VERSION = 2;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface CheckpointBase {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  toolkit: string;
  /** The restoration network's shape (NAFNetBaseline's constructor arguments). */
  nafnet: NafnetConfig;
  /** The restoration network's parameter names, in order. */
  restoration: string[];
  /** Whether `ema/<name>` tensors of the restoration network are stored, and their decay when known. */
  ema: { decay: number | null } | null;
}

export interface PretrainCheckpointInfo extends CheckpointBase {
  kind: 'pretrain';
  config: NetConfig;
  hyper: TrainHyper;
  /** Training steps completed. */
  step: number;
  optimizer: { kind: 'adamw'; t: number; state: string[] };
  /** Every parameter of the pre-training network, in order. */
  params: string[];
  /** The data stream's position after the last batch used (resume opens the stream with it). */
  data: Json;
  /** The caller's run settings (dataset, batch, patch, total steps, ...), to resume identically. */
  run: Json;
}

export interface WeightsCheckpointInfo extends CheckpointBase {
  kind: 'weights';
  /** Where the weights came from (file, state-dict key, ...). */
  source: Json;
}

export interface FinetuneCheckpointInfo extends CheckpointBase {
  kind: 'finetune';
  hyper: FinetuneHyper;
  /** Training steps completed. */
  step: number;
  optimizer: { kind: 'adamw'; t: number; state: string[] };
  /** Whether `spn/<name>` tensors (the SPN negative model) are stored. */
  spn: boolean;
  /** Where the initial weights came from (a checkpoint, a weights file, or null: from scratch). */
  init: Json;
  data: Json;
  run: Json;
}

export type CheckpointInfo = PretrainCheckpointInfo | WeightsCheckpointInfo | FinetuneCheckpointInfo;

interface ModelJson {
  format: string;
  generatedBy: string;
  convertedBy: null;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  uirgen: CheckpointInfo;
}

const MODEL_JSON = 'model.json';
const shardName = (step: number): string => `weights-${String(step).padStart(8, '0')}.bin`;

async function writeCheckpoint(dir: string, info: CheckpointInfo, tensors: tf.NamedTensorMap, step: number): Promise<string> {
  await mkdir(dir, { recursive: true });
  const { data: buffer, specs } = await tf.io.encodeWeights(tensors);
  const shard = shardName(step);
  await writeFile(join(dir, shard), new Uint8Array(buffer as ArrayBuffer));
  const model: ModelJson = {
    format: CHECKPOINT_FORMAT,
    generatedBy: `uirgen ${TOOLKIT_VERSION}`,
    convertedBy: null,
    weightsManifest: [{ paths: [shard], weights: specs }],
    uirgen: info,
  };
  const tmp = join(dir, `${MODEL_JSON}.tmp`);
  await writeFile(tmp, `${JSON.stringify(model, null, 1)}\n`);
  await rename(tmp, join(dir, MODEL_JSON));
  for (const f of await readdir(dir)) {
    if (/^weights-\d+\.bin$/.test(f) && f !== shard) await rm(join(dir, f), { force: true });
  }
  return join(dir, MODEL_JSON);
}

function nafnetOf(c: NafnetConfig): NafnetConfig {
  return { width: c.width, encBlocks: [...c.encBlocks], middleBlocks: c.middleBlocks, decBlocks: [...c.decBlocks] };
}

/** Save a pre-training trainer (weights, moments, EMA) with the data position and run settings. */
export async function saveCheckpoint(dir: string, trainer: Trainer, data: Json, run: Json): Promise<string> {
  const params = trainer.net.params.names();
  const state = trainer.optimizer.stateTensors();
  const tensors: tf.NamedTensorMap = {};
  for (const name of params) tensors[name] = trainer.net.params.get(name);
  for (const [name, t] of state) tensors[name] = t;
  if (trainer.ema) for (const [name, t] of trainer.ema.stateTensors()) tensors[name] = t;
  const info: PretrainCheckpointInfo = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    toolkit: TOOLKIT_VERSION,
    kind: 'pretrain',
    nafnet: nafnetOf(trainer.net.config),
    restoration: [...trainer.net.restorationNames],
    ema: trainer.ema ? { decay: trainer.ema.decay } : null,
    config: trainer.net.config,
    hyper: trainer.hyper,
    step: trainer.step,
    optimizer: { kind: 'adamw', t: trainer.optimizer.t, state: [...state.keys()] },
    params,
    data,
    run,
  };
  return writeCheckpoint(dir, info, tensors, trainer.step);
}

/** Save a fine-tuning run: weights, AdamW moments, EMA, the SPN negative, data position and run settings. */
export async function saveFinetuneCheckpoint(dir: string, f: Finetuner, init: Json, data: Json, run: Json): Promise<string> {
  const restoration = f.net.params.names();
  const state = f.optimizer.stateTensors();
  const tensors: tf.NamedTensorMap = {};
  for (const name of restoration) tensors[name] = f.net.params.get(name);
  for (const [name, t] of state) tensors[name] = t;
  if (f.ema) for (const [name, t] of f.ema.stateTensors()) tensors[name] = t;
  if (f.negative) for (const [name, t] of f.negative.params.entries()) tensors[`${SPN_PREFIX}${name}`] = t;
  const info: FinetuneCheckpointInfo = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    toolkit: TOOLKIT_VERSION,
    kind: 'finetune',
    nafnet: nafnetOf(f.net.config),
    restoration,
    ema: f.ema ? { decay: f.ema.decay } : null,
    hyper: f.hyper,
    step: f.step,
    optimizer: { kind: 'adamw', t: f.optimizer.t, state: [...state.keys()] },
    spn: f.negative !== null,
    init,
    data,
    run,
  };
  return writeCheckpoint(dir, info, tensors, f.step);
}

/** Rebuild a fine-tuner from its checkpoint: weights, moments, EMA, negative and step, to continue exactly. */
export async function loadFinetuner(dir: string): Promise<{ finetuner: Finetuner; info: FinetuneCheckpointInfo }> {
  const { info, tensors } = await readCheckpoint(dir);
  let finetuner: Finetuner | null = null;
  try {
    if (info.kind !== 'finetune') throw new CheckpointError(`${join(dir, MODEL_JSON)} is a ${info.kind} checkpoint, not a fine-tuning run to continue`);
    finetuner = createFinetuner(validateNafnetConfig(info.nafnet), info.hyper, tensors);
    finetuner.optimizer.load(tensors, info.optimizer.t);
    finetuner.ema?.load(tensors);
    if (finetuner.negative) {
      const neg = new Map<string, tf.Tensor>();
      for (const name of info.restoration) {
        const t = tensors.get(`${SPN_PREFIX}${name}`);
        if (!t) throw new CheckpointError(`${join(dir, MODEL_JSON)} has no SPN negative tensor ${SPN_PREFIX}${name}`);
        neg.set(name, t);
      }
      finetuner.negative.params.assign(neg);
    }
    finetuner.step = info.step;
    return { finetuner, info };
  } catch (err) {
    finetuner?.dispose();
    throw err instanceof CheckpointError ? err : new CheckpointError(`${join(dir, MODEL_JSON)}: ${(err as Error).message}`);
  } finally {
    tf.dispose([...tensors.values()]);
  }
}

/**
 * Save a restoration network alone: `live` holds every parameter of NAFNetBaseline(config) by name (uirgen
 * layouts), `ema` the same names or null.
 */
export async function saveWeightsCheckpoint(
  dir: string,
  config: NafnetConfig,
  live: ReadonlyMap<string, tf.Tensor>,
  ema: ReadonlyMap<string, tf.Tensor> | null,
  source: Json,
): Promise<string> {
  const names = [...live.keys()];
  const tensors: tf.NamedTensorMap = {};
  for (const [name, t] of live) tensors[name] = t;
  if (ema) {
    for (const name of names) {
      const t = ema.get(name);
      if (!t) throw new Error(`EMA weights have no tensor ${name}`);
      tensors[`${EMA_PREFIX}${name}`] = t;
    }
  }
  const info: WeightsCheckpointInfo = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    toolkit: TOOLKIT_VERSION,
    kind: 'weights',
    nafnet: nafnetOf(validateNafnetConfig(config)),
    restoration: names,
    ema: ema ? { decay: null } : null,
    source,
  };
  return writeCheckpoint(dir, info, tensors, 0);
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export interface LoadedCheckpoint {
  info: CheckpointInfo;
  tensors: Map<string, tf.Tensor>;
}

async function readModelJson(dir: string): Promise<ModelJson> {
  const path = join(dir, MODEL_JSON);
  let model: ModelJson;
  try {
    model = JSON.parse(await readFile(path, 'utf8')) as ModelJson;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CheckpointError(code === 'ENOENT' ? `no checkpoint in ${dir} (${MODEL_JSON} missing)` : `${path}: ${(err as Error).message}`);
  }
  const info = model.uirgen;
  if (model.format !== CHECKPOINT_FORMAT || !info) throw new CheckpointError(`${path} is not a ${CHECKPOINT_FORMAT}`);
  if (info.version !== CHECKPOINT_VERSION) {
    // Version 1 named tensors its own way and had another network; its weights do not map onto this one.
    throw new CheckpointError(
      `${path} is a version ${String(info.version)} checkpoint; this uirgen reads version ${CHECKPOINT_VERSION} (train it again with this version)`,
    );
  }
  if (info.kind !== 'pretrain' && info.kind !== 'weights' && info.kind !== 'finetune') throw new CheckpointError(`${path}: unknown checkpoint kind ${String((info as { kind: unknown }).kind)}`);
  return model;
}

/** The checkpoint's description alone (no tensors, no backend needed). */
export async function readCheckpointInfo(dir: string): Promise<CheckpointInfo> {
  return (await readModelJson(dir)).uirgen;
}

/** Read model.json and its shard; throws CheckpointError with the path when absent or malformed. */
export async function readCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const path = join(dir, MODEL_JSON);
  const model = await readModelJson(dir);
  const info = model.uirgen;
  const manifest = model.weightsManifest;
  if (!Array.isArray(manifest) || manifest.length !== 1 || manifest[0].paths.length !== 1) {
    throw new CheckpointError(`${path}: expected one weights group with one shard`);
  }
  const shardPath = join(dir, manifest[0].paths[0]);
  let bytes: Buffer;
  try {
    bytes = await readFile(shardPath);
  } catch (err) {
    throw new CheckpointError(`${shardPath}: ${(err as Error).message}`);
  }
  const expected = manifest[0].weights.reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
  if (bytes.byteLength !== expected) throw new CheckpointError(`${shardPath} holds ${bytes.byteLength} bytes, the manifest needs ${expected}`);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const named = tf.io.decodeWeights(buffer, manifest[0].weights);
  return { info, tensors: new Map(Object.entries(named)) };
}

/** Rebuild a trainer from a pre-training checkpoint: same network, weights, optimizer moments, EMA and step. */
export async function loadTrainer(dir: string): Promise<{ trainer: Trainer; info: PretrainCheckpointInfo }> {
  const { info, tensors } = await readCheckpoint(dir);
  let trainer: Trainer | null = null;
  try {
    if (info.kind !== 'pretrain') throw new CheckpointError(`${join(dir, MODEL_JSON)} holds imported weights, not a pre-training run to continue`);
    trainer = createTrainer(validateConfig(info.config), info.hyper);
    trainer.net.params.assign(tensors);
    trainer.optimizer.load(tensors, info.optimizer.t);
    trainer.ema?.load(tensors);
    trainer.step = info.step;
    return { trainer, info };
  } catch (err) {
    trainer?.dispose();
    throw err instanceof CheckpointError ? err : new CheckpointError(`${join(dir, MODEL_JSON)}: ${(err as Error).message}`);
  } finally {
    tf.dispose([...tensors.values()]);
  }
}

/** Which copy of the restoration weights: the EMA (what BasicSR evaluates and releases) or the live ones. */
export type WeightsChoice = 'ema' | 'live' | 'auto';

export interface RestorationWeights {
  info: CheckpointInfo;
  config: NafnetConfig;
  /** The copy given: 'auto' resolves to 'ema' when the checkpoint has one. */
  which: 'ema' | 'live';
  /** The restoration network's tensors under their parameter names (uirgen layouts); the caller disposes them. */
  tensors: Map<string, tf.Tensor>;
}

/** The restoration network's weights from either kind of checkpoint. */
export async function loadRestorationWeights(dir: string, choice: WeightsChoice = 'auto'): Promise<RestorationWeights> {
  const { info, tensors } = await readCheckpoint(dir);
  const which = choice === 'auto' ? (info.ema ? 'ema' : 'live') : choice;
  const out = new Map<string, tf.Tensor>();
  try {
    if (which === 'ema' && !info.ema) throw new CheckpointError(`${join(dir, MODEL_JSON)} has no EMA weights (trained with EMA off); use the live weights`);
    for (const name of info.restoration) {
      const key = which === 'ema' ? `${EMA_PREFIX}${name}` : name;
      const t = tensors.get(key);
      if (!t) throw new CheckpointError(`${join(dir, MODEL_JSON)} lists ${name} but holds no tensor ${key}`);
      out.set(name, t);
    }
    return { info, config: validateNafnetConfig(info.nafnet), which, tensors: out };
  } finally {
    const kept = new Set(out.values());
    for (const t of tensors.values()) if (!kept.has(t)) t.dispose();
  }
}

/** A ready restoration network with a checkpoint's weights (EMA by default). */
export async function loadRestorationNet(dir: string, choice: WeightsChoice = 'auto'): Promise<{ net: RestorationNet; which: 'ema' | 'live'; info: CheckpointInfo }> {
  const w = await loadRestorationWeights(dir, choice);
  const net = buildRestorationNet(w.config, 'load', 'zeros');
  try {
    net.params.assign(w.tensors);
    return { net, which: w.which, info: w.info };
  } catch (err) {
    net.dispose();
    throw new CheckpointError(`${join(dir, MODEL_JSON)}: ${(err as Error).message}`);
  } finally {
    tf.dispose([...w.tensors.values()]);
  }
}
