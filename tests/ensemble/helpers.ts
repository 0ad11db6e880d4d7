// Shared by the ensemble tests: `flyvis` as a process (spawnSync or in the background), the
// ensemble command in this process (fast: no process start), and reading an ensemble's bookkeeping.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as ensembleRun } from '../../src/cli/ensemble.ts';
import { PROJECT_DIR } from '../helpers/shared.ts';

export const tmp = (prefix = 'flyvis-ensemble-'): string => mkdtempSync(join(tmpdir(), prefix));

/** `flyvis ARGS` as a process, to its end. */
export const flyvis = (args: readonly string[], env: NodeJS.ProcessEnv = process.env) => {
  const r = spawnSync(process.execPath, ['bin/flyvis.mjs', ...args], { cwd: PROJECT_DIR, encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

export interface Proc {
  readonly child: ChildProcess;
  readonly out: { stdout: string; stderr: string };
  readonly exit: Promise<number | null>;
}

/** `flyvis ARGS` in the background, its output collected. */
export const start = (args: readonly string[], env: NodeJS.ProcessEnv = process.env): Proc => {
  const child = spawn(process.execPath, ['bin/flyvis.mjs', ...args], { cwd: PROJECT_DIR, stdio: ['ignore', 'pipe', 'pipe'], env });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (s: Buffer) => (out.stdout += String(s)));
  child.stderr!.on('data', (s: Buffer) => (out.stderr += String(s)));
  return { child, out, exit: new Promise((resolve) => child.on('close', (code) => resolve(code))) };
};

/** Waits until `text` matches what a process wrote on stderr. */
export async function stderrMatches(p: Proc, re: RegExp, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!re.test(p.out.stderr)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`no ${re} in ${p.out.stderr}`);
    if (p.child.exitCode !== null) throw new Error(`exited ${p.child.exitCode} before ${re}: ${p.out.stderr}`);
    await sleep(50);
  }
}

let busy: Promise<unknown> = Promise.resolve();

/** `flyvis ensemble ARGS` in this process (one at a time: it writes to process.stdout / stderr, captured here). */
export const ensemble = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => inline(ensembleRun, args);

/** A command's run() in this process, its output captured (one command at a time). */
export function inline(run: (argv: readonly string[]) => Promise<number>, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const go = async () => {
    let stdout = '';
    let stderr = '';
    const out = process.stdout.write;
    const err = process.stderr.write;
    process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
    try {
      const code = await run(args);
      return { code, stdout, stderr };
    } finally {
      process.stdout.write = out;
      process.stderr.write = err;
    }
  };
  const r = busy.then(go, go);
  busy = r.catch(() => undefined);
  return r;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
/** How many attempts a member's log records. */
export const attempts = (dir: string, id: string) => {
  try {
    return (readFileSync(join(dir, '.flyvis-ensemble', `${id}.log`), 'utf8').match(/^--- attempt /gm) ?? []).length;
  } catch {
    return 0;
  }
};
/** The log of a member's last attempt. */
export const lastAttempt = (dir: string, id: string) => {
  const log = readFileSync(join(dir, '.flyvis-ensemble', `${id}.log`), 'utf8');
  return log.slice(log.lastIndexOf('--- attempt'));
};
/** Every file under dir, recursively. */
export const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
/** A fit member's iteration as its training state records it (0 before the first checkpoint). */
export const fitIteration = (dir: string, id = '000') => {
  try {
    return (JSON.parse(readFileSync(join(dir, id, 'fit.train.json'), 'utf8')) as { iteration: number }).iteration;
  } catch {
    return 0;
  }
};
/** The claim of a running member: the runner's pid and the member process's. */
export const claimOf = (dir: string, id: string): { pid: number; child: number | null } | null => {
  try {
    return JSON.parse(readFileSync(join(dir, '.flyvis-ensemble', `${id}.claim`), 'utf8')) as { pid: number; child: number | null };
  } catch {
    return null;
  }
};
export async function until(cond: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
