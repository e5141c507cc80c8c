import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Piscina } from 'piscina';
import sharp from 'sharp';
import { cloneImage } from '../core/image.js';
import { cropDepthMap, decodeDepthMap, type DepthKind, type DepthMapData } from '../core/depthmap.js';
import { cropRaster8, decodeRaster8, encodePng, ImageInputError, type Raster8 } from '../core/io.js';
import { createRng } from '../core/random.js';
import { checkReplayVersion, getDegradation } from '../degradations/registry.js';
import type { Params, TypeId } from '../degradations/types.js';
import { psnr } from '../core/metrics.js';
import type { CropBox } from './plan.js';
import type { SplitName } from './recipe.js';

/**
 * The piscina worker: one task = one source and some of its crops. It reads the source once,
 * checks its bytes against the sha256 the plan was made from, decodes it once to 8 bits (and keeps the last
 * decoded source, since consecutive tasks often share it), then for each crop: cut it as exact k/255
 * values (the stored gt, so lq is exactly apply(decode(gt.png), params)), draw params from the
 * sample's seed, apply, encode both PNGs, hash them and measure PSNR. All output bytes go back in
 * one transferred buffer; the main thread only writes and indexes.
 */

// Two workers on two cores: one libvips thread per call avoids oversubscription, and the
// operation cache would only hold buffers we never reuse.
sharp.concurrency(1);
sharp.cache(false);

export interface WorkerSample {
  key: string;
  type: TypeId;
  level: number;
  level_id: string;
  seed: string;
  crop: CropBox;
  split: SplitName;
  /** Recorded params to replay (verify --regenerate) instead of drawing them from the seed. */
  params?: Params;
  /** The type version that recorded `params`; another version than the registry's is refused. */
  type_version?: number | null;
}

export interface WorkerTask {
  path: string;
  sha256: string;
  /** Path relative to its source folder, recorded in each sample's JSON. */
  rel: string;
  samples: WorkerSample[];
  /** zlib level for both PNGs (fixed per dataset: it changes the bytes). */
  pngLevel: number;
  /** The source's real depth map: loaded with it, cropped with each crop, and recorded in params. */
  depth?: { path: string; sha256: string; kind: DepthKind };
}

export interface SampleOutput {
  key: string;
  params: Params;
  /** The rendering version of the sample's type that made lq (recorded beside params). */
  type_version: number;
  psnr: number;
  gt_sha256: string;
  lq_sha256: string;
  /** Byte ranges of the members inside the task's packed buffer. */
  gt: [number, number];
  lq: [number, number];
  json: [number, number];
}

export interface SampleFailure {
  key: string;
  stage: string;
  message: string;
}

export interface WorkerResult {
  /** Set when the whole source could not be used (read, changed, decode, size). */
  sourceError: { stage: string; message: string } | null;
  outputs: SampleOutput[];
  failures: SampleFailure[];
  /** All members' bytes, back to back (transferred, not copied). */
  data: Uint8Array;
}

let cached: { sha256: string; image: Raster8 } | null = null;

async function loadSource(task: WorkerTask): Promise<Raster8> {
  if (cached && cached.sha256 === task.sha256) return cached.image;
  cached = null;
  let bytes: Buffer;
  try {
    bytes = await readFile(task.path);
  } catch (err) {
    throw new SourceError('read', `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== task.sha256) {
    throw new SourceError('read', 'file changed since it was fingerprinted (sha256 differs); its samples are skipped');
  }
  let image: Raster8;
  try {
    image = await decodeRaster8(bytes);
  } catch (err) {
    throw new SourceError('decode', err instanceof ImageInputError ? err.reason : String(err));
  }
  cached = { sha256: sha, image };
  return image;
}

let cachedDepth: DepthMapData | null = null;

/** The source's depth map at the source's size (checked against its fingerprint), kept like the source. */
async function loadDepth(task: WorkerTask, source: Raster8): Promise<DepthMapData | null> {
  const ref = task.depth;
  if (!ref) return null;
  if (cachedDepth && cachedDepth.sha256 === ref.sha256 && cachedDepth.kind === ref.kind && cachedDepth.width === source.width && cachedDepth.height === source.height) {
    return cachedDepth;
  }
  cachedDepth = null;
  let bytes: Buffer;
  try {
    bytes = await readFile(ref.path);
  } catch (err) {
    throw new SourceError('depth', `cannot read depth map ${ref.path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const map = await decodeDepthMap(bytes, ref.kind, ref.path, source).catch((err: Error) => {
    throw new SourceError('depth', err.message);
  });
  if (map.sha256 !== ref.sha256) throw new SourceError('depth', `depth map ${ref.path} changed since it was fingerprinted (sha256 differs)`);
  cachedDepth = map;
  return map;
}

class SourceError extends Error {
  constructor(
    readonly stage: string,
    message: string,
  ) {
    super(message);
  }
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

interface Made {
  gt: Buffer;
  lq: Buffer;
  json: Buffer;
  params: Params;
  typeVersion: number;
  psnr: number;
}

/**
 * The pixel work of one sample, in two steps: `degrade` (JS, on this thread) returns the PNG
 * encodes still running on libuv's pool, so the caller can start the next crop's degradation
 * while they finish; on two cores that keeps both busy instead of waiting for zlib.
 */
async function degrade(source: Raster8, depthMap: DepthMapData | null, task: WorkerTask, s: WorkerSample): Promise<() => Promise<Made>> {
  const gt = cropRaster8(source, s.crop.x, s.crop.y, s.crop.w, s.crop.h);
  const d = getDegradation(s.type);
  const depth = depthMap ? cropDepthMap(depthMap, s.crop.x, s.crop.y, s.crop.w, s.crop.h) : undefined;
  const info = { width: gt.width, height: gt.height, ...(depth ? { depth: { sha256: depth.sha256, kind: depth.kind } } : {}) };
  if (s.params) checkReplayVersion(d, s.type_version, `sample ${s.key}`);
  const params = s.params ?? d.sample(s.level, createRng(s.seed), info);
  // A clone, so an operator that works in place cannot change the gt we measure and store.
  const lq = await d.apply(cloneImage(gt), params, depth ? { depth } : undefined);
  if (lq.width !== gt.width || lq.height !== gt.height) {
    throw new Error(`${s.type} returned ${lq.width}x${lq.height} for a ${gt.width}x${gt.height} input`);
  }
  const encoded = Promise.all([encodePng(gt, task.pngLevel), encodePng(lq, task.pngLevel)]);
  encoded.catch(() => {});
  const quality = psnr(lq, gt);
  const member = {
    key: s.key,
    type: s.type,
    level: s.level,
    level_id: s.level_id,
    type_version: d.version,
    params,
    seed: s.seed,
    source: { sha256: task.sha256, path: task.rel, ...(task.depth ? { depth: { sha256: task.depth.sha256, kind: task.depth.kind } } : {}) },
    crop: s.crop,
    split: s.split,
  };
  const json = Buffer.from(JSON.stringify(member));
  return async () => {
    const [gtPng, lqPng] = await encoded;
    return { gt: gtPng, lq: lqPng, json, params, typeVersion: d.version, psnr: quality };
  };
}

export async function runTask(task: WorkerTask): Promise<WorkerResult> {
  const outputs: SampleOutput[] = [];
  const failures: SampleFailure[] = [];
  const parts: Buffer[] = [];
  let size = 0;
  const put = (b: Buffer): [number, number] => {
    parts.push(b);
    size += b.length;
    return [size - b.length, b.length];
  };
  let source: Raster8;
  let depthMap: DepthMapData | null;
  try {
    source = await loadSource(task);
    depthMap = await loadDepth(task, source);
  } catch (err) {
    const e = err instanceof SourceError ? err : new SourceError('decode', String(err));
    return { sourceError: { stage: e.stage, message: e.message }, outputs, failures, data: new Uint8Array(0) };
  }
  if (task.samples.some((s) => s.crop.x + s.crop.w > source.width || s.crop.y + s.crop.h > source.height)) {
    // The probe (header) and the decoder disagree on the size: the file cannot be trusted.
    const message = `decoded to ${source.width}x${source.height}, which the planned crops do not fit`;
    return { sourceError: { stage: 'decode', message }, outputs, failures, data: new Uint8Array(0) };
  }
  // At most one sample's encodes overlap the next sample's degradation.
  let pending: { s: WorkerSample; finish: () => Promise<Made> } | null = null;
  const collect = async (): Promise<void> => {
    if (!pending) return;
    const { s, finish } = pending;
    pending = null;
    try {
      const m = await finish();
      outputs.push({
        key: s.key,
        params: m.params,
        type_version: m.typeVersion,
        psnr: m.psnr,
        gt_sha256: sha256(m.gt),
        lq_sha256: sha256(m.lq),
        gt: put(m.gt),
        lq: put(m.lq),
        json: put(m.json),
      });
    } catch (err) {
      failures.push({ key: s.key, stage: `encode ${s.type} ${s.level_id}`, message: err instanceof Error ? err.message : String(err) });
    }
  };
  for (const s of task.samples) {
    try {
      const finish = await degrade(source, depthMap, task, s);
      await collect();
      pending = { s, finish };
    } catch (err) {
      await collect();
      // A degradation that throws on one crop is a bug to report, not a reason to lose the run.
      failures.push({ key: s.key, stage: `degrade ${s.type} ${s.level_id}`, message: err instanceof Error ? err.message : String(err) });
    }
  }
  await collect();
  // One fresh (unpooled) buffer that the main thread receives by transfer, not by copy.
  const data = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const p of parts) {
    p.copy(data, at);
    at += p.length;
  }
  const result: WorkerResult = { sourceError: null, outputs, failures, data };
  return Piscina.move(transferable(result, data.buffer)) as unknown as WorkerResult;
}

/** piscina's Transferable protocol: the value to post and the list of buffers to move with it. */
function transferable(value: WorkerResult, buffer: ArrayBufferLike): Parameters<typeof Piscina.move>[0] {
  return {
    get [Piscina.transferableSymbol]() {
      return [buffer];
    },
    get [Piscina.valueSymbol]() {
      return value;
    },
    // piscina types its symbols as plain `symbol`, so the object cannot be typed as its Transferable.
  } as unknown as Parameters<typeof Piscina.move>[0];
}

export default runTask;
