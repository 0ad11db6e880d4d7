// A progress bar on stderr for long simulations, shown from the very start: the bar at 0 % with
// what is being done (building the network, the grey steady state) until the first batch is
// simulated. On a terminal it is redrawn in place; otherwise (a pipe, a log file) it prints a
// line when created, at each setup stage, after a batch at most every 2 s or at each tenth, and
// when done. `total` counts simulated sample-frames. The default stream is the platform's
// (process.stderr in Node; console lines elsewhere: src/platform.ts).
import { stderrStream } from '../platform.ts';

export interface Progress {
  /** `n` more sample-frames simulated. */
  tick(n: number): void;
  done(): void;
  /** What is being done now (shown beside the bar). */
  status?(text: string): void;
  /** `n` sample-frames that need no simulation (read back from an interrupted run); excluded from the time estimate. */
  skip?(n: number): void;
}

export interface ProgressStreamLike {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export function progressBar(label: string, total: number, stream: ProgressStreamLike = stderrStream(), now: () => number = Date.now): Progress {
  const start = now();
  let count = 0;
  let skipped = 0;
  let lastDecile = 0;
  let lastDraw = -Infinity;
  let ticked = false;
  let status = '';
  const tty = stream.isTTY === true;
  const fmt = (s: number): string => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`);
  const draw = (final: boolean): void => {
    const t = now();
    lastDraw = t;
    const frac = total > 0 ? Math.min(1, count / total) : 1;
    const elapsed = (t - start) / 1000;
    const simulated = count - skipped;
    const rest = total - count;
    const eta = simulated > 0 ? (elapsed / simulated) * rest : NaN;
    const width = 30;
    const filled = Math.round(frac * width);
    const left = final || !Number.isFinite(eta) ? '' : `, ~${fmt(eta)} left`;
    const what = final || status === '' ? '' : ` (${status})`;
    const text = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${fmt(elapsed)} elapsed${left}${what}`;
    if (tty) stream.write(`\r${text}\x1b[K${final ? '\n' : ''}`);
    else stream.write(text + '\n');
  };
  const advance = (n: number): void => {
    count += n;
    const t = now();
    if (tty) {
      if (t - lastDraw > 200) draw(false);
      return;
    }
    const decile = Math.floor((count / Math.max(total, 1)) * 10);
    if ((decile > lastDecile || t - lastDraw >= 2000) && count < total) {
      lastDecile = Math.max(lastDecile, decile);
      draw(false);
    }
  };
  return {
    tick(n: number) {
      ticked = true;
      advance(n);
    },
    skip(n: number) {
      skipped += n;
      advance(n);
    },
    status(text: string) {
      status = text;
      // Setup stages are shown as they happen; once batches run, the status rides along with the bar.
      if (tty || !ticked) draw(false);
    },
    done() {
      count = total;
      draw(true);
    },
  };
}

/** A progress that shows nothing. */
export const silentProgress: Progress = { tick: () => {}, done: () => {} };
