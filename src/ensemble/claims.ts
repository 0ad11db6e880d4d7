// Exactly-once bookkeeping for an ensemble's members, in ENSEMBLE_DIR/.flyvis-ensemble/ (beside
// the numbered member folders, which flyvis's loaders list; this folder is not a member name):
//
//   spec.json   what the ensemble runs (command, members, seed, the member command's options):
//               a later run of another spec on the same directory is refused
//   NNN.claim   created with O_EXCL by whoever runs member NNN: { host, pid, child, started, beat };
//               a second runner skips the member; a claim whose processes no longer run on this
//               host is taken over (the member resumes from its checkpoint). Its holder rewrites
//               it every BEAT_MS with `beat` counting up, so that a runner on another host can
//               tell a live claim from a dead machine's without comparing clocks (queue.ts)
//   NNN.done    the member finished: { finished, summary } (never run again, counted once)
//   NNN.failed  the member failed every attempt: { error, attempts }
//   NNN.log     the member command's stderr, every attempt appended
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const STATE_DIR = '.flyvis-ensemble';

export interface Claim {
  readonly host: string;
  readonly pid: number;
  readonly child: number | null;
  readonly started: string;
  /** Counts up every BEAT_MS while the holder runs (absent in claims of earlier versions). */
  readonly beat?: number;
}

/** How often a held claim is rewritten (its heartbeat). */
export const BEAT_MS = 2000;

const sameHolder = (a: Claim, b: Claim): boolean => a.host === b.host && a.pid === b.pid && a.started === b.started;

export type MemberState =
  | { readonly state: 'done'; readonly finished: string; readonly summary: Record<string, unknown> }
  | { readonly state: 'failed'; readonly error: string; readonly attempts: number }
  | { readonly state: 'running'; readonly claim: Claim }
  | { readonly state: 'pending' };

/** Member folder names as flyvis 1.x numbers them: 000, 001, ... (wider past 999). */
export const memberId = (index: number, members: number): string => String(index).padStart(Math.max(3, String(members - 1).length), '0');

export const stateDir = (ensembleDir: string): string => join(ensembleDir, STATE_DIR);
const file = (ensembleDir: string, id: string, ext: string): string => join(stateDir(ensembleDir), `${id}.${ext}`);
export const logFile = (ensembleDir: string, id: string): string => file(ensembleDir, id, 'log');

function alive(pid: number | null): boolean {
  if (pid === null || !(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value)}\n`);
  renameSync(tmp, path);
}

/** Whether a claim's runner still works on its member: another host's claims are trusted; here, its processes must run. */
export const claimLive = (c: Claim): boolean => c.host !== hostname() || alive(c.pid) || alive(c.child);

export function memberState(ensembleDir: string, id: string): MemberState {
  const done = readJson<{ finished: string; summary: Record<string, unknown> }>(file(ensembleDir, id, 'done'));
  if (done !== null) return { state: 'done', finished: done.finished, summary: done.summary };
  const failed = readJson<{ error: string; attempts: number }>(file(ensembleDir, id, 'failed'));
  if (failed !== null) return { state: 'failed', error: failed.error, attempts: failed.attempts };
  const claim = readJson<Claim>(file(ensembleDir, id, 'claim'));
  if (claim !== null && claimLive(claim)) return { state: 'running', claim };
  return { state: 'pending' };
}

/** A held claim on one member: record the child running it, then finish it as done, failed, or release it. */
export interface HeldClaim {
  setChild(pid: number | null): void;
  done(summary: Record<string, unknown>): void;
  failed(error: string, attempts: number): void;
  release(): void;
}

/**
 * Claims member `id` for this process: null when it is done or failed already, or claimed by a
 * runner that still works on it. A stale claim is taken over: by default one whose processes are
 * gone from this host (another host's claims are trusted); `stale` decides otherwise.
 */
export function claimMember(ensembleDir: string, id: string, retryFailed = false, stale: (held: Claim) => boolean = (held) => !claimLive(held)): HeldClaim | null {
  mkdirSync(stateDir(ensembleDir), { recursive: true });
  const path = file(ensembleDir, id, 'claim');
  for (let attempt = 0; attempt < 3; attempt++) {
    if (existsSync(file(ensembleDir, id, 'done'))) return null;
    if (existsSync(file(ensembleDir, id, 'failed')) && !retryFailed) return null;
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const held = readJson<Claim>(path);
      if (held !== null && !stale(held)) return null;
      // Stale (or unreadable: a writer killed between create and write): take it over.
      try {
        unlinkSync(path);
      } catch {
        // another runner took it over first; try again
      }
      continue;
    }
    let claim: Claim = { host: hostname(), pid: process.pid, child: null, started: new Date().toISOString(), beat: 0 };
    writeSync(fd, JSON.stringify(claim));
    closeSync(fd);
    // Finished while we raced for the claim: give it back.
    if (existsSync(file(ensembleDir, id, 'done'))) {
      unlinkSync(path);
      return null;
    }
    // The heartbeat; it stops if the claim was taken over meanwhile (this holder looked dead).
    const heartbeat = setInterval(() => {
      const now = readJson<Claim>(path);
      if (now === null || !sameHolder(now, claim)) return clearInterval(heartbeat);
      claim = { ...claim, beat: (claim.beat ?? 0) + 1 };
      writeJsonAtomic(path, claim);
    }, BEAT_MS);
    heartbeat.unref();
    const drop = (): void => {
      clearInterval(heartbeat);
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    };
    return {
      setChild(pid) {
        claim = { ...claim, child: pid };
        writeJsonAtomic(path, claim);
      },
      done(summary) {
        clearInterval(heartbeat);
        writeJsonAtomic(file(ensembleDir, id, 'done'), { finished: new Date().toISOString(), summary });
        try {
          unlinkSync(file(ensembleDir, id, 'failed'));
        } catch {
          // none
        }
        drop();
      },
      failed(error, attempts) {
        clearInterval(heartbeat);
        writeJsonAtomic(file(ensembleDir, id, 'failed'), { error, attempts });
        drop();
      },
      release: drop,
    };
  }
  return null;
}

/** Forgets that a member failed, so that it is run again. */
export function clearFailed(ensembleDir: string, id: string): void {
  try {
    unlinkSync(file(ensembleDir, id, 'failed'));
  } catch {
    // none
  }
}

/** The ensemble's spec as recorded, or null. */
export function readSpec(ensembleDir: string): Record<string, unknown> | null {
  return readJson<Record<string, unknown>>(join(stateDir(ensembleDir), 'spec.json'));
}

export function writeSpec(ensembleDir: string, spec: Record<string, unknown>): void {
  mkdirSync(stateDir(ensembleDir), { recursive: true });
  writeJsonAtomic(join(stateDir(ensembleDir), 'spec.json'), spec);
}
