// A progress bar for long runs: iteration, loss and time left. On a TTY it redraws one line in
// place (\r); otherwise (a pipe, a log file, a test) it prints a full line for the first and last
// iteration and at most every `intervalMs` in between. The default stream is the platform's
// (process.stderr in Node; console lines elsewhere: src/platform.ts).
import { stderrStream } from '../platform.ts';

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface ProgressOptions {
  /** Total iterations of the run. */
  readonly total: number;
  /** Where to write (default the platform's stderr: process.stderr in Node). */
  readonly stream?: ProgressStream;
  /** Prefix of every line, e.g. 'flyvis fit'. */
  readonly label?: string;
  /** Non-TTY: least time between two lines (default 2000 ms). TTY: redraws at most every 100 ms. */
  readonly intervalMs?: number;
  /** Iterations already done when this progress starts (a resumed run); time left counts from here. */
  readonly startIteration?: number;
  /** Clock in ms (default performance.now), for tests. */
  readonly now?: () => number;
}

/** "1h 02m", "3m 05s", "12.3s" */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : `${m}m ${String(r).padStart(2, '0')}s`;
}

export class Progress {
  private readonly total: number;
  private readonly stream: ProgressStream;
  private readonly label: string;
  private readonly interval: number;
  private readonly now: () => number;
  private readonly tty: boolean;
  private readonly started: number;
  private readonly startIteration: number;
  private lastDraw = -Infinity;
  private drawn = false;

  constructor(options: ProgressOptions) {
    this.total = options.total;
    this.stream = options.stream ?? stderrStream();
    this.label = options.label ? `${options.label}: ` : '';
    this.tty = this.stream.isTTY === true;
    this.interval = this.tty ? 100 : (options.intervalMs ?? 2000);
    this.now = options.now ?? (() => performance.now());
    this.startIteration = options.startIteration ?? 0;
    this.started = this.now();
  }

  /** The text for `done` of `total` iterations completed with the latest loss. */
  line(done: number, loss: number, elapsedS: number): string {
    const width = String(this.total).length;
    const rate = done > this.startIteration ? elapsedS / (done - this.startIteration) : NaN;
    const left = rate * (this.total - done);
    const frac = this.total > 0 ? done / this.total : 1;
    const bar = this.tty ? `[${'#'.repeat(Math.round(frac * 20)).padEnd(20, '.')}] ` : '';
    return (
      `${this.label}${bar}iter ${String(done).padStart(width)}/${this.total}  loss ${loss.toExponential(4)}  ` +
      `${Number.isFinite(rate) ? `${(rate * 1000).toFixed(0)} ms/it` : '? ms/it'}  left ${done >= this.total ? '0.0s' : formatDuration(left)}`
    );
  }

  /** Reports that `done` iterations are complete; the loss is the latest one. */
  update(done: number, loss: number): void {
    const t = this.now();
    const last = done >= this.total;
    if (this.drawn && !last && t - this.lastDraw < this.interval) return;
    this.lastDraw = t;
    this.drawn = true;
    const text = this.line(done, loss, (t - this.started) / 1000);
    this.stream.write(this.tty ? `\r${text}\x1b[K` : `${text}\n`);
  }

  /** Ends the in-place line on a TTY (call before printing anything else). */
  finish(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
