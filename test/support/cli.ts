import { spawn, type ChildProcess } from 'node:child_process';
import { Command } from 'commander';
import { vi } from 'vitest';

/** The command as a user runs it. UIRGEN_CLI may point at the built dist/cli/main.js. */
export const CLI = process.env.UIRGEN_CLI ?? 'src/cli/main.ts';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Start `uirgen ARGS...` in a child process (through tsx when running from the sources). */
export function startCli(args: string[]): ChildProcess {
  const loader = CLI.endsWith('.ts') ? ['--import', 'tsx'] : [];
  return spawn(process.execPath, [...loader, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Its exit and everything it printed. */
export function ended(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

export const runCli = (args: string[]): Promise<CliResult> => ended(startCli(args));

/**
 * Run one uirgen command in this process through its own registration (`register` from src/cli/<command>.ts,
 * or several), with stdout and stderr captured and the exit code it set; `args` start with the command's name.
 */
export async function runRegistered(
  register: ((program: Command) => void) | ReadonlyArray<(program: Command) => void>,
  args: readonly string[],
): Promise<CommandResult> {
  const out: string[] = [];
  const err: string[] = [];
  const outSpy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  const program = new Command().exitOverride();
  for (const r of typeof register === 'function' ? [register] : register) r(program);
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    // Only these two: a test's own spies stay as it set them.
    outSpy.mockRestore();
    errSpy.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, stdout: out.join(''), stderr: err.join('') };
}
