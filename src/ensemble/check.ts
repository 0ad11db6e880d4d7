// Checking an ensemble's members before they are queued: each member's own command with --check
// (`flyvis fit ... --check`, `flyvis train ... --check`) runs every check a run makes (flags and
// values, the connectome, --params / --init, the movie and target, the output paths, with --resume
// the saved state) and writes nothing. A queued member runs later on some worker, where bad input
// would only surface as a failed job: so `flyvis ensemble fit|train --queue` refuses the ensemble
// here, naming the member and its option, before anything is queued or written.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { memberState } from './claims.ts';
import { errorLine, FLYVIS_BIN, type MemberJob } from './pool.ts';

/** A member whose check failed: exit 2 (bad input, `message` is its one line) or another failure. */
export interface CheckFailure {
  readonly id: string;
  readonly code: number | null;
  readonly message: string;
}

/**
 * The members a submission must check: those it will run (not done, not running elsewhere, not
 * failed unless retried). Members that have no folder yet and the same options (no `{member}` in
 * them) differ in their seed and member folder only, so the first of them stands for the rest;
 * members with a folder are checked each (their saved state is read back on --resume).
 */
export function membersToCheck(jobs: readonly MemberJob[], ensembleDir: string, memberArgs: (id: string) => readonly string[], retryFailed: boolean): MemberJob[] {
  const seen = new Set<string>();
  return jobs.filter((job) => {
    const s = memberState(ensembleDir, job.id).state;
    if (s === 'done' || s === 'running' || (s === 'failed' && !retryFailed)) return false;
    if (existsSync(join(ensembleDir, job.id))) return true;
    const key = JSON.stringify(memberArgs(job.id));
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Runs `flyvis <checkArgv>` for one member: null when it passes. */
function checkOne(job: MemberJob): Promise<CheckFailure | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FLYVIS_BIN, ...job.checkArgv()], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-(1 << 16))));
    child.on('error', (e) => resolve({ id: job.id, code: null, message: `could not start its check: ${e.message}` }));
    child.on('close', (code, signal) => {
      if (code === 0) resolve(null);
      else resolve({ id: job.id, code, message: errorLine(stderr) || (signal !== null ? `its check was killed by ${signal}` : `its check exited with code ${code}`) });
    });
  });
}

/**
 * Checks the members, `concurrency` at a time; after a failure no more checks start. Returns the
 * failure of the first member (in member order) among those that failed, or null when all pass.
 */
export async function checkMembers(jobs: readonly MemberJob[], concurrency: number): Promise<CheckFailure | null> {
  const failures: CheckFailure[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (failures.length === 0 && next < jobs.length) {
      const f = await checkOne(jobs[next++]!);
      if (f !== null) failures.push(f);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, lane));
  const order = new Map(jobs.map((j, k) => [j.id, k]));
  return failures.sort((a, b) => order.get(a.id)! - order.get(b.id)!)[0] ?? null;
}
