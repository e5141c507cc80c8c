#!/usr/bin/env node
// Same-machine comparison for the trainer's speed target: `uirgen bench-train --net reference` on the given
// backends and the same net in PyTorch (scripts/bench-train-torch.py, when a python3 with torch is found),
// run in alternation for several rounds so that a noisy neighbour slows every contender alike. Prints each
// round's medians, then per contender the median and the best of the round medians.
// Usage: node scripts/bench-train-compare.mjs [--rounds 5] [--steps 30] [--backends native,wasm] [--python PY] [--threads N]
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    steps: { type: 'string', default: '30' },
    backends: { type: 'string', default: 'native,wasm' },
    python: { type: 'string' },
    threads: { type: 'string', default: '' },
  },
});
const rounds = Number(values.rounds);
const steps = values.steps;

function runJson(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').pop() };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const contenders = values.backends
  .split(',')
  .filter(Boolean)
  .map((b) => ({ label: `uirgen ${b}`, run: () => runJson(process.execPath, [join(root, 'dist/cli/main.js'), 'bench-train', '--net', 'reference', '--backend', b, '--steps', steps, '--json']) }));
// The first Python that imports torch: --python, $PYTHON, python3 on PATH, then the system one (Debian's
// python3-torch lives there when a pyenv python3 comes first on PATH).
const pythons = [values.python, process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean);
let python;
let version = '';
for (const candidate of pythons) {
  const probe = spawnSync(candidate, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.status === 0) {
    [python, version] = [candidate, probe.stdout.trim()];
    break;
  }
}
if (python) {
  const threadArgs = values.threads ? ['--threads', values.threads] : [];
  contenders.push({
    label: `pytorch ${version}`,
    run: () => runJson(python, [join(root, 'scripts/bench-train-torch.py'), '--steps', steps, ...threadArgs]),
  });
} else {
  console.log(`(no PyTorch: none of ${pythons.join(', ')} imports torch; Debian: apt-get install python3-torch)`);
}

const results = new Map(contenders.map((c) => [c.label, []]));
for (let round = 1; round <= rounds; round++) {
  const line = [];
  for (const c of contenders) {
    const r = c.run();
    if (r.error) {
      line.push(`${c.label}: failed (${r.error})`);
      continue;
    }
    results.get(c.label).push(r.ms_per_step);
    line.push(`${c.label} ${r.ms_per_step.toFixed(2)} ms`);
  }
  console.log(`round ${round}: ${line.join(' | ')}`);
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
console.log('\nreference net, batch 16, 64x64, ms per training step (median of each run\'s steps):');
for (const [label, ms] of results) {
  if (ms.length === 0) continue;
  console.log(`${label.padEnd(22)} median of rounds ${median(ms).toFixed(2).padStart(8)} ms   best round ${Math.min(...ms).toFixed(2).padStart(8)} ms   (${ms.length} rounds)`);
}
