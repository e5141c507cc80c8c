import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CheckpointError } from '../train/checkpoint.js';
import { describeNafnet } from '../train/models/nafnet.js';
import { NAME_STYLES, type NameStyle } from '../train/torch/state-dict.js';
import { exportWeights, formatOf, WeightsIoError } from '../train/torch/weights.js';
import { action, UsageError, UserError } from './errors.js';
import { startBackend } from './start-backend.js';

interface ExportFlags {
  out?: string;
  names: string;
  weights: string;
  meta?: string;
  json?: boolean;
}

/** `uirgen export CKPT -o model.pth|model.safetensors`: the restoration network as a BasicSR state dict. */
export function register(program: Command): void {
  program
    .command('export')
    .description('write a checkpoint\'s restoration network as a PyTorch NAFNet state dict (.pth or .safetensors) + export.json')
    .argument('<ckpt>', 'checkpoint directory (pretrain --out, or import-weights -o)')
    .option('-o, --out <FILE>', 'output file: .pth (BasicSR {"params", "params_ema"}) or .safetensors (one flat state dict)')
    .option('--names <STYLE>', `parameter names: ${NAME_STYLES.join(' | ')} (maskdcpt: MaskDCPT's NAFNetBaseline)`, 'maskdcpt')
    .option('--weights <W>', '.safetensors only: ema | live | auto (the EMA when the checkpoint has one)', 'auto')
    .option('--meta <FILE>', 'where to write the constructor arguments (default: export.json beside --out)')
    .option('--json', 'print a JSON summary')
    .addHelpText(
      'after',
      '\nLoad it in PyTorch (MILab-PKU/MaskDCPT basicsr/archs/nafnet_arch.py):\n' +
        '  net = NAFNetBaseline(**{k: v for k, v in json.load(open("export.json"))["network_g"].items() if k != "type"})\n' +
        '  net.load_state_dict(torch.load("model.pth")["params_ema"], strict=True)\n' +
        'A .safetensors file is a bare state dict (safetensors.torch.load_file); to make a BasicSR .pth of it:\n' +
        '  python -c "import torch,safetensors.torch as s; torch.save({\'params_ema\': s.load_file(\'model.safetensors\')}, \'model.pth\')"',
    )
    .action(
      action(async (ckpt: string, flags: ExportFlags) => {
        if (!flags.out) throw new UsageError('-o/--out is required (model.pth or model.safetensors)');
        if (!formatOf(flags.out)) throw new UsageError(`-o must end in .pth or .safetensors, got "${flags.out}"`);
        if (!(NAME_STYLES as readonly string[]).includes(flags.names)) throw new UsageError(`--names must be one of ${NAME_STYLES.join(', ')}, got "${flags.names}"`);
        const weights = flags.weights;
        if (weights !== 'ema' && weights !== 'live' && weights !== 'auto') throw new UsageError(`--weights must be ema, live or auto, got "${weights}"`);
        await startBackend('cpu');
        try {
          const r = await exportWeights(resolve(ckpt), {
            out: resolve(flags.out),
            style: flags.names as NameStyle,
            weights,
            ...(flags.meta ? { meta: resolve(flags.meta) } : {}),
          });
          if (flags.json) {
            process.stdout.write(`${JSON.stringify({ out: r.out, meta: r.meta, format: r.format, keys: r.keys, parameters: r.parameters, network_g: r.network })}\n`);
          } else {
            const n = r.network;
            process.stdout.write(
              `${r.out}: ${r.keys.join(' + ')}, ${r.parameters} parameters, NAFNetBaseline(${describeNafnet({ width: n.width, encBlocks: n.enc_blk_nums, middleBlocks: n.middle_blk_num, decBlocks: n.dec_blk_nums })})\n${r.meta}\n`,
            );
          }
        } catch (err) {
          if (err instanceof CheckpointError || err instanceof WeightsIoError) throw new UserError(err.message);
          throw err;
        }
      }),
    );
}
