import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { describeNafnet } from '../train/models/nafnet.js';
import { presetOf } from '../train/models/presets.js';
import { importWeights, WeightsIoError } from '../train/torch/weights.js';
import { action, UsageError, UserError } from './errors.js';
import { addNetOptions, netFromFlags, type NetFlags } from './net-options.js';
import { startBackend } from './start-backend.js';

interface ImportFlags extends NetFlags {
  out?: string;
  key?: string;
  force?: boolean;
  json?: boolean;
}

/** `uirgen import-weights model.pth|.safetensors -o CKPT`: PyTorch NAFNet weights into a uirgen checkpoint. */
export function register(program: Command): void {
  const cmd = program
    .command('import-weights')
    .description('read PyTorch NAFNet weights (.pth / .safetensors; MaskDCPT, DCPT or megvii names) into a checkpoint')
    .argument('<file>', 'weights file: a BasicSR .pth ({"params", "params_ema"}), a bare state dict, or .safetensors')
    .option('-o, --out <CKPT>', 'checkpoint directory to write');
  addNetOptions(cmd, 'auto');
  cmd
    .option('--key <K>', 'import only this state dict of the .pth (e.g. params_ema)')
    .option('--force', 'overwrite a checkpoint already in --out')
    .option('--json', 'print a JSON summary')
    .addHelpText(
      'after',
      '\nThe network is read off the weights (--net auto); give --net (and its overrides) to insist on one.\n' +
        'Names and shapes are checked as load_state_dict(strict=True) checks them. From a BasicSR .pth,\n' +
        '"params" become the live weights and "params_ema" the EMA (restore and eval use the EMA).\n' +
        'Only tensors are read: the restricted unpickler refuses any other Python object.',
    )
    .action(
      action(async (file: string, flags: ImportFlags) => {
        if (!flags.out) throw new UsageError('-o/--out is required (the checkpoint directory to write)');
        const net = flags.net === 'auto' ? undefined : netFromFlags(flags);
        if (flags.net === 'auto' && (flags.width ?? flags.encBlocks ?? flags.middleBlocks ?? flags.decBlocks) !== undefined) {
          throw new UsageError('--width/--enc-blocks/--middle-blocks/--dec-blocks override a --net preset; give --net too');
        }
        const out = resolve(flags.out);
        if (existsSync(join(out, 'model.json')) && !flags.force) throw new UserError(`${out} already holds a checkpoint; choose another -o or pass --force`);
        if (!existsSync(file)) throw new UserError(`${file}: no such file`);
        await startBackend('cpu');
        try {
          const r = await importWeights(resolve(file), { out, ...(net ? { net } : {}), ...(flags.key !== undefined ? { key: flags.key } : {}) });
          const preset = presetOf(r.config);
          if (flags.json) {
            process.stdout.write(`${JSON.stringify({ checkpoint: r.checkpoint, net: preset, config: r.config, names: r.style, live: r.live, ema: r.ema, ignored: r.ignored, parameters: r.parameters })}\n`);
          } else {
            process.stdout.write(
              `${file}: NAFNet ${describeNafnet(r.config)}${preset ? ` (${preset})` : ''}, ${r.parameters} parameters, ${r.style} names; ` +
                `live weights from ${r.live || 'the bare state dict'}${r.ema ? `, EMA from ${r.ema}` : ''}` +
                `${r.ignored.length ? `; ignored: ${r.ignored.join(', ')}` : ''}\ncheckpoint ${r.checkpoint}\n`,
            );
          }
        } catch (err) {
          if (err instanceof WeightsIoError) throw new UserError(err.message);
          throw err;
        }
      }),
    );
}
