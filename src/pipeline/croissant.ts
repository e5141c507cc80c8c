import type { LockShard } from './lock.js';

/**
 * `croissant.json`: MLCommons Croissant 1.0 metadata (JSON-LD over schema.org), the description dataset
 * hubs read. The distribution lists every shard as a FileObject with its sha256 and three FileSets for
 * the members inside them (lq and gt PNGs, the per-sample JSON); the `samples` record set joins them by
 * key, with the type, level and split taken from the JSON member, and `splits` enumerates the splits.
 * Spec: http://mlcommons.org/croissant/1.0 (docs.mlcommons.org/croissant/docs/croissant-spec.html).
 */

export const CROISSANT_FILE = 'croissant.json';
export const CROISSANT_CONFORMS_TO = 'http://mlcommons.org/croissant/1.0';

/** The context every Croissant 1.0 document carries (the spec's, term for term). */
export const CROISSANT_CONTEXT = {
  '@language': 'en',
  '@vocab': 'https://schema.org/',
  citeAs: 'cr:citeAs',
  column: 'cr:column',
  conformsTo: 'dct:conformsTo',
  cr: 'http://mlcommons.org/croissant/',
  rai: 'http://mlcommons.org/croissant/RAI/',
  data: { '@id': 'cr:data', '@type': '@json' },
  dataType: { '@id': 'cr:dataType', '@type': '@vocab' },
  dct: 'http://purl.org/dc/terms/',
  examples: { '@id': 'cr:examples', '@type': '@json' },
  extract: 'cr:extract',
  field: 'cr:field',
  fileProperty: 'cr:fileProperty',
  fileObject: 'cr:fileObject',
  fileSet: 'cr:fileSet',
  format: 'cr:format',
  includes: 'cr:includes',
  isLiveDataset: 'cr:isLiveDataset',
  jsonPath: 'cr:jsonPath',
  key: 'cr:key',
  md5: 'cr:md5',
  parentField: 'cr:parentField',
  path: 'cr:path',
  recordSet: 'cr:recordSet',
  references: 'cr:references',
  regex: 'cr:regex',
  repeated: 'cr:repeated',
  replace: 'cr:replace',
  sc: 'https://schema.org/',
  separator: 'cr:separator',
  source: 'cr:source',
  subField: 'cr:subField',
  transform: 'cr:transform',
} as const;

export interface CroissantInput {
  name: string;
  description: string;
  version: string;
  license: string;
  datePublished: string;
  keywords: string[];
  shards: readonly LockShard[];
  splits: readonly string[];
  manifest: { sha256: string; bytes: number };
}

type Node = Record<string, unknown>;

function jsonField(id: string, name: string, description: string, dataType: string, jsonPath: string): Node {
  return {
    '@type': 'cr:Field',
    '@id': `samples/${id}`,
    name,
    description,
    dataType,
    source: { fileSet: { '@id': 'sample-json' }, extract: { jsonPath } },
  };
}

export function croissant(input: CroissantInput): Node {
  const shardRefs = input.shards.map((s) => ({ '@id': `shards/${s.name}` }));
  const memberSet = (id: string, description: string, format: string, includes: string): Node => ({
    '@type': 'cr:FileSet',
    '@id': id,
    name: id,
    description,
    containedIn: shardRefs,
    encodingFormat: format,
    includes,
  });
  return {
    '@context': CROISSANT_CONTEXT,
    '@type': 'sc:Dataset',
    name: input.name,
    description: input.description,
    conformsTo: CROISSANT_CONFORMS_TO,
    license: input.license,
    version: input.version,
    datePublished: input.datePublished,
    keywords: input.keywords,
    distribution: [
      ...input.shards.map((s) => ({
        '@type': 'cr:FileObject',
        '@id': `shards/${s.name}`,
        name: s.name,
        description: `WebDataset shard: ${s.samples} samples`,
        contentUrl: `shards/${s.name}`,
        contentSize: `${s.bytes} B`,
        encodingFormat: 'application/x-tar',
        sha256: s.sha256,
      })),
      {
        '@type': 'cr:FileObject',
        '@id': 'manifest.sqlite',
        name: 'manifest.sqlite',
        description: 'SQLite index: every sample with its params, seed, source, crop, split, hashes and member offsets',
        contentUrl: 'manifest.sqlite',
        contentSize: `${input.manifest.bytes} B`,
        encodingFormat: 'application/vnd.sqlite3',
        sha256: input.manifest.sha256,
      },
      memberSet('lq-images', 'Degraded images (<key>.lq.png), 8-bit RGB PNG', 'image/png', '*.lq.png'),
      memberSet('gt-images', 'Clean images (<key>.gt.png), 8-bit RGB PNG', 'image/png', '*.gt.png'),
      memberSet('sample-json', 'Per-sample JSON (<key>.json): type, level, params, seed, source, crop, split', 'application/json', '*.json'),
    ],
    recordSet: [
      {
        '@type': 'cr:RecordSet',
        '@id': 'splits',
        name: 'splits',
        description: 'The splits; a sample\'s split is in its JSON member',
        dataType: 'cr:Split',
        key: { '@id': 'splits/name' },
        field: [{ '@type': 'cr:Field', '@id': 'splits/name', name: 'name', dataType: 'sc:Text' }],
        data: input.splits.map((s) => ({ 'splits/name': s })),
      },
      {
        '@type': 'cr:RecordSet',
        '@id': 'samples',
        name: 'samples',
        description: 'One (lq, gt) pair with what made it; the three members of a sample share its key',
        key: { '@id': 'samples/key' },
        field: [
          jsonField('key', 'key', 'Sample key (the members\' file name before the first dot)', 'sc:Text', '$.key'),
          {
            '@type': 'cr:Field',
            '@id': 'samples/lq',
            name: 'lq',
            description: 'The degraded image',
            dataType: 'sc:ImageObject',
            source: { fileSet: { '@id': 'lq-images' }, extract: { fileProperty: 'content' } },
          },
          {
            '@type': 'cr:Field',
            '@id': 'samples/gt',
            name: 'gt',
            description: 'The clean image',
            dataType: 'sc:ImageObject',
            source: { fileSet: { '@id': 'gt-images' }, extract: { fileProperty: 'content' } },
          },
          {
            '@type': 'cr:Field',
            '@id': 'samples/json',
            name: 'json',
            description: 'The whole JSON member',
            dataType: 'sc:Text',
            source: { fileSet: { '@id': 'sample-json' }, extract: { fileProperty: 'content' } },
          },
          jsonField('type', 'type', 'Degradation type id (GN, RN, MB, ...)', 'sc:Text', '$.type'),
          jsonField('level', 'level', 'Level index within the type (0 mildest)', 'sc:Integer', '$.level'),
          jsonField('level_id', 'level_id', 'Stable level id, variant:value', 'sc:Text', '$.level_id'),
          { ...jsonField('split', 'split', 'train, val or test', 'sc:Text', '$.split'), references: { field: { '@id': 'splits/name' } } },
        ],
      },
    ],
  };
}
