import type { Command } from 'commander';
import { listDegradations, registryVersion, totalLevels } from '../degradations/registry.js';
import { severityMeasureOf } from '../degradations/types.js';
import { action } from './errors.js';

export function register(program: Command): void {
  program
    .command('degradations')
    .description('list the 19 degradation types, their variants and levels')
    .option('--json', 'print the full registry (levels with ids and settings) as JSON')
    .action(
      action((opts: { json?: boolean }) => {
        const types = listDegradations();
        if (opts.json) {
          const out = types.map((d) => ({
            id: d.id,
            name: d.name,
            description: d.description,
            method: d.method,
            version: d.version,
            severity: severityMeasureOf(d),
            variants: [...new Set(d.levels.map((l) => l.variant))],
            levels: d.levels.map((l, index) => ({ index, ...l })),
          }));
          process.stdout.write(`${JSON.stringify({ registry_version: registryVersion(), types: out, total_levels: totalLevels() }, null, 2)}\n`);
          return;
        }
        for (const d of types) {
          const variants = [...new Set(d.levels.map((l) => l.variant))];
          process.stdout.write(`${d.id.padEnd(5)} ${d.name}  (v${d.version}, ${d.levels.length} levels; ${variants.join(', ')})\n`);
          process.stdout.write(`      ${d.levels.map((l) => l.id).join(' ')}\n`);
        }
        process.stdout.write(`${types.length} types, ${totalLevels()} levels (registry ${registryVersion()})\n`);
      }),
    );
}
