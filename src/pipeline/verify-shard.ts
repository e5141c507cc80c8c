import { pngProblem } from '../core/untrusted/png.js';
import { rowProblems } from '../core/untrusted/rows.js';
import { TAR_BLOCK, type ScanResult, type ScannedMember, type TarProblem } from '../core/untrusted/tar.js';
import type { SampleRow } from './manifest.js';
import type { ProblemList } from './problems.js';

/**
 * One shard against its manifest rows: every row's three members present, consecutive, in order
 * (gt.png, json, lq.png), at the row's offsets, with the row's hashes, PNG headers of the row's size, and a
 * JSON member that says what the row says; no member that no row names. Each finding names the shard,
 * the sample and what differs. Pure: the scan result and the rows in, problems out.
 */

/** A samples row as verify reads it (columns as SQLite returns them: params as text, real as 0/1). */
export interface VerifyRow extends Omit<SampleRow, 'params' | 'real' | 'psnr'> {
  params: string;
  real: number;
}

export const MEMBER_SUFFIXES = ['gt.png', 'json', 'lq.png'] as const;

/** WebDataset's split of a member name: key up to the first dot after the last slash, suffix after. */
export function splitMemberName(name: string): { key: string; suffix: string } {
  const slash = name.lastIndexOf('/');
  const dot = name.indexOf('.', slash + 1);
  return dot < 0 ? { key: name, suffix: '' } : { key: name.slice(0, dot), suffix: name.slice(dot + 1) };
}

interface Group {
  key: string;
  members: ScannedMember[];
}

function groups(members: readonly ScannedMember[]): Group[] {
  const out: Group[] = [];
  for (const m of members) {
    const { key } = splitMemberName(m.name);
    const last = out[out.length - 1];
    if (last && last.key === key) last.members.push(m);
    else out.push({ key, members: [m] });
  }
  return out;
}

/** Which sample a byte position falls in, by the rows' offsets (a sample spans from its gt header to the next's). */
function sampleAt(rowsByOffset: readonly VerifyRow[], position: number): string | undefined {
  let lo = 0;
  let hi = rowsByOffset.length - 1;
  let found: VerifyRow | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (rowsByOffset[mid].offset_gt - TAR_BLOCK <= position) {
      found = rowsByOffset[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found?.key;
}

function tarProblem(p: TarProblem, file: string, rows: readonly VerifyRow[], out: ProblemList): void {
  const code = p.code === 'unsafe-name' || p.code === 'link-member' || p.code === 'not-a-file' ? 'unsafe-member' : 'tar-structure';
  const sample = p.member ? splitMemberName(p.member).key : sampleAt(rows, p.position);
  out.add(code, file, p.message, sample);
}

function text(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

/** The JSON member's claims against the row's (only what the member records). */
function compareJson(row: VerifyRow, body: Uint8Array | null, sourceSha: string | undefined, file: string, out: ProblemList): void {
  const name = `${row.key}.json`;
  if (!body) {
    out.add('row-mismatch', file, `sample ${row.key}: ${name} is larger than 64 KiB, which uirgen never writes; not read`, row.key);
    return;
  }
  let member: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    member = parsed as Record<string, unknown>;
  } catch (err) {
    out.add('row-mismatch', file, `sample ${row.key}: ${name} is not a JSON object (${(err as Error).message})`, row.key);
    return;
  }
  const crop = (member.crop ?? {}) as Record<string, unknown>;
  let rowParams: unknown;
  try {
    rowParams = JSON.parse(row.params);
  } catch {
    rowParams = row.params;
  }
  const source = (member.source ?? {}) as Record<string, unknown>;
  const pairs: [string, unknown, unknown][] = [
    ['key', member.key, row.key],
    ['type', member.type, row.type],
    ['level', member.level, row.level],
    ['level_id', member.level_id, row.level_id],
    ['params', member.params, rowParams],
    ['seed', member.seed, row.seed],
    ['crop x', crop.x, row.crop_x],
    ['crop y', crop.y, row.crop_y],
    ['crop width', crop.w, row.width],
    ['crop height', crop.h, row.height],
    ['split', member.split, row.split],
  ];
  if ('type_version' in member) pairs.push(['type_version', member.type_version, row.type_version]);
  if ('real' in member) pairs.push(['real', member.real === true ? 1 : member.real === false ? 0 : member.real, row.real]);
  if (sourceSha !== undefined) pairs.push(['source sha256', source.sha256, sourceSha]);
  for (const [what, inMember, inRow] of pairs) {
    if (text(inMember) !== text(inRow)) {
      out.add(
        'row-mismatch',
        file,
        `sample ${row.key}: the manifest row says ${what} ${text(inRow).slice(0, 200)}, its JSON member says ${text(inMember).slice(0, 200)}`,
        row.key,
      );
    }
  }
}

export interface ShardContext {
  /** shards/<name>, for reports. */
  file: string;
  /** source_id -> sha256 (sources table). */
  sourceSha: ReadonlyMap<string, string>;
  /**
   * The shard's recorded size: rows are checked against it, so the rows of a truncated shard are reported
   * as missing from it, not as invalid. Default: the size found.
   */
  recordedBytes?: number;
}

/** Compare one scanned shard with its rows (any order); adds problems to `out`. */
export function checkShard(scan: ScanResult, rows: readonly VerifyRow[], ctx: ShardContext, out: ProblemList): void {
  const { file } = ctx;
  const byOffset = [...rows].sort((a, b) => a.offset_gt - b.offset_gt);
  for (const p of scan.problems) tarProblem(p, file, byOffset, out);

  const rowByKey = new Map<string, VerifyRow>();
  for (const row of rows) {
    const bad = rowProblems(row, ctx.recordedBytes ?? scan.bytes);
    for (const b of bad) out.add('row-invalid', file, `sample ${row.key}: manifest row ${b}`, row.key);
    rowByKey.set(row.key, row);
  }
  const seen = new Set<string>();
  for (const g of groups(scan.members)) {
    const row = rowByKey.get(g.key);
    const names = g.members.map((m) => splitMemberName(m.name).suffix);
    if (!row) {
      out.add('member-extra', file, `members ${g.members.map((m) => m.name).join(', ')} at byte ${g.members[0].header} are in no manifest row`, g.key);
      continue;
    }
    if (seen.has(g.key)) {
      out.add('member-order', file, `sample ${g.key}: its members are not consecutive (more of them at byte ${g.members[0].header})`, g.key);
      continue;
    }
    seen.add(g.key);
    if (names.join(',') !== MEMBER_SUFFIXES.join(',')) {
      out.add('member-order', file, `sample ${g.key}: members ${names.join(', ')}; expected ${MEMBER_SUFFIXES.join(', ')}, in that order`, g.key);
    }
    const bySuffix = new Map(g.members.map((m) => [splitMemberName(m.name).suffix, m]));
    const gt = bySuffix.get('gt.png');
    const lq = bySuffix.get('lq.png');
    const json = bySuffix.get('json');
    for (const [suffix, member, offset, sha] of [
      ['gt.png', gt, row.offset_gt, row.gt_sha256],
      ['lq.png', lq, row.offset_lq, row.lq_sha256],
    ] as const) {
      if (!member) {
        out.add('member-missing', file, `sample ${g.key}: no ${g.key}.${suffix} in the shard`, g.key);
        continue;
      }
      if (member.offset !== offset) {
        out.add('member-offset', file, `sample ${g.key}: ${suffix} data is at byte ${member.offset}, the manifest says ${offset}`, g.key);
      }
      if (member.sha256 && member.sha256 !== sha) {
        out.add('member-hash', file, `sample ${g.key}: ${suffix} bytes differ from the manifest (sha256 ${member.sha256}, recorded ${sha})`, g.key);
      }
      if (member.type === '0') {
        const png = pngProblem(member.head, { width: row.width, height: row.height });
        if (png) out.add('png-header', file, `sample ${g.key}: ${suffix} ${png}`, g.key);
      }
    }
    if (!json) out.add('member-missing', file, `sample ${g.key}: no ${g.key}.json in the shard`, g.key);
    else if (json.type === '0') compareJson(row, json.body, row.source_id === null ? undefined : ctx.sourceSha.get(row.source_id), file, out);
  }
  for (const row of byOffset) {
    if (!seen.has(row.key)) {
      const where = row.offset_gt >= scan.bytes ? `, which ends at byte ${scan.bytes}` : '';
      out.add('member-missing', file, `sample ${row.key}: in the manifest (offset ${row.offset_gt}) but not in the shard${where}`, row.key);
    }
  }
}
