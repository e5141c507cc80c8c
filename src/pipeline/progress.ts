import cliProgress from 'cli-progress';

/**
 * Progress of a long run, on stderr: a bar with samples/s, ETA and errors on a terminal; a plain
 * line every few seconds otherwise (logs, CI, Slurm output files), which a bar would fill with
 * carriage-return noise.
 */

export interface ProgressState {
  /** Planned samples handled so far (made or failed), including those done by earlier runs. */
  done: number;
  /** Errors recorded by this run. */
  errors: number;
}

export interface Progress {
  /** `total`: planned samples of this run's part; `done`: those already complete when it starts. */
  start(total: number, done: number): void;
  update(state: ProgressState): void;
  /** A message for the user, printed without breaking the bar. */
  note(line: string): void;
  stop(): void;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Force the bar (true) or plain lines (false); default: the stream is a terminal. */
  tty?: boolean;
  /** Plain mode: seconds between lines. */
  intervalSeconds?: number;
  label?: string;
  /** What is counted (default 'samples'; verify counts 'MB'). */
  unit?: string;
}

/** Rate and ETA over this run's own work, so resumed samples do not inflate the speed. */
class Rate {
  private readonly t0 = performance.now();
  private base = 0;

  begin(done: number): void {
    this.base = done;
  }

  perSecond(done: number): number {
    const s = (performance.now() - this.t0) / 1000;
    return s > 0 ? (done - this.base) / s : 0;
  }

  eta(done: number, total: number): string {
    const r = this.perSecond(done);
    if (done >= total) return '0s';
    if (!(r > 0)) return '?';
    return formatSeconds((total - done) / r);
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}

export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean(stream.isTTY);
  const label = options.label ?? 'synthesize';
  const unit = options.unit ?? 'samples';
  return tty ? barProgress(stream, label, unit) : lineProgress(stream, label, unit, options.intervalSeconds ?? 5);
}

/** No output at all (library use, tests). */
export function silentProgress(): Progress {
  return { start() {}, update() {}, note() {}, stop() {} };
}

function barProgress(stream: NodeJS.WriteStream, label: string, unit: string): Progress {
  const rate = new Rate();
  let total = 0;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} {bar} {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {etaText} | errors {errors}`,
      hideCursor: true,
      fps: 5,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start(t, done) {
      total = t;
      rate.begin(done);
      bar.start(t, done, { rate: '0.0', etaText: '?', errors: 0 });
    },
    update({ done, errors }) {
      bar.update(done, { rate: rate.perSecond(done).toFixed(1), etaText: rate.eta(done, total), errors });
    },
    note(line) {
      // cli-progress redraws on the next update; a line written between draws lands above the bar.
      stream.write(`\r\x1b[2K${line}\n`);
    },
    stop() {
      bar.stop();
    },
  };
}

function lineProgress(stream: NodeJS.WriteStream, label: string, unit: string, intervalSeconds: number): Progress {
  const rate = new Rate();
  let total = 0;
  let last = 0;
  let state: ProgressState = { done: 0, errors: 0 };
  const line = (): void => {
    const pct = total > 0 ? ((100 * state.done) / total).toFixed(1) : '100.0';
    stream.write(
      `${label}: ${state.done}/${total} ${unit} (${pct}%), ${rate.perSecond(state.done).toFixed(1)}/s, ETA ${rate.eta(state.done, total)}, ${state.errors} errors\n`,
    );
  };
  return {
    start(t, done) {
      total = t;
      state = { done, errors: 0 };
      rate.begin(done);
      last = performance.now();
    },
    update(s) {
      state = s;
      const now = performance.now();
      if (now - last >= intervalSeconds * 1000) {
        last = now;
        line();
      }
    },
    note(text) {
      stream.write(`${text}\n`);
    },
    stop() {
      line();
    },
  };
}
