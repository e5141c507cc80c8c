/**
 * The folder layouts `uirgen import` pairs by name (import.ts: LQ_DIRS, GT_DIRS, STEM_RULES,
 * RESIDE_HAZY), named so a recipe can say how each real dataset it expects is to be imported.
 * Each layout carries one example pair of relative paths; a test runs them through import's own
 * matcher, so a layout listed here is one that import really pairs.
 */

export interface ImportLayout {
  /** What the layout looks like on disk. */
  description: string;
  /** How --lq and --gt are given for it. */
  folders: 'same' | 'separate';
  /** One degraded file and its ground truth, relative to --lq and --gt. */
  example: { lq: string; gt: string };
}

export const IMPORT_LAYOUTS = {
  sidd: {
    description: 'SIDD scene folders: <scene>/<id>_NOISY_SRGB_<n>.PNG beside <id>_GT_SRGB_<n>.PNG',
    folders: 'same',
    example: { lq: '0001_001_S6_00100_00060_3200_L/0001_NOISY_SRGB_010.PNG', gt: '0001_001_S6_00100_00060_3200_L/0001_GT_SRGB_010.PNG' },
  },
  'paired-dirs': {
    description:
      'one tree with a degraded folder (blur, input, rain, rainy, low, hazy, noisy, lq, ...) beside a clean folder ' +
      '(sharp, target, gt, clean, norain, high, normal, ...) holding the same file names (GoPro, RealBlur, RainDS-style)',
    folders: 'same',
    example: { lq: 'GOPR0372_07_00/blur/000047.png', gt: 'GOPR0372_07_00/sharp/000047.png' },
  },
  'low-high': {
    description: 'LOL: low/<n>.png and high/<n>.png; LOL-v2: Low/low<n>.png and Normal/normal<n>.png',
    folders: 'same',
    example: { lq: 'our485/low/2.png', gt: 'our485/high/2.png' },
  },
  'rain-norain': {
    description: 'Rain100L/H, Rain13k-style: rain-<n>.png beside norain-<n>.png (rainregion-/rainstreak- maps ignored)',
    folders: 'same',
    example: { lq: 'rain-001.png', gt: 'norain-001.png' },
  },
  'rain-clean': {
    description: 'RainDrop-style: <n>_rain.png and <n>_clean.png',
    folders: 'separate',
    example: { lq: '0_rain.png', gt: '0_clean.png' },
  },
  reside: {
    description: 'RESIDE/SOTS: hazy <id>_<A>_<beta>.png matched to clear <id>.png (several hazes per clear image)',
    folders: 'separate',
    example: { lq: '0001_0.8_0.2.jpg', gt: '0001.png' },
  },
  'same-names': {
    description: 'two folders whose files have the same names: --lq DEGRADED_DIR --gt CLEAN_DIR',
    folders: 'separate',
    example: { lq: 'scene_12.png', gt: 'scene_12.png' },
  },
} as const satisfies Record<string, ImportLayout>;

export type ImportLayoutName = keyof typeof IMPORT_LAYOUTS;

export const IMPORT_LAYOUT_NAMES = Object.keys(IMPORT_LAYOUTS) as ImportLayoutName[];

export function isImportLayout(name: string): name is ImportLayoutName {
  return Object.prototype.hasOwnProperty.call(IMPORT_LAYOUTS, name);
}

/** The `uirgen import` command line for one expected import (placeholders in capitals). */
export function importCommand(entry: { type: string; real: boolean; layout: ImportLayoutName; datasets: readonly string[] }, out = 'DS'): string {
  const layout: ImportLayout = IMPORT_LAYOUTS[entry.layout];
  const dir = `${entry.datasets[0].toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '')}_DIR`;
  const folders = layout.folders === 'same' ? `--lq ${dir} --gt ${dir}` : `--lq ${dir}/DEGRADED --gt ${dir}/CLEAN`;
  return `uirgen import --type ${entry.type}${entry.real ? ' --real' : ''} ${folders} --out ${out}`;
}
