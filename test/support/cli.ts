import { Command } from 'commander';
import { vi } from 'vitest';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run one uirgen command in this process through its own registration (`register` from src/cli/<command>.ts),
 * with stdout and stderr captured; `args` start with the command's name.
 */
export async function runRegistered(register: (program: Command) => void, args: string[]): Promise<CommandResult> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  const program = new Command().exitOverride();
  register(program);
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    vi.restoreAllMocks();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, stdout: out.join(''), stderr: err.join('') };
}
