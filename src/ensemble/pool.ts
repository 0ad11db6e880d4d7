// The local pool: an ensemble's members run as `flyvis <command>` child processes, at most
// `concurrency` at a time (default one per core), each claimed exactly once (claims.ts), with one
// progress display for the whole ensemble. A member that exits 1 (or dies) is retried, resuming
// from its checkpoint; one that keeps failing is recorded with its error and the rest finish.
// Interrupting the pool (`stop()`) sends SIGINT to every running member, which saves its
// checkpoint and exits; the claims are released, so the next run resumes those members.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatDuration } from '../train/progress.ts';
import { type HeldClaim, claimMember, logFile } from './claims.ts';

/** bin/flyvis.mjs of this package (from src/ensemble or dist/ensemble alike). */
export const FLYVIS_BIN = fileURLToPath(new URL('../../bin/flyvis.mjs', import.meta.url));
// Preloaded (node --import) into every member process: when the process that started it goes away
// (killed with SIGKILL, a crashed worker), the IPC channel closes and the member is sent SIGTERM,
// which flyvis fit and train handle by saving a checkpoint and exiting. A member never outlives its
// runner, and the retry resumes from that checkpoint.
const EXIT_WITH_PARENT = `data:text/javascript,${encodeURIComponent(
  "if (process.channel) { process.channel.unref(); process.on('disconnect', () => process.kill(process.pid, 'SIGTERM')); }",
)}`;

/**
 * Starts `flyvis <argv>` as a member process: in its own process group (a terminal's Ctrl-C
 * reaches the runner only, which interrupts each member once), with an IPC channel that stops the
 * member (SIGTERM: checkpoint and exit) when the runner dies.
 */
export function spawnMember(argv: readonly string[]): ChildProcess {
  return spawn(process.execPath, ['--import', EXIT_WITH_PARENT, FLYVIS_BIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true });
}

/** One member's job: the flyvis command line to run (recomputed per attempt: --resume once a checkpoint exists), and what to do after it succeeds. */
export interface MemberJob {
  readonly id: string;
  /** Arguments after `flyvis` for this attempt (the member's folder prepared for it). */
  argv(): string[];
  /** Arguments after `flyvis` that check this attempt's options, inputs and outputs (`--check`), touching nothing. */
  checkArgv(): string[];
  /** After exit 0, with the command's stdout: writes the member's results, returns its summary. */
  finish(stdout: string): Promise<Record<string, unknown>>;
}

export interface PoolOptions {
  readonly ensembleDir: string;
  readonly concurrency: number;
  /** Extra attempts for a member that exits 1 or dies (default 1). */
  readonly retries?: number;
  /** Runs members recorded as failed again. */
  readonly retryFailed?: boolean;
  /** Progress output (default process.stderr) and least seconds between lines when it is not a terminal. */
  readonly stream?: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly progressEverySeconds?: number;
  readonly label?: string;
  /**
   * A member exited 2 (bad input). Return true to abort the whole pool (the input is bad for
   * every member), false to record this member as failed and go on.
   */
  readonly onBadInput?: (id: string, message: string) => boolean;
  /** First line of the display, e.g. what the ensemble is. */
  readonly intro?: string;
  /**
   * Holds the display back until a member reports progress or ends otherwise than with bad input,
   * so that an abort for bad input prints nothing but its one line.
   */
  readonly holdUntilProgress?: boolean;
}

export interface PoolResult {
  readonly done: string[];
  /** Members finished by this run. */
  readonly finishedHere: string[];
  readonly failed: { id: string; error: string }[];
  /** Members claimed by another runner (left to it). */
  readonly elsewhere: string[];
  readonly interrupted: boolean;
  readonly badInput: { id: string; message: string } | null;
}

interface Running {
  readonly job: MemberJob;
  readonly claim: HeldClaim;
  readonly child: ChildProcess;
  fraction: number;
  iteration: string;
}

/** The error line of a member's stderr: its last line that is not progress. */
export function errorLine(stderr: string): string {
  const lines = stderr.split(/[\r\n]+/).map((l) => l.trim()).filter((l) => l !== '' && !/\biter\s+\d+\s*\/\s*\d+/.test(l));
  return lines.at(-1) ?? '';
}

export interface PoolHandle {
  readonly result: Promise<PoolResult>;
  /** Stops launching members and interrupts the running ones (they checkpoint and exit). */
  stop(): void;
}

export function runPool(jobs: readonly MemberJob[], options: PoolOptions): PoolHandle {
  const { ensembleDir, concurrency } = options;
  const retries = options.retries ?? 1;
  const out = options.stream ?? process.stderr;
  let held: string[] | null = options.holdUntilProgress === true ? [] : null;
  const stream = { write: (text: string): void => void (held !== null ? held.push(text) : out.write(text)) };
  const flush = (): void => {
    if (held === null) return;
    const lines = held;
    held = null;
    for (const text of lines) out.write(text);
  };
  if (options.intro !== undefined) stream.write(`${options.intro}\n`);
  const tty = out.isTTY === true;
  const label = options.label ?? 'flyvis ensemble';
  const everyMs = (options.progressEverySeconds ?? 2) * 1000;
  const queue = [...jobs];
  const attempts = new Map<string, number>();
  const running = new Map<string, Running>();
  const done: string[] = [];
  const finishedHere: string[] = [];
  const failed: { id: string; error: string }[] = [];
  const elsewhere: string[] = [];
  let stopping = false;
  let badInput: { id: string; message: string } | null = null;
  const started = performance.now();
  let lastDraw = -Infinity;
  let drawn = false;
  let startFraction: number | null = null;

  const draw = (force: boolean): void => {
    const t = performance.now();
    if (!force && t - lastDraw < (tty ? 200 : everyMs)) return;
    lastDraw = t;
    const total = jobs.length;
    const fraction = (done.length + [...running.values()].reduce((s, r) => s + r.fraction, 0)) / Math.max(1, total - elsewhere.length - failed.length);
    startFraction ??= fraction;
    const elapsed = (t - started) / 1000;
    const left = fraction >= 1 ? 0 : fraction > startFraction ? (elapsed * (1 - fraction)) / (fraction - startFraction) : NaN;
    const iters = [...running.values()].map((r) => `${r.job.id}${r.iteration ? ` ${r.iteration}` : ''}`).join(', ');
    const text =
      `${label}: ${done.length}/${total} done, ${running.size} running${iters ? ` (${iters})` : ''}, ${failed.length} failed` +
      `${elsewhere.length > 0 ? `, ${elsewhere.length} elsewhere` : ''}, ${queue.length} queued; left ${formatDuration(left)}`;
    if (tty) {
      stream.write(`\r${text}\x1b[K`);
      drawn = true;
    } else stream.write(`${text}\n`);
  };
  const note = (text: string): void => {
    if (tty && drawn) stream.write('\n');
    drawn = false;
    stream.write(`${label}: ${text}\n`);
  };

  let settle!: (r: PoolResult) => void;
  const result = new Promise<PoolResult>((r) => (settle = r));
  let finished = false;
  const finishIfIdle = (): void => {
    if (finished || running.size > 0 || (queue.length > 0 && !stopping)) return;
    finished = true;
    draw(true);
    if (tty && drawn) stream.write('\n');
    if (badInput === null) flush();
    settle({ done, finishedHere, failed, elsewhere, interrupted: stopping && badInput === null, badInput });
  };

  const launch = (): void => {
    while (!stopping && running.size < concurrency && queue.length > 0) {
      const job = queue.shift()!;
      const claim = claimMember(ensembleDir, job.id, options.retryFailed === true && !attempts.has(job.id));
      if (claim === null) {
        elsewhere.push(job.id);
        continue;
      }
      const n = (attempts.get(job.id) ?? 0) + 1;
      attempts.set(job.id, n);
      const argv = job.argv();
      const log = logFile(ensembleDir, job.id);
      appendFileSync(log, `--- attempt ${n} at ${new Date().toISOString()}: flyvis ${argv.join(' ')}\n`);
      const child = spawnMember(argv);
      const r: Running = { job, claim, child, fraction: 0, iteration: '' };
      running.set(job.id, r);
      if (child.pid !== undefined) claim.setChild(child.pid);
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.stderr!.setEncoding('utf8').on('data', (s: string) => {
        stderr += s;
        if (stderr.length > 1 << 20) stderr = stderr.slice(-(1 << 19));
        appendFileSync(log, s);
        const m = /\biter\s+(\d+)\s*\/\s*(\d+)/g;
        let last: RegExpExecArray | null = null;
        for (let x = m.exec(s); x !== null; x = m.exec(s)) last = x;
        if (last !== null) {
          flush();
          r.fraction = Number(last[2]) > 0 ? Number(last[1]) / Number(last[2]) : 1;
          r.iteration = `${last[1]}/${last[2]}`;
          draw(false);
        }
      });
      child.on('error', (e) => appendFileSync(log, `flyvis ensemble: could not start the member: ${e.message}\n`));
      child.on('close', (code, signal) => {
        void settled(r, code, signal, stdout, stderr);
      });
    }
    if (running.size > 0) draw(true);
    else finishIfIdle();
  };

  const settled = async (r: Running, code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string): Promise<void> => {
    const { job, claim } = r;
    if (code !== 2 && badInput === null) flush();
    try {
      if (code === 0) {
        const summary = await job.finish(stdout);
        claim.done(summary);
        done.push(job.id);
        finishedHere.push(job.id);
        note(`member ${job.id} done${typeof summary.final_loss === 'number' ? ` (final loss ${summary.final_loss.toExponential(4)})` : ''}`);
      } else if (code === 130 && stopping) {
        claim.release(); // interrupted: its checkpoint is kept, the next run resumes it
      } else if (code === 2) {
        const message = errorLine(stderr) || `exited with code 2`;
        if (badInput === null && (options.onBadInput?.(job.id, message) ?? false)) {
          badInput = { id: job.id, message };
          claim.release();
          stopAll();
        } else {
          claim.failed(message, attempts.get(job.id)!);
          failed.push({ id: job.id, error: message });
          note(`member ${job.id} failed: ${message}`);
        }
      } else {
        const message = signal !== null ? `killed by ${signal}` : errorLine(stderr) || `exited with code ${code}`;
        if (!stopping && attempts.get(job.id)! <= retries) {
          claim.release();
          note(`member ${job.id} stopped (${message}); retrying from its checkpoint`);
          queue.unshift(job);
        } else if (stopping) {
          claim.release();
        } else {
          claim.failed(message, attempts.get(job.id)!);
          failed.push({ id: job.id, error: message });
          note(`member ${job.id} failed after ${attempts.get(job.id)} attempts: ${message}`);
        }
      }
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      claim.failed(`writing its results: ${message}`, attempts.get(job.id)!);
      failed.push({ id: job.id, error: `writing its results: ${message}` });
      note(`member ${job.id} failed writing its results: ${message}`);
    }
    running.delete(job.id);
    launch();
  };

  const stopAll = (): void => {
    stopping = true;
    for (const r of running.values()) {
      try {
        if (badInput !== null) r.child.kill('SIGKILL');
        else r.child.kill('SIGINT');
      } catch {
        // already gone
      }
    }
  };
  // If this process exits while members run (a second Ctrl-C, a crash), their IPC channels close
  // and each member stops itself, saving its checkpoint (spawnMember): one signal each, not two.
  queueMicrotask(launch);
  return {
    result,
    stop() {
      if (!stopping) {
        note('interrupting the running members (each saves its checkpoint)');
        stopAll();
      }
      finishIfIdle();
    },
  };
}
