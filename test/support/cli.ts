import { Command } from 'commander';
import { vi } from 'vitest';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run `uirgen ARGS...` in-process on a program with the given commands registered, capturing stdout, stderr
 * and the exit code the command set (process.exitCode, reset afterwards).
 */
export async function runCli(commands: ReadonlyArray<(program: Command) => void>, args: readonly string[]): Promise<CliRun> {
  const program = new Command().exitOverride();
  for (const register of commands) register(program);
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['node', 'uirgen', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const code = typeof process.exitCode === 'number' ? process.exitCode : 0;
  process.exitCode = undefined;
  return { code, stdout, stderr };
}
