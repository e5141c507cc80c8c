/**
 * What verify found wrong, item by item: a code to test and filter on, the file (relative to the dataset
 * folder), the sample when one is concerned, and a sentence saying what differs. The list is capped so a
 * dataset that is wrong everywhere costs bounded memory; the count is always exact.
 */

export type ProblemCode =
  | 'not-a-dataset'
  | 'manifest-unreadable'
  | 'manifest-inconsistent'
  | 'checksum-mismatch'
  | 'size-mismatch'
  | 'file-missing'
  | 'file-extra'
  | 'file-unreadable'
  | 'incomplete'
  | 'tar-structure'
  | 'unsafe-member'
  | 'member-missing'
  | 'member-extra'
  | 'member-order'
  | 'member-offset'
  | 'member-hash'
  | 'png-header'
  | 'row-invalid'
  | 'row-mismatch'
  | 'rows-changed'
  | 'recipe-changed'
  | 'lock-invalid'
  | 'lock-mismatch'
  | 'sums-invalid'
  | 'sums-incomplete'
  | 'regenerate-mismatch'
  | 'regenerate-failed';

export interface Problem {
  code: ProblemCode;
  file: string;
  sample?: string;
  message: string;
}

export const DEFAULT_MAX_PROBLEMS = 1000;

export class ProblemList {
  readonly items: Problem[] = [];
  count = 0;

  constructor(private readonly max = DEFAULT_MAX_PROBLEMS) {}

  add(code: ProblemCode, file: string, message: string, sample?: string): void {
    this.count++;
    if (this.items.length < this.max) this.items.push({ code, file, message, ...(sample !== undefined ? { sample } : {}) });
  }

  has(code: ProblemCode): boolean {
    return this.items.some((p) => p.code === code);
  }
}
