import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLES_DIR } from '../support/samples.js';

/**
 * Kill -9 at several points, rerun the same command, and end with exactly the uninterrupted run's
 * dataset. The command runs as a child process, as a user (or a scheduler that preempts jobs) runs it.
 * UIRGEN_CLI may point at the built CLI (dist/cli/main.js); by default the TypeScript sources run via tsx.
 */

const CLI = process.env.UIRGEN_CLI ?? 'src/cli/main.ts';
const ARGS = ['--samples', '96', '--crop', '64', '--types', 'GN,GB,J', '--shard-samples', '8', '--seed', 'resume', '--workers', '2', '--json'];
const SHARDS = 12;

function start(out: string): ChildProcess {
  const loader = CLI.endsWith('.ts') ? ['--import', 'tsx'] : [];
  return spawn(process.execPath, [...loader, CLI, 'synthesize', '--sources', SAMPLES_DIR, '--out', out, ...ARGS], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function ended(child: ChildProcess): Promise<Ended> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

async function runToEnd(out: string): Promise<Ended> {
  const r = await ended(start(out));
  if (r.code !== 0) throw new Error(`synthesize exited ${r.code}: ${r.stderr}`);
  return r;
}

function shardNames(out: string): string[] {
  const dir = join(out, 'shards');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** Start the command and SIGKILL it as soon as `when` holds (polled every 10 ms). */
async function killWhen(out: string, when: (names: string[]) => boolean): Promise<Ended> {
  const child = start(out);
  const done = ended(child);
  let finished = false;
  void done.then(() => (finished = true));
  while (!finished) {
    if (when(shardNames(out))) {
      child.kill('SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return done;
}

const made: string[] = [];
function tmp(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `uirgen-resume-${name}-`));
  made.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

const complete = (names: string[]): number => names.filter((n) => n.endsWith('.tar')).length;

function snapshot(out: string): { shards: Record<string, string>; rows: unknown[]; shardRows: unknown[] } {
  const shards = Object.fromEntries(
    shardNames(out).map((n) => [n, createHash('sha256').update(readFileSync(join(out, 'shards', n))).digest('hex')]),
  );
  const db = new Database(join(out, 'manifest.sqlite'), { readonly: true });
  try {
    return {
      shards,
      rows: db.prepare('SELECT * FROM samples ORDER BY key').all(),
      shardRows: db.prepare('SELECT * FROM shards ORDER BY name').all(),
    };
  } finally {
    db.close();
  }
}

describe('resume after SIGKILL', () => {
  let reference: ReturnType<typeof snapshot>;

  beforeAll(async () => {
    const out = tmp('ref');
    const r = await runToEnd(out);
    expect(JSON.parse(r.stdout)).toMatchObject({ samples: 96, shards: SHARDS, made: 96 });
    reference = snapshot(out);
    expect(Object.keys(reference.shards)).toHaveLength(SHARDS);
  });

  it('killed after the first shard, again mid-way, and again mid-shard: the final dataset equals the uninterrupted one', async () => {
    const out = tmp('kills');
    const kills: number[] = [];
    const first = await killWhen(out, (n) => complete(n) >= 1);
    expect(first.signal).toBe('SIGKILL');
    kills.push(complete(shardNames(out)));
    const second = await killWhen(out, (n) => complete(n) >= SHARDS / 2);
    expect(second.signal).toBe('SIGKILL');
    kills.push(complete(shardNames(out)));
    // Third: while a shard is being written under its temporary name, past the middle.
    const third = await killWhen(out, (n) => complete(n) > SHARDS / 2 && n.some((x) => x.endsWith('.partial')));
    kills.push(complete(shardNames(out)));
    if (third.signal === 'SIGKILL') expect(shardNames(out).some((x) => x.endsWith('.partial'))).toBe(true);
    // Never a half-written file under a final name: every .tar present is a committed, complete shard.
    const db = new Database(join(out, 'manifest.sqlite'), { readonly: true });
    const committed = new Map((db.prepare('SELECT name, sha256 FROM shards').all() as { name: string; sha256: string }[]).map((r) => [r.name, r.sha256]));
    db.close();
    for (const n of shardNames(out).filter((x) => x.endsWith('.tar'))) {
      expect(reference.shards[n]).toBeDefined();
      const sha = createHash('sha256').update(readFileSync(join(out, 'shards', n))).digest('hex');
      expect(sha).toBe(reference.shards[n]);
      if (committed.has(n)) expect(committed.get(n)).toBe(sha);
    }
    expect(kills[0]).toBeLessThan(SHARDS);
    const last = await runToEnd(out);
    const summary = JSON.parse(last.stdout) as { samples: number; resumed_shards: number; made: number };
    expect(summary.samples).toBe(96);
    expect(summary.made).toBe(96 - summary.resumed_shards * 8);
    const final = snapshot(out);
    expect(final.shards).toEqual(reference.shards);
    expect(final.rows).toEqual(reference.rows);
    expect(final.shardRows).toEqual(reference.shardRows);
  });

  it('killed right at the start (before any shard): the rerun makes everything', async () => {
    const out = tmp('early');
    const early = await killWhen(out, () => existsSync(join(out, 'manifest.sqlite')));
    expect(early.signal).toBe('SIGKILL');
    await runToEnd(out);
    const final = snapshot(out);
    expect(final.shards).toEqual(reference.shards);
    expect(final.rows).toEqual(reference.rows);
  });
});
