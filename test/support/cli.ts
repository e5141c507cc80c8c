import { spawn, type ChildProcess } from 'node:child_process';

/** The command as a user runs it. UIRGEN_CLI may point at the built dist/cli/main.js. */
export const CLI = process.env.UIRGEN_CLI ?? 'src/cli/main.ts';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
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
