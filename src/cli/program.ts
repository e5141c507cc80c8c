import { Command, CommanderError } from 'commander';
import { TOOLKIT_VERSION } from '../version.js';
import { EXIT_OK, EXIT_USAGE } from './errors.js';
import { register as registerDegradations } from './degradations.js';
import { register as registerDegrade } from './degrade.js';
import { register as registerMetrics } from './metrics.js';
import { register as registerImport } from './import.js';
import { register as registerSynthesize } from './synthesize.js';
import { register as registerMerge } from './merge.js';
import { register as registerPlan } from './plan.js';
import { register as registerStats } from './stats.js';
import { register as registerPreview } from './preview.js';
import { register as registerRelease } from './release.js';
import { register as registerVerify } from './verify.js';
import { register as registerBenchTrain } from './bench-train.js';
import { register as registerPretrain } from './pretrain.js';
import { register as registerExport } from './export.js';
import { register as registerImportWeights } from './import-weights.js';
import { register as registerRestore } from './restore.js';
import { register as registerFinetune } from './finetune.js';
import { register as registerEval } from './eval.js';
import { register as registerBench } from './bench.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('uirgen')
    .description('Reproducible image-restoration training data: 19 degradation types, WebDataset shards, SQLite manifest')
    .version(TOOLKIT_VERSION)
    // Root options only before the command name, so `release --version V` is the release's version.
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)')
    .exitOverride((err: CommanderError) => {
      const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
      process.exit(ok ? EXIT_OK : EXIT_USAGE);
    });
  registerDegradations(program);
  registerDegrade(program);
  registerSynthesize(program);
  registerImport(program);
  registerMerge(program);
  registerPlan(program);
  registerStats(program);
  registerPreview(program);
  registerRelease(program);
  registerVerify(program);
  registerMetrics(program);
  registerPretrain(program);
  registerRestore(program);
  registerExport(program);
  registerImportWeights(program);
  registerFinetune(program);
  registerEval(program);
  registerBench(program);
  registerBenchTrain(program);
  return program;
}

