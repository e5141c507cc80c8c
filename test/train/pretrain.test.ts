import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { appendFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSettings, pretrain, readLog, type LogRecord, type RunSettings } from '../../src/train/pretrain.js';
import { syntheticSource } from './models/synthetic.js';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'uirgen-pretrain-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const settings = (over: Partial<RunSettings> = {}): RunSettings =>
  defaultSettings({
    steps: 6,
    batch: 2,
    patch: 8,
    seed: 'resume',
    lr: 5e-3,
    warmup: 2,
    net: { width: 4, encBlocks: [1, 1], middleBlocks: 1, decBlocks: [1, 1], maskWindow: 4, clsBlocks: 1, clsExpand: 1 },
    ...over,
  });

const openSource = async (s: RunSettings, position: unknown) =>
  syntheticSource('data', s.batch, s.patch, (position as { index: number } | null)?.index ?? 0);

const losses = (records: LogRecord[]) => records.map(({ images_per_s: _ips, ...rest }) => rest);

async function weightsOf(out: string): Promise<Buffer> {
  const files = (await readdir(out)).filter((f) => f.endsWith('.bin'));
  expect(files).toHaveLength(1);
  return readFile(join(out, files[0]));
}

describe('pretrain', () => {
  it('6 steps straight equal 3 steps, an interruption and --resume for the other 3', async () => {
    const straight = join(dir, 'straight');
    const a = await pretrain({ out: straight, settings: settings(), openSource, progress: 'none', checkpointEvery: 3 });
    expect(a.steps).toBe(6);
    expect(a.interrupted).toBe(false);

    const split = join(dir, 'split');
    const abort = new AbortController();
    const first = await pretrain({
      out: split,
      settings: settings(),
      openSource,
      progress: 'none',
      checkpointEvery: 100,
      signal: abort.signal,
      onRecord: (r) => {
        if (r.step === 3) abort.abort();
      },
    });
    expect(first.steps).toBe(3);
    expect(first.interrupted).toBe(true);
    // A killed run may have logged steps past its checkpoint; resuming must drop them.
    await appendFile(join(split, 'log.jsonl'), '{"step":4,"loss":9,"loss_rec":9,"loss_cls":9,"acc":0,"lr":0,"images_per_s":1}\n{"step":5,"lo');
    // Settings passed on resume are ignored: the checkpoint's are used.
    const second = await pretrain({ out: split, settings: settings({ steps: 99, seed: 'other' }), resume: true, openSource, progress: 'none' });
    expect(second.startedAt).toBe(3);
    expect(second.steps).toBe(6);
    expect(second.settings.steps).toBe(6);

    const la = await readLog(join(straight, 'log.jsonl'));
    const lb = await readLog(join(split, 'log.jsonl'));
    expect(la.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(losses(lb)).toEqual(losses(la));
    expect(await weightsOf(split)).toEqual(await weightsOf(straight));
    const svg = await readFile(join(split, 'loss.svg'), 'utf8');
    expect(svg).toContain('<polyline');
  });

  it('logs every N steps with the fields the issue names', async () => {
    const out = join(dir, 'every');
    const r = await pretrain({ out, settings: settings({ steps: 5, method: 'dcpt' }), openSource, progress: 'none', logEvery: 2 });
    const log = await readLog(join(out, 'log.jsonl'));
    expect(log.map((x) => x.step)).toEqual([2, 4, 5]);
    for (const rec of log) {
      expect(Object.keys(rec).sort()).toEqual(['acc', 'images_per_s', 'loss', 'loss_cls', 'loss_rec', 'lr'].concat('step').sort());
      expect(rec.loss_rec).toBe(0); // dcpt has no reconstruction
      expect(rec.images_per_s).toBeGreaterThan(0);
    }
    expect(r.last?.step).toBe(5);
  });

  it('refuses to overwrite a checkpoint and to resume without one', async () => {
    const out = join(dir, 'every');
    await expect(pretrain({ out, settings: settings(), openSource, progress: 'none' })).rejects.toThrow(/already holds a checkpoint/);
    await expect(pretrain({ out: join(dir, 'nothing'), settings: settings(), resume: true, openSource, progress: 'none' })).rejects.toThrow(/no checkpoint/);
    await expect(
      pretrain({ out: join(dir, 'odd'), settings: settings({ patch: 6 }), openSource, progress: 'none' }),
    ).rejects.toThrow(/patch must be a multiple of 4/);
  });

  it('prints plain progress lines when not on a terminal', async () => {
    const chunks: string[] = [];
    const stream = { write: (s: string) => chunks.push(s), isTTY: false } as unknown as NodeJS.WriteStream;
    await pretrain({ out: join(dir, 'lines'), settings: settings({ steps: 2 }), openSource, stream });
    expect(chunks.join('')).toMatch(/^pretrain 1\/2 rec \d\.\d{4} cls \d\.\d{4} acc \d\.\d{3} lr [\d.e+-]+ [\d.]+ img\/s eta/m);
    expect(chunks.join('')).toMatch(/^pretrain 2\/2 /m);
  });
});
