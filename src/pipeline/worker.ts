import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Piscina } from 'piscina';
import sharp from 'sharp';
import { cropDepthMap, decodeDepthMap, type DepthKind, type DepthMapData } from '../core/depthmap.js';
import { toUint8 } from '../core/image.js';
import { cropRasterBytes, decodeRaster8, ImageInputError, rasterToImage, type Raster8 } from '../core/io.js';
import { psnrBytes } from '../core/metrics.js';
import { encodePngRgb8 } from '../core/png.js';
import { createRng } from '../core/random.js';
import { checkReplayVersion, getDegradation } from '../degradations/registry.js';
import type { Params, TypeId } from '../degradations/types.js';
import type { CropBox } from './plan.js';
import type { SplitName } from './recipe.js';

/**
 * The piscina worker: one task = one source and some of its crops. It reads the source once,
 * checks its bytes against the sha256 the plan was made from, decodes it once to 8 bits (and keeps the last
 * decoded source, since consecutive tasks often share it), then for each crop: cut it as exact k/255
 * values (the stored gt, so lq is exactly apply(decode(gt.png), params)), draw params from the
 * sample's seed, apply, encode both PNGs (png.ts, on this thread), hash them and measure PSNR. All
 * output bytes go back in one transferred buffer; the main thread only writes and indexes.
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
  /** Deflate level for both PNGs (fixed per dataset: it changes the bytes). */
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
  /**
   * The buffer those ranges index when it is not the result's `data`: set on the main thread in a
   * result merged from the parts of a task (affinity.ts), never by a worker.
   */
  bytes?: Uint8Array;
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

/**
 * Per-stage timing for `npm run bench:synthesize`, which runs tasks in its own thread with one; the
 * pool never passes one, so the pipeline pays an undefined check per stage and nothing more.
 */
export interface StageClock {
  /** Charge the time since the previous lap to `stage`. */
  lap(stage: string): void;
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
 * The pixel work of one sample. The gt is the crop's bytes (exact k/255 values once in float), so
 * the stored gt.png is those bytes and lq is apply(decode(gt.png), params); the operator gets a
 * float copy it may change in place. PSNR is measured on the 8-bit images the PNGs hold.
 */
/**
 * The gt bytes, the operator's float input and the quantized lq of the sample in hand, reused from one
 * sample to the next: a fresh 0.8 MB float array per sample costs an allocation, page faults and GC
 * pressure. Nothing holds on to them past the sample (lq is quantized before the next one starts).
 */
const scratch = { gt: new Uint8Array(0), lq: new Uint8Array(0) };
let scratchInput = new Float32Array(0);

function scratchOf(key: 'gt' | 'lq', length: number): Uint8Array {
  if (scratch[key].length !== length) scratch[key] = new Uint8Array(length);
  return scratch[key];
}

function scratchFloat(length: number): Float32Array {
  if (scratchInput.length !== length) scratchInput = new Float32Array(length);
  return scratchInput;
}

async function makeSample(source: Raster8, depthMap: DepthMapData | null, task: WorkerTask, s: WorkerSample, clock?: StageClock): Promise<Made> {
  const gt = cropRasterBytes(source, s.crop.x, s.crop.y, s.crop.w, s.crop.h, scratchOf('gt', s.crop.w * s.crop.h * 3));
  const input = rasterToImage(gt, scratchFloat(gt.data.length));
  clock?.lap('crop');
  const d = getDegradation(s.type);
  const depth = depthMap ? cropDepthMap(depthMap, s.crop.x, s.crop.y, s.crop.w, s.crop.h) : undefined;
  const info = { width: gt.width, height: gt.height, ...(depth ? { depth: { sha256: depth.sha256, kind: depth.kind } } : {}) };
  if (s.params) checkReplayVersion(d, s.type_version, `sample ${s.key}`);
  const params = s.params ?? d.sample(s.level, createRng(s.seed), info);
  clock?.lap('params');
  const lq = await d.apply(input, params, depth ? { depth } : undefined);
  clock?.lap(`apply ${s.type}`);
  if (lq.width !== gt.width || lq.height !== gt.height) {
    throw new Error(`${s.type} returned ${lq.width}x${lq.height} for a ${gt.width}x${gt.height} input`);
  }
  const lq8 = toUint8(lq, scratchOf('lq', lq.data.length));
  clock?.lap('quantize');
  const quality = psnrBytes(lq8, gt.data);
  clock?.lap('psnr');
  const gtPng = encodePngRgb8(gt.data, gt.width, gt.height, task.pngLevel);
  const lqPng = encodePngRgb8(lq8, lq.width, lq.height, task.pngLevel);
  clock?.lap('png encode');
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
  clock?.lap('json');
  return { gt: gtPng, lq: lqPng, json, params, typeVersion: d.version, psnr: quality };
}

export async function runTask(task: WorkerTask, clock?: StageClock): Promise<WorkerResult> {
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
  clock?.lap('decode');
  if (task.samples.some((s) => s.crop.x + s.crop.w > source.width || s.crop.y + s.crop.h > source.height)) {
    // The probe (header) and the decoder disagree on the size: the file cannot be trusted.
    const message = `decoded to ${source.width}x${source.height}, which the planned crops do not fit`;
    return { sourceError: { stage: 'decode', message }, outputs, failures, data: new Uint8Array(0) };
  }
  for (const s of task.samples) {
    let m: Made;
    try {
      m = await makeSample(source, depthMap, task, s, clock);
    } catch (err) {
      // A degradation that throws on one crop is a bug to report, not a reason to lose the run.
      failures.push({ key: s.key, stage: `degrade ${s.type} ${s.level_id}`, message: err instanceof Error ? err.message : String(err) });
      continue;
    }
    const gtSha = sha256(m.gt);
    const lqSha = sha256(m.lq);
    clock?.lap('sha256');
    outputs.push({
      key: s.key,
      params: m.params,
      type_version: m.typeVersion,
      psnr: m.psnr,
      gt_sha256: gtSha,
      lq_sha256: lqSha,
      gt: put(m.gt),
      lq: put(m.lq),
      json: put(m.json),
    });
  }
  // One fresh (unpooled) buffer that the main thread receives by transfer, not by copy.
  const data = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const p of parts) {
    p.copy(data, at);
    at += p.length;
  }
  clock?.lap('pack');
  const result: WorkerResult = { sourceError: null, outputs, failures, data };
  if (clock) return result;
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
