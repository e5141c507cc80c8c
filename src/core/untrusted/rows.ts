import { absurdImageSize } from './png.js';
import { TAR_BLOCK } from './tar.js';

/**
 * Checks of an index row that points into a shard (a manifest's samples row), before anything is read
 * through it: offsets must be where a member's data can start in a file of that size, the size must be one
 * a reader may allocate for, and the shard must be a plain file name (no path, no way out of shards/).
 */

const SHARD_FILE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$/;

/** Why `name` cannot be a shard's file name under shards/, or null when it can. */
export function unsafeShardName(name: unknown): string | null {
  if (typeof name !== 'string' || !SHARD_FILE.test(name) || name.includes('..')) {
    return `shard name ${JSON.stringify(name)} is not a plain file name (letters, digits, _ - . ; no path)`;
  }
  return null;
}

/** Why a member data offset cannot be right in a shard of `shardBytes` bytes (when known), or null. */
export function badMemberOffset(offset: unknown, shardBytes?: number): string | null {
  if (!Number.isSafeInteger(offset) || (offset as number) < TAR_BLOCK || (offset as number) % TAR_BLOCK !== 0) {
    return `offset ${String(offset)} is not where a member's data can start (a multiple of ${TAR_BLOCK}, at least ${TAR_BLOCK})`;
  }
  // Data at `offset` plus the two end-of-archive blocks must fit.
  if (shardBytes !== undefined && (offset as number) + 2 * TAR_BLOCK > shardBytes) {
    return `offset ${String(offset)} is past the end of the ${shardBytes}-byte shard`;
  }
  return null;
}

export interface LocatedRow {
  key: string;
  shard: string;
  offset_gt: unknown;
  offset_lq: unknown;
  width: unknown;
  height: unknown;
}

/** Every reason the row cannot be followed into its shard (empty when it can). */
export function rowProblems(row: LocatedRow, shardBytes?: number): string[] {
  const out: string[] = [];
  const shard = unsafeShardName(row.shard);
  if (shard) out.push(shard);
  const gt = badMemberOffset(row.offset_gt, shardBytes);
  if (gt) out.push(`offset_gt: ${gt}`);
  const lq = badMemberOffset(row.offset_lq, shardBytes);
  if (lq) out.push(`offset_lq: ${lq}`);
  const size = absurdImageSize(row.width, row.height);
  if (size) out.push(`width x height ${size}`);
  return out;
}
