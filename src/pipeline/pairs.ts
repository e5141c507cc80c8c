import { relative, sep } from 'node:path';

/**
 * Pairing degraded images with their ground truths by file name, after undoing the naming quirks of the
 * common datasets (Rain100L rain-/norain-, RESIDE/SOTS <id>_<A>_<beta>, SIDD _NOISY_/_GT_, LOL-v2 low/normal,
 * RainDrop _rain/_clean) and recognising the folders that hold each half (rainy/norain, hazy/gt, low/high,
 * blur/sharp, input/target, ...). `uirgen import` and the benchmark layouts of `uirgen eval` both use it.
 */

/** What a file is, as far as its name says: degraded, ground truth, an auxiliary map, or unknown. */
export type Role = 'lq' | 'gt' | 'aux' | null;

/** Folder names that mark the degraded or the clean half of a dataset laid out in one tree. */
const LQ_DIRS = new Set(['blur', 'blur_gamma', 'input', 'inputs', 'low', 'lq', 'hazy', 'haze', 'rain', 'rainy', 'noisy', 'degraded', 'lr', 'synthetic']);
const GT_DIRS = new Set(['sharp', 'target', 'targets', 'high', 'normal', 'gt', 'clear', 'clean', 'norain', 'groundtruth', 'ground_truth', 'hr', 'label', 'labels']);

interface StemRule {
  pattern: RegExp;
  role: Role;
  /** The dataset whose naming this is (reported as a Classified's marker). */
  dataset: string;
  /** The stem both halves of a pair share, from the match. */
  stem: (m: RegExpMatchArray) => string;
}

/** File-name conventions of the usual datasets (stems are lower-cased first). */
const STEM_RULES: StemRule[] = [
  // Rain100L/H, Rain200, RainTrainL: norain-1.png (clean), rain-1.png (rainy), rainregion-/rainstreak- maps.
  { pattern: /^norain-(.+)$/, role: 'gt', dataset: 'rain100', stem: (m) => m[1] },
  { pattern: /^(?:rainregion|rainstreak)-(.+)$/, role: 'aux', dataset: 'rain100', stem: (m) => m[1] },
  { pattern: /^rain-x2-(.+)$/, role: 'lq', dataset: 'rain100', stem: (m) => m[1] },
  { pattern: /^rain-(.+)$/, role: 'lq', dataset: 'rain100', stem: (m) => m[1] },
  // SIDD: 0001_NOISY_SRGB_010 / 0001_GT_SRGB_010 side by side in each scene folder.
  { pattern: /^(.+)_noisy_(.+)$/, role: 'lq', dataset: 'sidd', stem: (m) => `${m[1]}_#_${m[2]}` },
  { pattern: /^(.+)_gt_(.+)$/, role: 'gt', dataset: 'sidd', stem: (m) => `${m[1]}_#_${m[2]}` },
  // LOL-v2: low00001 / normal00001.
  { pattern: /^low(\d+)$/, role: 'lq', dataset: 'lol-v2', stem: (m) => m[1] },
  { pattern: /^normal(\d+)$/, role: 'gt', dataset: 'lol-v2', stem: (m) => m[1] },
  // RainDrop: 0_rain / 0_clean.
  { pattern: /^(.+)_rain$/, role: 'lq', dataset: 'raindrop', stem: (m) => m[1] },
  { pattern: /^(.+)_clean$/, role: 'gt', dataset: 'raindrop', stem: (m) => m[1] },
];

/** RESIDE SOTS/ITS/OTS hazy names: <clear id>_<airlight>_<beta> (0001_0.8_0.2, 1_1_0.90179). */
const RESIDE_HAZY = /^(.+?)_\d+(?:\.\d+)?_\d+(?:\.\d+)?$/;

export interface Classified {
  path: string;
  /** Path relative to the walked root, with '/' separators. */
  rel: string;
  role: Role;
  /**
   * What gave the role, lower-case: the folder name (rainy, hazy, low, blur, input, ...), a dataset whose
   * file naming matched (rain100, sidd, lol-v2, raindrop), or 'reside' for a RESIDE hazy name; null if none.
   */
  marker: string | null;
  /** Match keys, most specific first: exact, then with dataset quirks undone. */
  keys: string[];
  /** Looser keys tried only when no exact key matched (zero padding, an x2 suffix). */
  loose: string[];
  /** The stem alone, without folders: a last resort when the two trees are shaped differently. */
  bare: string[];
}

function stemOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

function loosen(stem: string): string {
  return stem.replace(/x2$/, '').replace(/\d+/g, (digits) => String(Number(digits)));
}

/** Role and match keys of one file under its root. */
export function classify(root: string, path: string): Classified {
  const rel = relative(root, path).split(sep).join('/');
  const parts = rel.toLowerCase().split('/');
  const name = parts.pop() ?? '';
  let role: Role = null;
  let marker: string | null = null;
  const dirs: string[] = [];
  for (const part of parts) {
    if (LQ_DIRS.has(part)) role = 'lq';
    else if (GT_DIRS.has(part)) role = 'gt';
    else {
      dirs.push(part);
      continue;
    }
    marker = part;
  }
  const stem = stemOf(name);
  const stems = [stem];
  for (const rule of STEM_RULES) {
    const m = stem.match(rule.pattern);
    if (m) {
      role = rule.role;
      marker = rule.dataset;
      stems.push(rule.stem(m));
      break;
    }
  }
  const hazy = stems[stems.length - 1].match(RESIDE_HAZY);
  if (hazy) {
    stems.push(hazy[1]);
    marker ??= 'reside';
  }
  const prefix = dirs.length ? `${dirs.join('/')}/` : '';
  const unique = (xs: string[]): string[] => [...new Set(xs)];
  return {
    path,
    rel,
    role,
    marker,
    keys: unique(stems.map((s) => prefix + s)),
    loose: unique(stems.map((s) => prefix + loosen(s))),
    bare: unique(stems.map(loosen)),
  };
}

export interface Pair {
  lq: string;
  gt: string;
  lqRel: string;
  gtRel: string;
}

export interface MatchResult {
  /** In lq path order. A ground truth may serve several degraded images (RESIDE: many hazes of one scene). */
  pairs: Pair[];
  /** Degraded images with no ground truth. */
  unmatchedLq: string[];
  /** Ground truths that no degraded image matched. */
  unmatchedGt: string[];
  /** Degraded images whose name matches more than one ground truth. */
  ambiguous: { lq: string; candidates: string[] }[];
  /** Auxiliary files recognised by name (Rain100L rainregion-/rainstreak- maps), not images of either half. */
  ignored: string[];
}

type KeyKind = 'keys' | 'loose' | 'bare';

/**
 * Pair degraded files with ground truths. Both lists come from walks of `lqRoot` and `gtRoot`;
 * the roots may be the same folder when the dataset keeps both halves in one tree (SIDD scene
 * folders, GoPro blur/sharp, Rain100L rain-/norain-): a file named as ground truth is then not
 * taken as degraded, and the reverse.
 */
export function matchPairs(lqRoot: string, lqFiles: readonly string[], gtRoot: string, gtFiles: readonly string[]): MatchResult {
  const ignored = new Set<string>();
  const lqs: Classified[] = [];
  for (const path of lqFiles) {
    const c = classify(lqRoot, path);
    if (c.role === 'aux') ignored.add(path);
    else if (c.role !== 'gt') lqs.push(c);
  }
  const gts: Classified[] = [];
  for (const path of gtFiles) {
    const c = classify(gtRoot, path);
    if (c.role === 'aux') ignored.add(path);
    else if (c.role !== 'lq') gts.push(c);
  }
  const index = (kind: KeyKind): Map<string, Classified[]> => {
    const map = new Map<string, Classified[]>();
    for (const g of gts) {
      for (const key of g[kind]) {
        const list = map.get(key);
        if (!list) map.set(key, [g]);
        else if (!list.includes(g)) list.push(g);
      }
    }
    return map;
  };
  const indexes: [KeyKind, Map<string, Classified[]>][] = [
    ['keys', index('keys')],
    ['loose', index('loose')],
    ['bare', index('bare')],
  ];
  const pairs: Pair[] = [];
  const unmatchedLq: string[] = [];
  const ambiguous: MatchResult['ambiguous'] = [];
  const used = new Set<Classified>();
  for (const lq of lqs) {
    let found: Classified[] = [];
    search: for (const [kind, map] of indexes) {
      for (const key of lq[kind]) {
        const candidates = (map.get(key) ?? []).filter((g) => g.path !== lq.path);
        if (candidates.length) {
          found = candidates;
          break search;
        }
      }
    }
    if (found.length === 0) unmatchedLq.push(lq.path);
    else if (found.length > 1) ambiguous.push({ lq: lq.path, candidates: found.map((g) => g.path) });
    else {
      used.add(found[0]);
      pairs.push({ lq: lq.path, gt: found[0].path, lqRel: lq.rel, gtRel: found[0].rel });
    }
  }
  const unmatchedGt = gts.filter((g) => !used.has(g)).map((g) => g.path);
  return { pairs, unmatchedLq, unmatchedGt, ambiguous, ignored: [...ignored].sort() };
}
