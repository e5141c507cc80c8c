import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
const { initBackend } = await import('./dist/train/backend.js');
const { randomBatch } = await import('./dist/train/bench.js');
const { createReferenceNet } = await import('./dist/train/nets/reference.js');
await initBackend(process.argv[2] ?? 'native');
const mainCpu = () => Number(/se.sum_exec_runtime\s*:\s*([\d.]+)/.exec(readFileSync(`/proc/self/task/${process.pid}/sched`, 'utf8'))[1]);
const net = createReferenceNet({ seed: 0 });
const data = randomBatch(16, 64, 19, 0);
const opt = tf.train.adam(1e-3);
let tg = 0, ta = 0, cg = 0, ca = 0, n = 0;
for (let i = 0; i < 40; i++) {
  const c0 = mainCpu(); const t0 = performance.now();
  const { value, grads } = tf.variableGrads(() => net.loss(data.x, data.labels), net.variables);
  await value.data();
  const c1 = mainCpu(); const t1 = performance.now();
  opt.applyGradients(grads);
  await net.variables[0].data();
  const c2 = mainCpu(); const t2 = performance.now();
  tf.dispose([value, ...Object.values(grads)]);
  if (i >= 5) { tg += t1 - t0; ta += t2 - t1; cg += c1 - c0; ca += c2 - c1; n++; }
}
console.log(`grads wall ${(tg/n).toFixed(2)} main-cpu ${(cg/n).toFixed(2)} | adam wall ${(ta/n).toFixed(2)} main-cpu ${(ca/n).toFixed(2)} ms/step`);
