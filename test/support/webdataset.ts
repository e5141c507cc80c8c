import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tar from 'tar';

/** One tar member as node-tar (a reader that is not our writer's library) sees it. */
export interface TarMember {
  name: string;
  data: Buffer;
  mtime: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mode: number;
}

/** Every member of a tar, in file order, read with node-tar. */
export async function readTarMembers(file: string): Promise<TarMember[]> {
  const members: TarMember[] = [];
  await tar.t({
    file,
    onReadEntry: (entry) => {
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () =>
        members.push({
          name: entry.path,
          data: Buffer.concat(chunks),
          mtime: entry.mtime ? entry.mtime.getTime() : -1,
          uid: entry.uid ?? -1,
          gid: entry.gid ?? -1,
          uname: entry.uname ?? '',
          gname: entry.gname ?? '',
          mode: entry.mode ?? -1,
        }),
      );
    },
  });
  return members;
}

export interface WebDatasetSample {
  key: string;
  /** suffix ('gt.png', 'json', ...) -> member data */
  parts: Record<string, Buffer>;
  /** suffixes in member order */
  suffixes: string[];
}

/**
 * Group members the way Python's webdataset does: the key is the name up to the first dot after the
 * last slash, the suffix the rest, and consecutive members with one key form a sample.
 */
export function groupLikeWebDataset(members: readonly { name: string; data?: Buffer }[]): WebDatasetSample[] {
  const samples: WebDatasetSample[] = [];
  for (const m of members) {
    const slash = m.name.lastIndexOf('/');
    const dot = m.name.indexOf('.', slash + 1);
    const key = dot < 0 ? m.name : m.name.slice(0, dot);
    const suffix = dot < 0 ? '' : m.name.slice(dot + 1);
    const last = samples[samples.length - 1];
    const sample = last && last.key === key ? last : { key, parts: {}, suffixes: [] };
    if (sample !== last) samples.push(sample);
    sample.suffixes.push(suffix);
    if (m.data) sample.parts[suffix] = m.data;
  }
  return samples;
}

/** Shard file names of a dataset, sorted. */
export function shardFiles(ds: string): string[] {
  return readdirSync(join(ds, 'shards')).sort();
}

/** shard file name -> sha256 of its bytes: what "byte-identical datasets" compares. */
export function shardBytes(ds: string): Record<string, string> {
  return Object.fromEntries(shardFiles(ds).map((f) => [f, createHash('sha256').update(readFileSync(join(ds, 'shards', f))).digest('hex')]));
}
