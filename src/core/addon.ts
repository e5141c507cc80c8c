import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The optional C++ addon of the data path, build/native/uirgen_png.node (native/png/*.cc), built by
 * `npm run build` where a C++ compiler exists: png.ts's encoder for levels 0 and 1, image.ts's byte
 * <-> float conversions, metrics.ts's squared-error sum, three loops of the low-light camera
 * (lowlight.ts darken, camera.ts finishRgb and unprocess) and the linear demosaic (kernels/bayer.ts).
 * Each function gives exactly what its TypeScript twin gives (the tests compare them), so whether
 * the addon loaded never shows in a dataset's bytes, only in its speed. UIRGEN_PNG=js runs the
 * TypeScript alone; UIRGEN_PNG=native refuses to run without the addon.
 */
export interface DataAddon {
  /** Absent on a big-endian host, where the PNG byte order would need swapping. */
  encodePngRgb8?: (pixels: Uint8Array, width: number, height: number, level: number) => Buffer;
  unitFromBytes(bytes: Uint8Array, out: Float32Array): void;
  bytesFromUnit(image: Float32Array, out: Uint8Array): void;
  quantizeUnit(image: Float32Array): void;
  clampUnit(image: Float32Array): void;
  squaredError(a: Uint8Array, b: Uint8Array): number;
  /** lowlight.ts darken's table curve: out = lut interpolated at src clipped to [0, 1] in n steps. */
  curveFromLut(src: Float32Array, out: Float32Array, lut: Float64Array, n: number): void;
  /** camera.ts finishRgb in place: the 3x3 matrix m, then the display curve (lut indexed by sqrt). */
  cameraToDisplay(data: Float32Array, m: Float64Array, lut: Float64Array, n: number): void;
  /**
   * camera.ts unprocess into out, but for the pixels with a value in (0.995, 1): their value indices
   * are written to corner and their count returned, for the TypeScript to compute.
   */
  unprocessRgb(src: Float32Array, out: Float32Array, m: Float64Array, gains: Float64Array, protect: boolean, lut: Float64Array, n: number, corner: Int32Array): number;
  /** kernels/bayer.ts demosaicLinear's loops over the plane padded by 2 (pw = width + 4), into out. */
  demosaicPadded(p: Float32Array, pw: number, width: number, height: number, cells: Int8Array, corrected: boolean, out: Float32Array): void;
}

/** Where `npm run build` puts the addon: build/native under the package root (above src/core or dist/core). */
export const DATA_ADDON_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', 'native', 'uirgen_png.node');

/** Below this many values a call into the addon costs more than the loop it saves. */
export const NATIVE_MIN_LENGTH = 1024;

const REQUIRED: readonly (keyof DataAddon)[] = ['unitFromBytes', 'bytesFromUnit', 'quantizeUnit', 'clampUnit', 'squaredError', 'curveFromLut', 'cameraToDisplay', 'unprocessRgb', 'demosaicPadded'];

function load(): DataAddon | null {
  const want = process.env.UIRGEN_PNG ?? 'auto';
  if (want === 'js') return null;
  let addon: DataAddon | null = null;
  let why = `${DATA_ADDON_PATH} is missing (npm run build makes it where a C++ compiler exists)`;
  if (existsSync(DATA_ADDON_PATH)) {
    try {
      const loaded = createRequire(import.meta.url)(DATA_ADDON_PATH) as Partial<DataAddon>;
      if (REQUIRED.every((name) => typeof loaded[name] === 'function')) addon = loaded as DataAddon;
      else why = `${DATA_ADDON_PATH} is out of date (run npm run build)`;
    } catch (err) {
      why = `${DATA_ADDON_PATH} failed to load (${(err as Error).message.split('\n')[0]})`;
    }
  }
  if (!addon && want === 'native') throw new Error(`UIRGEN_PNG=native, but ${why}`);
  return addon;
}

/** The loaded addon, or null (none built, UIRGEN_PNG=js): callers then run their TypeScript. */
export const dataAddon: DataAddon | null = load();
