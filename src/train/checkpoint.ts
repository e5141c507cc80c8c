import * as tf from '@tensorflow/tfjs-core';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TOOLKIT_VERSION } from '../version.js';
import { createTrainer, type Trainer, type TrainHyper } from './maskdcpt.js';
import { validateConfig, type NetConfig } from './models/maskdcpt-net.js';

/**
 * Checkpoints in the TensorFlow.js weights format: `model.json` with a `weightsManifest` (one group, one
 * shard `weights-<step>.bin`, float32 little-endian, tensors in manifest order) plus a `uirgen` section with
 * everything needed to rebuild and continue: network config, hyper-parameters, steps taken, the optimizer's
 * step and state tensor names, the data stream position and the run's own settings. Weights and AdamW
 * moments (`opt.m/<name>`, `opt.v/<name>`) share the shard, so `tf.io.decodeWeights` reads all of it.
 *
 * Writes are crash-safe: the new shard is written first, then model.json is replaced by rename, then
 * shards it no longer names are removed. A reader therefore always sees a consistent pair.
 */

export const CHECKPOINT_FORMAT = 'uirgen-maskdcpt-checkpoint';
export const CHECKPOINT_VERSION = 1;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface CheckpointInfo {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  toolkit: string;
  config: NetConfig;
  hyper: TrainHyper;
  /** Training steps completed. */
  step: number;
  optimizer: { kind: 'adamw'; t: number; state: string[] };
  params: string[];
  /** The data stream's position after the last batch used (resume opens the stream with it). */
  data: Json;
  /** The caller's run settings (dataset, batch, patch, total steps, ...), to resume identically. */
  run: Json;
}

interface ModelJson {
  format: string;
  generatedBy: string;
  convertedBy: null;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  uirgen: CheckpointInfo;
}

const MODEL_JSON = 'model.json';
const shardName = (step: number): string => `weights-${String(step).padStart(8, '0')}.bin`;

export async function saveCheckpoint(dir: string, trainer: Trainer, data: Json, run: Json): Promise<string> {
  await mkdir(dir, { recursive: true });
  const params = trainer.net.params.names();
  const state = trainer.optimizer.stateTensors();
  const tensors: tf.NamedTensorMap = {};
  for (const name of params) tensors[name] = trainer.net.params.get(name);
  for (const [name, t] of state) tensors[name] = t;
  const { data: buffer, specs } = await tf.io.encodeWeights(tensors);
  const shard = shardName(trainer.step);
  await writeFile(join(dir, shard), new Uint8Array(buffer as ArrayBuffer));
  const info: CheckpointInfo = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    toolkit: TOOLKIT_VERSION,
    config: trainer.net.config,
    hyper: trainer.hyper,
    step: trainer.step,
    optimizer: { kind: 'adamw', t: trainer.optimizer.t, state: [...state.keys()] },
    params,
    data,
    run,
  };
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
  if (model.format !== CHECKPOINT_FORMAT || !info || info.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(`${path} is not a ${CHECKPOINT_FORMAT} version ${CHECKPOINT_VERSION}`);
  }
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

/** Rebuild a trainer from a checkpoint: same network, weights, optimizer moments and step. */
export async function loadTrainer(dir: string): Promise<{ trainer: Trainer; info: CheckpointInfo }> {
  const { info, tensors } = await readCheckpoint(dir);
  let trainer: Trainer | null = null;
  try {
    trainer = createTrainer(validateConfig(info.config), info.hyper);
    trainer.net.params.assign(tensors);
    trainer.optimizer.load(tensors, info.optimizer.t);
    trainer.step = info.step;
    return { trainer, info };
  } catch (err) {
    trainer?.dispose();
    throw err instanceof CheckpointError ? err : new CheckpointError(`${join(dir, MODEL_JSON)}: ${(err as Error).message}`);
  } finally {
    tf.dispose([...tensors.values()]);
  }
}
