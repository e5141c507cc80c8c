import type { Command } from 'commander';
import { BenchBuildError, buildBenchmark, PRESETS, type PresetName } from '../pipeline/bench-build.js';
import { action, parseIntOption, UsageError, UserError } from './errors.js';

interface BenchBuildFlags {
  preset: string;
  sources: string[];
  out: string;
  seed: string;
  crop: string;
  perSource: string;
  exclude: string[];
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `uirgen bench build`: a held-out benchmark in the standard test-set layouts. */
export function register(program: Command): void {
  const bench = program.command('bench').description('benchmarks for `uirgen eval`');
  bench
    .command('build')
    .description('synthesize a held-out benchmark from clean photos, in the layouts of the real test sets')
    .option('--preset <P>', `which benchmark: ${PRESETS.join(' | ')}`, '5d')
    .option('--sources <DIR>', 'folder of clean photos not used for training (repeatable)', collect, [])
    .requiredOption('--out <BENCH>', 'benchmark folder to create')
    .option('--seed <S>', 'seed of the crops and degradations', '0')
    .option('--crop <N>', 'square crop side in pixels (a multiple of 16)', '256')
    .option('--per-source <N>', 'crops per photo and task', '4')
    .option('--exclude <DS>', 'a training dataset whose source photos must not appear here (repeatable)', collect, [])
    .option('--json', 'print a JSON summary')
    .addHelpText(
      'after',
      '\nPreset 5d: CBSD68/ (clean crops; eval adds sigma-25 Gaussian noise with np.random.seed(0), as the\n' +
        'papers\' test code), Rain100L/ (rainy/rain-NNN.png, norain/norain-NNN.png; RS), SOTS-outdoor/ (hazy/\n' +
        '<id>_<A>_<beta>.png, gt/<id>.png; H), GoPro/test/<photo>/{blur,sharp}/ (MB) and LOL/eval15/{low,high}/ (LL),\n' +
        'plus bench.json with every pair\'s source, crop, level, params and seed. Then:\n' +
        '  uirgen eval --model CKPT --bench BENCH',
    )
    .action(
      action(async (flags: BenchBuildFlags) => {
        if (!(PRESETS as readonly string[]).includes(flags.preset)) throw new UsageError(`--preset must be one of ${PRESETS.join(', ')}, got "${flags.preset}"`);
        if (flags.sources.length === 0) throw new UsageError('--sources DIR is required (clean photos kept apart from training)');
        const crop = parseIntOption('--crop', flags.crop, 16, 4096);
        if (crop % 16 !== 0) throw new UsageError(`--crop must be a multiple of 16, got ${crop}`);
        const perSource = parseIntOption('--per-source', flags.perSource, 1, 1000);
        try {
          const result = await buildBenchmark({
            preset: flags.preset as PresetName,
            sources: flags.sources,
            out: flags.out,
            seed: flags.seed,
            crop,
            perSource,
            exclude: flags.exclude,
            onSet: ({ set, pairs, done, total }) => process.stderr.write(`bench ${done}/${total} ${set}: ${pairs} images\n`),
          });
          if (flags.json) {
            process.stdout.write(`${JSON.stringify(result)}\n`);
          } else {
            const lines = result.sets.map(
              (s) => `  ${s.name.padEnd(10)} ${s.task.padEnd(9)} ${String(s.pairs).padStart(4)} images  ${s.dir}` +
                (s.sigma !== undefined ? `  (sigma ${s.sigma} at eval time)` : `  input PSNR ${s.input_psnr?.toFixed(2)} dB`),
            );
            process.stdout.write(`${result.out}: preset ${result.preset}, seed ${result.seed}, ${result.sources} photos\n${lines.join('\n')}\n`);
          }
        } catch (err) {
          if (err instanceof BenchBuildError) throw new UserError(err.message);
          throw err;
        }
      }),
    );
}
