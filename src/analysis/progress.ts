// A progress bar on stderr for long simulations: redrawn in place on a terminal, a line every
// 10 % otherwise (logs stay readable). `total` counts simulated sample-frames.
export interface Progress {
  tick(n: number): void;
  done(): void;
}

export function progressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const start = Date.now();
  let count = 0;
  let lastDecile = -1;
  let lastDraw = 0;
  const tty = stream.isTTY === true;
  const fmt = (s: number): string => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`);
  const draw = (final: boolean): void => {
    const frac = total > 0 ? Math.min(1, count / total) : 1;
    const elapsed = (Date.now() - start) / 1000;
    const eta = frac > 0 ? (elapsed / frac) * (1 - frac) : NaN;
    const width = 30;
    const filled = Math.round(frac * width);
    const text = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${fmt(elapsed)} elapsed${final ? '' : `, ~${Number.isFinite(eta) ? fmt(eta) : '?'} left`}`;
    if (tty) stream.write(`\r${text}\x1b[K${final ? '\n' : ''}`);
    else stream.write(text + '\n');
  };
  return {
    tick(n: number) {
      count += n;
      const now = Date.now();
      if (tty) {
        if (now - lastDraw > 200) {
          lastDraw = now;
          draw(false);
        }
      } else {
        const decile = Math.floor((count / Math.max(total, 1)) * 10);
        if (decile > lastDecile && decile < 10) {
          lastDecile = decile;
          draw(false);
        }
      }
    },
    done() {
      count = total;
      draw(true);
    },
  };
}

/** A progress that shows nothing. */
export const silentProgress: Progress = { tick: () => {}, done: () => {} };
