import { stringify } from 'yaml';
import { getDegradation } from '../degradations/registry.js';
import { isTypeId, TYPE_IDS } from '../degradations/types.js';
import { CROISSANT_FILE } from './croissant.js';
import type { LevelCount } from './dataset-info.js';
import { RELEASE_LOCK_FILE, type ReleaseLock } from './lock.js';
import { SUMS_FILE } from './checksums.js';

/**
 * The release's README.md: a dataset card that the Hugging Face Hub reads (YAML front matter: name,
 * licence, task, size, tags, and `configs` whose `data_files` map each split to its shards), with a body
 * that follows "Datasheets for Datasets" (Gebru et al. 2021): motivation, composition, how it was made,
 * uses (how to load it), distribution (verify, rebuild) and maintenance. Every figure comes from the
 * manifest or the lock.
 */

export const CARD_FILE = 'README.md';

export interface CardInput {
  lock: ReleaseLock;
  levels: readonly LevelCount[];
  /** shard name -> samples per split in it. */
  shardSplits: ReadonlyMap<string, Record<string, number>>;
  /** Licence statements of the sources: the publisher's, and licence files found in the source folders. */
  sourceLicenses: { from: string; text: string }[];
}

/** The Hub's size buckets. */
export function sizeCategory(n: number): string {
  const buckets: [number, string][] = [
    [1e3, 'n<1K'],
    [1e4, '1K<n<10K'],
    [1e5, '10K<n<100K'],
    [1e6, '100K<n<1M'],
    [1e7, '1M<n<10M'],
    [1e8, '10M<n<100M'],
    [1e9, '100M<n<1B'],
  ];
  for (const [limit, name] of buckets) if (n < limit) return name;
  return 'n>1B';
}

/** The split a shard belongs to, or 'mixed' when it holds samples of several. */
function shardSplit(counts: Record<string, number>): string {
  const splits = Object.keys(counts).filter((s) => counts[s] > 0);
  return splits.length === 1 ? splits[0] : 'mixed';
}

/** The Hub's `configs`: each split's shards; shards holding several splits under `mixed`. */
export function dataFiles(shards: ReadonlyMap<string, Record<string, number>>): { split: string; path: string[] }[] {
  const bySplit = new Map<string, string[]>();
  for (const [name, counts] of [...shards].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const split = shardSplit(counts);
    bySplit.set(split, [...(bySplit.get(split) ?? []), `shards/${name}`]);
  }
  const order = ['train', 'val', 'test'];
  const rank = (s: string): number => (order.includes(s) ? order.indexOf(s) : s === 'mixed' ? 99 : 50);
  return [...bySplit].sort((a, b) => rank(a[0]) - rank(b[0]) || (a[0] < b[0] ? -1 : 1)).map(([split, path]) => ({ split, path }));
}

/** Type ids in the registry's (the UIR-2.5M table's) order, unknown ones last. */
function typeRank(t: string): number {
  const i = (TYPE_IDS as readonly string[]).indexOf(t);
  return i < 0 ? TYPE_IDS.length : i;
}

function typesInOrder(byType: Record<string, number>): string[] {
  return Object.keys(byType).sort((a, b) => typeRank(a) - typeRank(b) || (a < b ? -1 : 1));
}

function table(head: string[], rows: (string | number)[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function code(lang: string, text: string): string {
  return `\`\`\`${lang}\n${text}\n\`\`\``;
}

export function frontMatter(input: CardInput): Record<string, unknown> {
  const { lock } = input;
  const types = typesInOrder(lock.counts.by_type);
  return {
    pretty_name: lock.name,
    license: lock.license,
    task_categories: ['image-to-image'],
    size_categories: [sizeCategory(lock.counts.samples)],
    tags: ['image-restoration', 'all-in-one-restoration', 'webdataset', 'uirgen', lock.counts.real > 0 ? 'real-and-synthetic' : 'synthetic', ...types.map((t) => `degradation-${t}`)],
    configs: [{ config_name: 'default', data_files: dataFiles(input.shardSplits) }],
  };
}

function typeSection(lock: ReleaseLock, levels: readonly LevelCount[]): string {
  const out: string[] = [];
  for (const t of typesInOrder(lock.counts.by_type)) {
    if (!isTypeId(t)) {
      out.push(`- **${t}**: a type this uirgen does not know.`);
      continue;
    }
    const d = getDegradation(t);
    const used = levels.filter((l) => l.type === t);
    const settings = used
      .map((l) => {
        const def = d.levels.find((x) => x.id === l.level_id);
        return `\`${l.level_id}\` ${def ? `\`${JSON.stringify(def.settings)}\`` : '(not in this uirgen)'}`;
      })
      .join('; ');
    const version = lock.software.types[t];
    out.push(`- **${t}, ${d.name}** (rendering version ${version ?? 'unknown'}): ${d.method}\n  Levels used (settings): ${settings}.`);
  }
  return out.join('\n');
}

export function card(input: CardInput): string {
  const { lock, levels } = input;
  const c = lock.counts;
  const files = dataFiles(input.shardSplits);
  const mixed = files.find((f) => f.split === 'mixed');
  const first = lock.shards[0]?.name ?? 'uir-000000.tar';
  const last = lock.shards[lock.shards.length - 1]?.name ?? first;
  // shards/<prefix>-{first..last}.tar when the names share a prefix and number their shards, else the list.
  const numbered = /^(.*-)(\d+)\.tar$/;
  const [a, b] = [numbered.exec(first), numbered.exec(last)];
  const brace =
    a && b && a[1] === b[1] && a[2].length === b[2].length
      ? `shards/${a[1]}{${a[2]}..${b[2]}}.tar`
      : lock.shards.map((s) => `shards/${s.name}`).join(' ');
  const sw = lock.software;
  const licences =
    input.sourceLicenses.length > 0
      ? input.sourceLicenses.map((l) => `From ${l.from}:\n\n${l.text.trim().split('\n').map((x) => `> ${x}`).join('\n')}`).join('\n\n')
      : 'The publisher of this release has not stated the licences of the source images. Do not redistribute it until they are known.';
  const body = [
    `# ${lock.name}`,
    '',
    `Paired image-restoration data: ${c.samples.toLocaleString('en-US')} (degraded, clean) pairs over ${Object.keys(c.by_type).length} degradation types, ` +
      `in WebDataset tar shards with a SQLite manifest that records how every sample was made. Version ${lock.version}, released ${lock.created.slice(0, 10)} ` +
      `with uirgen ${lock.released_with.uirgen}.`,
    '',
    '## Motivation',
    '',
    'All-in-one restoration models (one network for noise, blur, rain, haze, low light, compression and their mixtures) are trained on ' +
      'paired data like UIR-2.5M, the dataset of the MaskDCPT paper. This release was synthesized with uirgen, which records the exact ' +
      'parameters of every degradation, so anyone can check it byte for byte and make it again from the same source photos.',
    '',
    '## Composition',
    '',
    `- ${c.samples.toLocaleString('en-US')} samples in ${lock.shards.length} shards, from ${c.sources.toLocaleString('en-US')} source images.`,
    `- Synthetic: ${c.synthetic.toLocaleString('en-US')}; real captured pairs (imported): ${c.real.toLocaleString('en-US')}.`,
    `- Each sample: \`<key>.lq.png\` (degraded), \`<key>.gt.png\` (clean), PNG${lock.recipe ? `, ${lock.recipe.crop}x${lock.recipe.crop} crops for synthetic pairs` : ''}; ` +
      '`<key>.json` with type, level, level id, params, seed, source (sha256 and path), crop box and split.',
    `- Inputs skipped while making it (unreadable, too small, duplicates): ${c.errors}, with reasons in the manifest's \`errors\` table.`,
    '',
    '### Splits',
    '',
    table(['split', 'samples'], Object.entries(c.by_split).map(([s, n]) => [s, n])),
    '',
    'A source photo belongs to one split (a hash of its content), so no photo is in two splits. ' +
      (mixed
        ? `Shards hold consecutive samples of several sources, so ${mixed.path.length} of ${lock.shards.length} shards hold more than one split: ` +
          'the card\'s `configs` lists them under `mixed`; take a sample\'s split from its JSON member (`split`) or the manifest.'
        : 'Every shard holds one split, as listed in `configs`.'),
    '',
    '### Samples per type and level',
    '',
    table(
      ['type', 'level', 'level id', 'samples'],
      [...levels].sort((a, b) => typeRank(a.type) - typeRank(b.type) || a.level - b.level).map((l) => [l.type, l.level, `\`${l.level_id}\``, l.samples]),
    ),
    '',
    '### Sources and their licences',
    '',
    licences,
    '',
    '## How it was made',
    '',
    `uirgen ${sw.uirgen}${sw.git_commit ? ` (git commit ${sw.git_commit})` : ''} on Node ${sw.node}, sharp ${sw.sharp} (libvips ${sw.vips}); ` +
      `degradation registry ${sw.registry}. Every synthetic sample's seed is derived from the dataset seed (\`${lock.seed ?? 'none'}\`) and its key; ` +
      'each type draws its params from that seed (`sample`) and applies them deterministically (`apply`); the params are stored with the sample.',
    '',
    ...(lock.recipe ? ['The recipe:', '', code('json', JSON.stringify(lock.recipe, null, 2))] : ['No recipe: every pair was imported with `uirgen import`.']),
    '',
    'Each type, the method it follows, its rendering version and the parameter settings of the levels used:',
    '',
    typeSection(lock, levels),
    '',
    '## How to load it',
    '',
    'Python, with `webdataset`:',
    '',
    code(
      'python',
      [
        'import webdataset as wds',
        `ds = wds.WebDataset("${brace}").decode("rgb").to_tuple("lq.png", "gt.png", "json")`,
        'for lq, gt, meta in ds:',
        '    if meta["split"] != "train":',
        '        continue',
        '    ...',
      ].join('\n'),
    ),
    '',
    'Python, with the standard library only:',
    '',
    code(
      'python',
      [
        'import json, tarfile',
        `with tarfile.open("shards/${first}") as tar:`,
        '    for member in tar:',
        '        data = tar.extractfile(member).read()',
        '        key, suffix = member.name.split(".", 1)   # suffix: gt.png, json, lq.png',
      ].join('\n'),
    ),
    '',
    'With uirgen (streams batches from the shards through the manifest):',
    '',
    code('sh', 'uirgen pretrain --data . --out ckpt --steps 2000'),
    '',
    '## How to verify it',
    '',
    code('sh', [`sha256sum -c ${SUMS_FILE}          # coreutils, no uirgen needed`, 'uirgen verify .                  # also checks every sample against the manifest', 'uirgen verify . --regenerate 100 --sources PHOTOS   # re-render 100 samples and compare bytes'].join('\n')),
    '',
    `\`${SUMS_FILE}\` covers every shard, the manifest, the recipe and \`${RELEASE_LOCK_FILE}\`. \`${CROISSANT_FILE}\` is the MLCommons Croissant description.`,
    '',
    '## How to rebuild it',
    '',
    `\`${RELEASE_LOCK_FILE}\` pins the software, the recipe, the seed and every source file by sha256. With the same source photos:`,
    '',
    code('sh', `uirgen synthesize --from-release ${RELEASE_LOCK_FILE} --sources PHOTOS --out rebuilt`),
    '',
    `gives byte-identical shards and manifest rows; uirgen refuses when a source file differs or when its sharp/libvips or a type's rendering version differs from the lock's (install sharp ${sw.sharp} and uirgen ${sw.uirgen}).`,
    '',
    '## Maintenance',
    '',
    `Release ${lock.version} of ${lock.name}, made ${lock.created}. A new release gets a new version; the shards of a version never change, ` +
      'so a checksum mismatch always means damage or tampering. Report problems to the publisher of this release.',
    '',
  ].join('\n');
  return `---\n${stringify(frontMatter(input))}---\n\n${body}`;
}
