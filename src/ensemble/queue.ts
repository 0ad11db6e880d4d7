// Ensembles through a Redis-backed job queue (BullMQ): each member is one job, added with a job id
// made of the ensemble directory and the member (adding it again is a no-op, so a member is
// queued once however often the ensemble is submitted). `flyvis worker` processes on any machine
// that sees the ensemble directory take jobs, run the member command as the local pool does, and
// report its iteration and loss as the job's progress. A worker that dies loses its job's lock; the
// job is detected as stalled and another worker takes it, resuming the member from its last
// checkpoint (its claim and the member's own files say where it stopped). Redis URLs may carry a
// user and password (redis://user:pass@host:port/db) and use TLS (rediss://); they are never
// printed (displayQueue masks the password) nor written into results.
import { createHash } from 'node:crypto';
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { appendFileSync } from 'node:fs';
import { BEAT_MS, type Claim, type HeldClaim, claimLive, claimMember, logFile, memberState, stateDir } from './claims.ts';
import { type EnsembleSpec, fitJob, trainJob } from './jobs.ts';
import { errorLine, spawnMember } from './pool.ts';
import { type RedisTarget, QueueConnectError, connectionOptions } from './queue-url.ts';

export const QUEUE_NAME = 'flyvis-ensemble';

/** What a member's job carries: enough to run the member anywhere the ensemble directory is seen. */
export interface MemberJobData {
  readonly ensembleDir: string;
  readonly id: string;
  readonly index: number;
  readonly members: number;
  readonly spec: EnsembleSpec;
  readonly network: Record<string, unknown>;
}

/** The job id of a member: the ensemble directory's digest and the member id. */
export const memberJobId = (ensembleDir: string, id: string): string => `${createHash('sha256').update(ensembleDir).digest('hex').slice(0, 16)}-${id}`;

export const openQueue = (t: RedisTarget): Queue => new Queue(QUEUE_NAME, { connection: connectionOptions(t) });

/**
 * Connects to the server once, without retrying (the queue's own connections retry for ever, to
 * outlive a Redis restart): an unreachable server, a refused password or a failed TLS handshake
 * is one line naming --queue (QueueConnectError) before anything is queued or written.
 */
export async function checkConnection(t: RedisTarget, timeoutMs = 10_000): Promise<void> {
  const client = new Redis({ ...connectionOptions(t), retryStrategy: () => null, maxRetriesPerRequest: 0, lazyConnect: true, connectTimeout: timeoutMs });
  let lastError: Error | null = null;
  client.on('error', (e: Error) => (lastError = e));
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    const err = lastError ?? (e instanceof Error ? e : new Error(String(e)));
    throw new QueueConnectError(`--queue ${t.display}: cannot use the Redis server: ${(t.password === undefined ? err.message : err.message.split(t.password).join('***'))}`);
  } finally {
    client.disconnect();
  }
}

/** Where the members' jobs are, by member id: state, progress and error. */
export interface QueuedMember {
  readonly id: string;
  readonly state: string;
  readonly attempts: number;
  readonly progress: { iteration?: string; loss?: number; worker?: string } | null;
  readonly error: string | null;
  /** When the job was added, a worker last took it, and it finished (ms since 1970; null: not yet). */
  readonly queuedAt: number | null;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
}

/**
 * What submitting would do with each member not done yet: add its job (none yet), retry it (its
 * job failed: cancelled, or the member failed and `retryFailed`), or replace it (a completed job
 * of an earlier ensemble in the same directory). Members whose jobs wait, run or failed for good
 * are left out: submitting again adds nothing for them.
 */
export async function queuePlan(queue: Queue, datas: readonly MemberJobData[], retryFailed: boolean): Promise<{ data: MemberJobData; action: 'add' | 'retry' | 'replace' }[]> {
  const plan: { data: MemberJobData; action: 'add' | 'retry' | 'replace' }[] = [];
  for (const d of datas) {
    const member = memberState(d.ensembleDir, d.id).state;
    if (member === 'done') continue;
    const existing = await queue.getJob(memberJobId(d.ensembleDir, d.id));
    if (existing === undefined) {
      plan.push({ data: d, action: 'add' });
      continue;
    }
    const state = await existing.getState();
    // A cancelled member's job failed without the member failing: submitting again continues it.
    if (state === 'failed' && (retryFailed || member !== 'failed')) plan.push({ data: d, action: 'retry' });
    else if (state === 'completed') plan.push({ data: d, action: 'replace' });
  }
  return plan;
}

/**
 * Adds the members' jobs as queuePlan says, with `attempts` tries each (1 s apart). Returns the
 * ids of the members queued by this call.
 */
export async function enqueueMembers(queue: Queue, datas: readonly MemberJobData[], attempts: number, retryFailed: boolean): Promise<string[]> {
  const queued: string[] = [];
  for (const { data: d, action } of await queuePlan(queue, datas, retryFailed)) {
    const jobId = memberJobId(d.ensembleDir, d.id);
    if (action === 'retry') await (await queue.getJob(jobId))?.retry('failed');
    else {
      if (action === 'replace') await (await queue.getJob(jobId))?.remove();
      await queue.add('member', d, { jobId, attempts, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: false, removeOnFail: false });
    }
    queued.push(d.id);
  }
  return queued;
}

/** The queue's view of each member of an ensemble. */
export async function queuedMembers(queue: Queue, ensembleDir: string, ids: readonly string[]): Promise<QueuedMember[]> {
  return Promise.all(
    ids.map(async (id): Promise<QueuedMember> => {
      const job = await queue.getJob(memberJobId(ensembleDir, id));
      if (job === undefined) return { id, state: 'not queued', attempts: 0, progress: null, error: null, queuedAt: null, startedAt: null, finishedAt: null };
      const state = await job.getState();
      const progress = typeof job.progress === 'object' && job.progress !== null ? (job.progress as QueuedMember['progress']) : null;
      const time = (t: number | undefined): number | null => (typeof t === 'number' && t > 0 ? t : null);
      return {
        id,
        state,
        attempts: job.attemptsMade,
        progress,
        error: job.failedReason === '' || job.failedReason === undefined ? null : job.failedReason,
        queuedAt: time(job.timestamp),
        startedAt: time(job.processedOn),
        finishedAt: time(job.finishedOn),
      };
    }),
  );
}

/** The cancel marker: workers stop the ensemble's running members (keeping their checkpoints) and take no more of its jobs. */
export const cancelFile = (ensembleDir: string): string => join(stateDir(ensembleDir), 'cancel');

/** Removes the ensemble's waiting jobs and asks workers to stop its running members. Returns the ids removed and those stopping. */
export async function cancelMembers(queue: Queue, ensembleDir: string, ids: readonly string[]): Promise<{ removed: string[]; stopping: string[] }> {
  writeFileSync(cancelFile(ensembleDir), `${new Date().toISOString()}\n`);
  const removed: string[] = [];
  const stopping: string[] = [];
  for (const id of ids) {
    const job = await queue.getJob(memberJobId(ensembleDir, id));
    if (job === undefined) continue;
    const state = await job.getState();
    if (state === 'active') stopping.push(id);
    else if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') {
      await job.remove();
      removed.push(id);
    }
  }
  return { removed, stopping };
}

/** Lets the ensemble's jobs run again after a cancel. */
export function clearCancel(ensembleDir: string): void {
  try {
    unlinkSync(cancelFile(ensembleDir));
  } catch {
    // none
  }
}

export interface WorkerOptions {
  readonly concurrency: number;
  /** How long a job's lock lasts without renewal: a dead worker's job returns to the queue after about this long. */
  readonly lockMs: number;
  readonly log: (line: string) => void;
}

export interface WorkerHandle {
  /** Interrupts the running members (each saves its checkpoint) and closes the connection; their jobs return to the queue as stalled. */
  stop(): Promise<void>;
  readonly worker: Worker;
}

/** How long a claim from another host must keep the same heartbeat to count as a dead machine's. */
export const STALE_CLAIM_MS = 5 * BEAT_MS;

/**
 * Takes the claim on a member the queue gave this worker. A job the queue hands out again (its
 * worker died, or lost its lock while its member still runs) finds the member's claim held: on
 * this host the claim is taken over once its processes have exited; from another host, once its
 * heartbeat has stood still for STALE_CLAIM_MS (a dead machine). Until then the job waits, so a
 * member never runs twice at once. A member that has failed already (its job was handed out again
 * after its last attempt) is not run again: the job fails with the member's recorded error.
 */
export async function claimForJob(d: Pick<MemberJobData, 'ensembleDir' | 'id'>, staleMs = STALE_CLAIM_MS): Promise<HeldClaim | null> {
  let seen: { key: string; beat: number; since: number } | null = null;
  const stale = (held: Claim): boolean => {
    if (held.host === hostname()) return !claimLive(held);
    const key = `${held.host}:${held.pid}:${held.started}`;
    const beat = held.beat ?? 0;
    const now = performance.now();
    if (seen === null || seen.key !== key || seen.beat !== beat) {
      seen = { key, beat, since: now };
      return false;
    }
    return now - seen.since > staleMs;
  };
  for (;;) {
    const claim = claimMember(d.ensembleDir, d.id, false, stale);
    if (claim !== null) return claim;
    const s = memberState(d.ensembleDir, d.id);
    if (s.state === 'done') return null;
    if (s.state === 'failed') throw new UnrecoverableError(s.error);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function startWorker(target: RedisTarget, options: WorkerOptions): WorkerHandle {
  const children = new Set<ReturnType<typeof spawnMember>>();
  let stopping = false;
  const who = `${hostname()}:${process.pid}`;
  const processor = async (job: Job<MemberJobData>): Promise<Record<string, unknown>> => {
    const d = job.data;
    if (existsSync(cancelFile(d.ensembleDir))) throw new UnrecoverableError('cancelled (flyvis ensemble cancel)');
    const before = memberState(d.ensembleDir, d.id);
    if (before.state === 'done') return before.summary; // counted once: its results exist
    const claim = await claimForJob(d);
    if (claim === null) return (memberState(d.ensembleDir, d.id) as { summary: Record<string, unknown> }).summary;
    // Which worker runs the member, from its start (`ensemble status --queue` shows it, also once the job is finished).
    await job.updateProgress({ worker: who }).catch(() => undefined);
    const member = d.spec.command === 'fit' ? fitJob(d.ensembleDir, d.id, d.index, d.spec, d.network) : trainJob(d.ensembleDir, d.id, d.index, d.spec);
    const argv = member.argv();
    const log = logFile(d.ensembleDir, d.id);
    const attempt = job.attemptsMade + 1;
    appendFileSync(log, `--- attempt ${attempt} at ${new Date().toISOString()} on ${who}: flyvis ${argv.join(' ')}\n`);
    options.log(`member ${d.id} of ${d.ensembleDir}: attempt ${attempt}`);
    const child = spawnMember(argv);
    children.add(child);
    if (child.pid !== undefined) claim.setChild(child.pid);
    let stdout = '';
    let stderr = '';
    let cancelled = false;
    let lastReport = 0;
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      stderr = (stderr + s).slice(-(1 << 19));
      appendFileSync(log, s);
      const m = [...s.matchAll(/\biter\s+(\d+)\s*\/\s*(\d+)\s+loss\s+(\S+)/g)].at(-1);
      const now = performance.now();
      if (m !== undefined && now - lastReport > 500) {
        lastReport = now;
        void job.updateProgress({ iteration: `${m[1]}/${m[2]}`, loss: Number(m[3]), worker: who }).catch(() => undefined);
        if (!cancelled && existsSync(cancelFile(d.ensembleDir))) {
          cancelled = true;
          child.kill('SIGINT');
        }
      }
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    children.delete(child);
    if (stopping) {
      claim.release();
      // The worker is stopping: leave the job active; its lock lapses and another worker resumes it.
      return new Promise<never>(() => undefined);
    }
    if (code === 0) {
      const summary = await member.finish(stdout);
      claim.done(summary);
      options.log(`member ${d.id} of ${d.ensembleDir}: done`);
      return summary;
    }
    const message = signal !== null ? `killed by ${signal}` : errorLine(stderr) || `exited with code ${code}`;
    if (cancelled) {
      claim.release();
      throw new UnrecoverableError('cancelled (flyvis ensemble cancel); its checkpoint is kept');
    }
    if (code === 2) {
      claim.failed(message, attempt);
      throw new UnrecoverableError(message);
    }
    if (attempt >= (job.opts.attempts ?? 1)) claim.failed(message, attempt);
    else claim.release();
    options.log(`member ${d.id} of ${d.ensembleDir}: attempt ${attempt} failed: ${message}`);
    throw new Error(message);
  };
  const worker = new Worker<MemberJobData>(QUEUE_NAME, processor, {
    connection: connectionOptions(target),
    concurrency: options.concurrency,
    lockDuration: options.lockMs,
    stalledInterval: Math.max(1000, Math.round(options.lockMs / 2)),
    // A worker stopped or killed is not the member's fault: its job is resumed elsewhere many times over.
    maxStalledCount: 100,
  });
  worker.on('error', (e) => options.log(`queue: ${e.message}`));
  return {
    worker,
    async stop() {
      stopping = true;
      const exits = [...children].map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.on('close', r))));
      for (const c of children) c.kill('SIGINT');
      await Promise.all(exits);
      await worker.close(true).catch(() => undefined);
    },
  };
}
