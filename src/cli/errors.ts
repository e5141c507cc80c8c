import { ImageInputError } from '../core/io.js';

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure the user can act on (bad input file, unwritable output): exit code 1, no stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Print an error the way every command does and give the exit code it maps to. */
export function reportError(err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`uirgen: ${err.message}\n(see --help)\n`);
    return EXIT_USAGE;
  }
  if (err instanceof UserError || err instanceof ImageInputError) {
    process.stderr.write(`uirgen: ${err.message}\n`);
    return EXIT_FAILURE;
  }
  const message = err instanceof Error ? (process.env.UIRGEN_DEBUG ? err.stack ?? err.message : err.message) : String(err);
  process.stderr.write(`uirgen: ${message}\n`);
  return EXIT_FAILURE;
}

/** Wrap a commander action so thrown errors become a message and an exit code, never a stack dump. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      process.exitCode = reportError(err);
    }
  };
}

/** Parse an integer option with a message that names it and its range. */
export function parseIntOption(name: string, value: string, min = -Infinity, max = Infinity): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = Number.isFinite(max) ? `${min}..${max}` : `>= ${min}`;
    throw new UsageError(`${name} must be an integer ${Number.isFinite(min) ? range : ''}, got "${value}"`.replace(' ,', ','));
  }
  return n;
}

/** Parse a number option in [lo, hi] (or (lo, hi] with loOpen) with a message that names it and its range. */
export function parseNumberOption(name: string, value: string, lo: number, hi: number, loOpen = false): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (loOpen ? n <= lo : n < lo) || n > hi) {
    throw new UsageError(`${name} must be a number in ${loOpen ? '(' : '['}${lo}, ${hi}], got "${value}"`);
  }
  return n;
}
