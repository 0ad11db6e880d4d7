// `flyvis ensemble fit|train --out ENSEMBLE_DIR --members N [--jobs J] [--seed S] [MEMBER OPTIONS]`
// `flyvis ensemble status ENSEMBLE_DIR [--json]`
//
// Trains or fits an ensemble: member k is one `flyvis fit` or `flyvis train` run (seed S + k;
// `{member}` in an option's value becomes the member's id, e.g. --params inits/{member}.json),
// written to ENSEMBLE_DIR/000, 001, ... as flyvis network directories beside an EnsembleDir
// _meta.yaml, so loadEnsembleDir and `analyze --ensemble` read the result. Members run on this
// machine as child processes, --jobs at a time (default one per core), with one progress display.
// Each member is claimed exactly once (src/ensemble/claims.ts): running the command again (or on
// another machine sharing the directory) skips finished members and resumes interrupted ones from
// their checkpoints. A member that fails is retried once from its checkpoint (--retries), then
// recorded with its error while the rest finish. Ctrl-C interrupts every running member (each
// saves its checkpoint) and exits 130. Bad input (the member command refusing its options before
// any member finished) is one line naming the flag, exit 2, and the new directory is removed.
// With --queue URL the members are jobs for `flyvis worker`s (src/ensemble/queue.ts); before
// anything is queued or written, the server is reached once and every member's options are
// checked by its own command with --check (src/ensemble/check.ts): a refusal is one line naming
// the member and its option, exit 2.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { connectomeDataDir, connectomeFileOf } from '../graph/paths.ts';
import { onInterrupt } from '../io/interrupt.ts';
import { Network } from '../network/network.ts';
import { readMeta } from '../results/meta.ts';
import { STATE_DIR, type MemberState, claimLive, clearFailed, logFile, memberId, memberState, readSpec, writeSpec } from '../ensemble/claims.ts';
import { checkMembers, membersToCheck } from '../ensemble/check.ts';
import { type EnsembleCommand, type EnsembleSpec, fitJob, memberArgs, trainJob } from '../ensemble/jobs.ts';
import { type MemberJob, runPool } from '../ensemble/pool.ts';
import type { MemberJobData, QueuedMember } from '../ensemble/queue.ts';
import type { Queue } from 'bullmq';
import { type RedisTarget, QueueConnectError, QueueDependencyError, QueueUrlError, loadQueue, parseQueueUrl } from '../ensemble/queue-url.ts';
import { formatDuration } from '../train/progress.ts';
import { type OptionSpecs, UsageError, formatHelp, parseArgs, runCommand, setInterruptNote } from './args.ts';
import { BAD_INPUT, connectomeFromOptions } from './common.ts';

const RUN_OPTIONS = {
  out: { type: 'string', metavar: 'ENSEMBLE_DIR', help: 'the ensemble directory (members 000, 001, ... inside); an existing one of the same command continues' },
  members: { type: 'integer', metavar: 'N', min: 1, max: 100000, help: 'number of members' },
  jobs: { type: 'integer', metavar: 'J', min: 1, help: 'members run at once on this machine (default: one per core)' },
  seed: { type: 'integer', metavar: 'S', min: 0, default: 0, help: "member k runs with --seed S + k" },
  retries: { type: 'integer', metavar: 'R', min: 0, default: 1, help: 'extra attempts, from its checkpoint, for a member that fails or dies' },
  'retry-failed': { type: 'boolean', help: 'run members recorded as failed again' },
  queue: { type: 'string', metavar: 'URL', help: 'enqueue the members in Redis (redis://[USER:PASSWORD@]HOST:PORT[/DB], rediss:// for TLS) for `flyvis worker`s, and return' },
  wait: { type: 'boolean', help: 'with --queue: follow the ensemble until every member is done or failed (Ctrl-C stops following, not the work)' },
} as const satisfies OptionSpecs;

const STATUS_OPTIONS = {
  json: { type: 'boolean', help: 'one JSON object per member instead of a table' },
  queue: { type: 'string', metavar: 'URL', help: "also show each member's job in this Redis queue (state, attempts, worker)" },
} as const satisfies OptionSpecs;

const CANCEL_OPTIONS = {
  queue: { type: 'string', metavar: 'URL', help: 'the Redis queue the ensemble was submitted to' },
} as const satisfies OptionSpecs;

const USAGE = `usage: flyvis ensemble fit|train --out ENSEMBLE_DIR --members N [--jobs J | --queue URL [--wait]] [--seed S] [MEMBER OPTIONS]
       flyvis ensemble status ENSEMBLE_DIR [--queue URL] [--json]
       flyvis ensemble cancel ENSEMBLE_DIR --queue URL
       flyvis ensemble analyze flashes|moving-edges ENSEMBLE_DIR --out DIR [analyze options]`;

const SUMMARY =
  'Runs an ensemble: member k is one `flyvis fit` / `flyvis train` run with --seed S + k, in\n' +
  'ENSEMBLE_DIR/000, 001, ... (flyvis network directories). Every other option goes to the member\n' +
  'command ({member} in a value becomes the member id). Members run as child processes, each claimed\n' +
  'once; running the command again continues: finished members are skipped, interrupted ones resume\n' +
  'from their checkpoints. The last stdout line is {"ensemble", "members", "done", "failed", ...}.';

/** Splits argv into the ensemble's own flags and the member command's. */
function splitArgs(argv: readonly string[], own: OptionSpecs): { mine: string[]; member: string[] } {
  const mine: string[] = [];
  const member: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.startsWith('--') ? a.slice(2).split('=')[0]! : '';
    if (a === '--help' || a === '-h' || (name !== '' && Object.prototype.hasOwnProperty.call(own, name))) {
      mine.push(a);
      const spec = own[name];
      if (spec !== undefined && spec.type !== 'boolean' && !a.includes('=') && i + 1 < argv.length) mine.push(argv[++i]!);
    } else member.push(a);
  }
  return { mine, member };
}

/** The value of --flag in a member command's options (last given), or undefined. */
function flagValue(args: readonly string[], flag: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${flag}`) value = args[i + 1];
    else if (args[i]!.startsWith(`--${flag}=`)) value = args[i]!.slice(flag.length + 3);
  }
  return value;
}

/** flyvis's network config of a fit's network (as train writes it), from the member options' connectome flags. */
function fitNetworkConfig(args: readonly string[]): Record<string, unknown> {
  const num = (flag: string, fallback: number): number => {
    const text = flagValue(args, flag);
    if (text === undefined) return fallback;
    const v = Number(text);
    if (!Number.isFinite(v) || v < 0) throw new UsageError(`--${flag}: expected a non-negative number, got '${text}'`);
    return v;
  };
  const o = { connectome: flagValue(args, 'connectome'), extent: num('extent', 15), 'n-syn-fill': num('n-syn-fill', 1) };
  const net = Network.fromConnectome(connectomeFromOptions(o));
  const file = connectomeFileOf(o.connectome);
  return {
    ...net.config,
    connectome: {
      type: 'ConnectomeFromAvgFilters',
      file: dirname(file) === resolve(connectomeDataDir) ? basename(file) : file,
      extent: o.extent,
      n_syn_fill: o['n-syn-fill'],
    },
  };
}

const sameSpec = (a: Record<string, unknown>, b: EnsembleSpec): boolean =>
  a.command === b.command && a.seed === b.seed && JSON.stringify(a.args) === JSON.stringify(b.args);

async function runEnsemble(command: EnsembleCommand, argv: readonly string[]): Promise<number> {
  const { mine, member } = splitArgs(argv, RUN_OPTIONS);
  const { options: o, help } = parseArgs(mine, RUN_OPTIONS);
  if (help) {
    process.stdout.write(formatHelp(`ensemble ${command}`, SUMMARY, RUN_OPTIONS));
    return 0;
  }
  if (o.out === undefined) throw new UsageError('--out is required (the ensemble directory)');
  if (o.members === undefined) throw new UsageError('--members is required (how many networks)');
  for (const flag of ['resume', 'force']) {
    if (member.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`))) {
      throw new UsageError(`--${flag}: the ensemble decides it per member (finished members are skipped, interrupted ones resume); leave it out`);
    }
  }
  if (member.some((a) => a === '--check' || a.startsWith('--check='))) {
    throw new UsageError("--check: the ensemble checks every member's options itself before queueing them (--queue); leave it out");
  }
  if (o.out.trim() === '') throw new UsageError("--out: expected a directory, got ''");
  const dir = resolve(o.out);
  const spec: EnsembleSpec = { command, seed: o.seed, args: member };
  const existed = existsSync(dir);
  if (existed) {
    if (!statSync(dir).isDirectory()) throw new UsageError(`--out ${o.out}: is a file, expected an ensemble directory`);
    const recorded = readSpec(dir);
    const meta = readMeta(dir);
    if (recorded === null) {
      if (meta !== null || readdirSync(dir).length > 0) {
        throw new UsageError(`--out ${o.out}: exists and is not an ensemble this command started (no ${STATE_DIR}/spec.json); choose a new or empty directory`);
      }
    } else if (!sameSpec(recorded, spec)) {
      throw new UsageError(
        `--out ${o.out}: holds an ensemble of 'flyvis ${String(recorded.command)} ${(recorded.args as string[]).join(' ')}' with --seed ${String(recorded.seed)}; ` +
          'continue it with the same options, or choose another directory',
      );
    }
  } else if (!existsSync(dirname(dir))) {
    // Created with the ensemble; refused early when a parent is a file.
    let p = dirname(dir);
    while (!existsSync(p)) p = dirname(p);
    if (!statSync(p).isDirectory()) throw new UsageError(`--out ${o.out}: ${p} is a file, expected a folder`);
  }
  const target = o.queue === undefined ? null : parseQueueUrl(o.queue);
  if (o.wait && target === null) throw new UsageError('--wait: applies with --queue only (the local pool always waits)');
  if (o.jobs !== undefined && target !== null) throw new UsageError('--jobs: applies to the local pool; with --queue, each worker has --concurrency');
  const network = command === 'fit' ? fitNetworkConfig(member) : {};
  const ids = Array.from({ length: o.members }, (_, k) => memberId(k, o.members!));
  const before = new Set(ids.filter((id) => existsSync(join(dir, id))));
  const jobs: MemberJob[] = ids.map((id, k) => (command === 'fit' ? fitJob(dir, id, k, spec, network) : trainJob(dir, id, k, spec)));

  const created = (): void => {
    mkdirSync(dir, { recursive: true });
    writeSpec(dir, { ...spec, members: o.members });
    if (readMeta(dir) === null) writeFileSync(join(dir, '_meta.yaml'), `${JSON.stringify({ config: { type: 'EnsembleDir', description: `flyvis-ts ensemble ${command}` }, status: 'done' })}\n`);
  };
  if (target !== null) {
    // Queued members run later elsewhere: the server and the options of every member this call
    // will queue are checked now, before anything is queued or written (the local pool's members
    // check themselves as they start).
    const q = await loadQueue();
    await q.checkConnection(target);
    const queue = q.openQueue(target);
    try {
      await queue.waitUntilReady();
      const datas: MemberJobData[] = ids.map((id, index) => ({ ensembleDir: dir, id, index, members: ids.length, spec, network }));
      const toQueue = new Set((await q.queuePlan(queue, datas, o['retry-failed'])).map((p) => p.data.id));
      const toCheck = membersToCheck(jobs.filter((j) => toQueue.has(j.id)), dir, (id) => memberArgs(member, id), o['retry-failed']);
      const failure = await checkMembers(toCheck, availableParallelism());
      if (failure !== null) {
        const message = `member ${failure.id}: ${failure.message.replace(/^flyvis \S+: /, '')}`;
        if (failure.code === 2) throw new UsageError(message);
        throw new Error(`checking ${message}`);
      }
      created();
      return await submit(command, o.out, dir, ids, datas, queue, target, o.retries + 1, o['retry-failed'], o.wait);
    } finally {
      await queue.close().catch(() => undefined);
    }
  }
  created();
  const alreadyDone = ids.filter((id) => memberState(dir, id).state === 'done').length;
  const concurrency = Math.min(o.jobs ?? availableParallelism(), o.members);
  setInterruptNote(`finished members and the checkpoints of running ones are kept in ${o.out}`);

  const pool = runPool(jobs, {
    ensembleDir: dir,
    concurrency,
    retries: o.retries,
    retryFailed: o['retry-failed'],
    label: `flyvis ensemble ${command}`,
    intro: `flyvis ensemble ${command}: ${o.members} members in ${o.out} (${alreadyDone} done already), ${concurrency} at a time; member logs in ${join(o.out, STATE_DIR)}`,
    holdUntilProgress: true,
    // Bad input for the first member to finish is bad input for the command: every member has the same options.
    onBadInput: () => !ids.some((id) => memberState(dir, id).state === 'done'),
  });
  const release = onInterrupt(() => pool.stop());
  let r;
  try {
    r = await pool.result;
  } finally {
    release();
  }
  if (r.badInput !== null) {
    if (!existed) rmSync(dir, { recursive: true, force: true });
    else for (const id of ids) if (!before.has(id)) rmSync(join(dir, id), { recursive: true, force: true });
    throw new UsageError(`member ${r.badInput.id}: ${r.badInput.message.replace(/^flyvis \S+: /, '')}`);
  }
  const states = ids.map((id) => memberState(dir, id));
  const summary = {
    ensemble: dir,
    members: o.members,
    done: states.filter((s) => s.state === 'done').length,
    failed: ids.flatMap((id, k) => (states[k]!.state === 'failed' ? [{ member: id, error: (states[k] as { error: string }).error }] : [])),
    running_elsewhere: ids.filter((_, k) => states[k]!.state === 'running'),
    finished_now: r.finishedHere.length,
  };
  if (r.interrupted) {
    process.stdout.write(`${JSON.stringify({ ...summary, status: 'interrupted' })}\n`);
    process.stderr.write(`flyvis ensemble ${command}: interrupted; ${summary.done} of ${o.members} members done, the checkpoints of the others are kept in ${o.out} (run the same command again to continue)\n`);
    return 130;
  }
  const status = summary.failed.length > 0 ? 'failed' : summary.done === o.members ? 'done' : 'incomplete';
  process.stdout.write(`${JSON.stringify({ ...summary, status })}\n`);
  if (summary.failed.length > 0) {
    throw new Error(
      `${summary.failed.length} of ${o.members} members failed (${summary.failed.map((f) => `${f.member}: ${f.error}`).join('; ')}); ` +
        `the other ${summary.done} are done; run again with --retry-failed to retry them`,
    );
  }
  if (summary.running_elsewhere.length > 0) {
    process.stderr.write(`flyvis ensemble ${command}: members ${summary.running_elsewhere.join(', ')} are run by another process; the rest are done\n`);
  } else process.stderr.write(`flyvis ensemble ${command}: all ${o.members} members done in ${o.out}\n`);
  return 0;
}

/** --queue: enqueues the members (not done yet) on the open queue and returns, or follows them with --wait. */
async function submit(
  command: EnsembleCommand,
  given: string,
  dir: string,
  ids: readonly string[],
  datas: readonly MemberJobData[],
  queue: Queue,
  target: RedisTarget,
  attempts: number,
  retryFailed: boolean,
  wait: boolean,
): Promise<number> {
  const label = `flyvis ensemble ${command}`;
  const { clearCancel, enqueueMembers, queuedMembers } = await loadQueue();
  clearCancel(dir);
  if (retryFailed) for (const id of ids) if (memberState(dir, id).state === 'failed') clearFailed(dir, id);
  const queued = await enqueueMembers(queue, datas, attempts, retryFailed);
  const done = ids.filter((id) => memberState(dir, id).state === 'done').length;
  process.stderr.write(`${label}: queued ${queued.length} of ${ids.length} members of ${given} in ${target.display} (${done} done already); run 'flyvis worker --queue URL' where ${given} is visible\n`);
  if (!wait) {
    process.stdout.write(`${JSON.stringify({ ensemble: dir, members: ids.length, queued, done, queue: target.display, status: 'queued' })}\n`);
    return 0;
  }
  setInterruptNote(`the queued members go on running on the workers (stop them with 'flyvis ensemble cancel ${given} --queue URL')`);
  let stop = false;
  const release = onInterrupt(() => (stop = true));
  const started = performance.now();
  let last = '';
  let lastAt = -Infinity;
  try {
    for (;;) {
      const states = ids.map((id) => memberState(dir, id));
      const finished = states.filter((s) => s.state === 'done').length;
      const failed = states.filter((s) => s.state === 'failed').length;
      const jobs = await queuedMembers(queue, dir, ids);
      const running = jobs.filter((j) => j.state === 'active');
      const fraction = (finished + running.reduce((f, j) => f + progressFraction(j.progress?.iteration), 0)) / Math.max(1, ids.length - failed);
      const elapsed = (performance.now() - started) / 1000;
      const line =
        `${label}: ${finished}/${ids.length} done, ${running.length} running${running.length > 0 ? ` (${running.map((j) => `${j.id}${j.progress?.iteration ? ` ${j.progress.iteration}` : ''}`).join(', ')})` : ''}, ` +
        `${failed} failed; left ${formatDuration(fraction > 0 && fraction < 1 ? (elapsed * (1 - fraction)) / fraction : fraction >= 1 ? 0 : NaN)}`;
      if (line !== last && performance.now() - lastAt > 1000) {
        process.stderr.write(`${line}\n`);
        last = line;
        lastAt = performance.now();
      }
      if (finished + failed === ids.length) {
        const failures = ids.flatMap((id, k) => (states[k]!.state === 'failed' ? [{ member: id, error: (states[k] as { error: string }).error }] : []));
        process.stdout.write(`${JSON.stringify({ ensemble: dir, members: ids.length, done: finished, failed: failures, queue: target.display, status: failures.length > 0 ? 'failed' : 'done' })}\n`);
        if (failures.length > 0) throw new Error(`${failures.length} of ${ids.length} members failed (${failures.map((f) => `${f.member}: ${f.error}`).join('; ')})`);
        process.stderr.write(`${label}: all ${ids.length} members done in ${given}\n`);
        return 0;
      }
      if (stop) {
        process.stderr.write(`${label}: stopped following; the queued members go on running on the workers (stop them with 'flyvis ensemble cancel ${given} --queue URL')\n`);
        return 130;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    release();
  }
}

const progressFraction = (iteration: string | undefined): number => {
  const m = iteration === undefined ? null : /^(\d+)\/(\d+)$/.exec(iteration);
  return m === null || Number(m[2]) === 0 ? 0 : Number(m[1]) / Number(m[2]);
};

async function cancel(argv: readonly string[]): Promise<number> {
  const { options: o, positionals, help } = parseArgs(argv, CANCEL_OPTIONS, { maxPositionals: 1 });
  if (help) {
    process.stdout.write(formatHelp('ensemble cancel ENSEMBLE_DIR', "Removes an ensemble's queued members from the Redis queue and stops its running ones (each keeps its checkpoint).", CANCEL_OPTIONS));
    return 0;
  }
  const given = positionals[0];
  if (given === undefined) throw new UsageError('ENSEMBLE_DIR is required');
  if (o.queue === undefined) throw new UsageError('--queue is required (the Redis queue the ensemble was submitted to)');
  const target = parseQueueUrl(o.queue);
  const dir = resolve(given);
  const spec = readSpec(dir);
  if (spec === null) throw new UsageError(`${given}: not an ensemble started by 'flyvis ensemble' (no ${STATE_DIR}/spec.json)`);
  const n = Number(spec.members);
  const { cancelMembers, checkConnection, openQueue } = await loadQueue();
  await checkConnection(target);
  const queue = openQueue(target);
  try {
    await queue.waitUntilReady();
    const { removed, stopping } = await cancelMembers(queue, dir, Array.from({ length: n }, (_, k) => memberId(k, n)));
    process.stdout.write(`${JSON.stringify({ ensemble: dir, removed, stopping })}\n`);
    process.stderr.write(
      `flyvis ensemble cancel: removed ${removed.length} queued members of ${given}; ${stopping.length} running ones stop at their next progress report, keeping their checkpoints ` +
        `(submit the ensemble again to continue)\n`,
    );
    return 0;
  } finally {
    await queue.close().catch(() => undefined);
  }
}

/**
 * `ensemble analyze KIND ENSEMBLE_DIR [options]`: `flyvis analyze KIND --ensemble ENSEMBLE_DIR
 * [options]` (every member in parallel worker threads on this machine, ensemble summaries).
 */
async function analyze(argv: readonly string[]): Promise<number> {
  const [kind, dir, ...rest] = argv;
  if (kind === '--help' || kind === '-h' || kind === undefined) {
    process.stdout.write(`usage: flyvis ensemble analyze flashes|moving-edges ENSEMBLE_DIR --out DIR [options of 'flyvis analyze']\n\nAnalyses every member of the ensemble: 'flyvis analyze KIND --ensemble ENSEMBLE_DIR' (see 'flyvis analyze --help').\n`);
    return kind === undefined ? 2 : 0;
  }
  if (kind !== 'flashes' && kind !== 'moving-edges') throw new UsageError(`expected flashes or moving-edges, got '${kind}'`);
  if (dir === undefined || dir.startsWith('-')) throw new UsageError(`${kind}: ENSEMBLE_DIR is required`);
  if (rest.some((a) => a === '--ensemble' || a.startsWith('--ensemble='))) throw new UsageError('--ensemble: the ensemble is ENSEMBLE_DIR; leave --ensemble out');
  return (await import('./analyze.ts')).run([kind, '--ensemble', dir, ...rest]);
}

/** The last progress line of a member's log: iteration and loss. */
function lastProgress(ensembleDir: string, id: string): { iteration: string | null; loss: number | null } {
  let text: string;
  try {
    text = readFileSync(logFile(ensembleDir, id), 'utf8');
  } catch {
    return { iteration: null, loss: null };
  }
  const lines = text.split(/[\r\n]+/).filter((l) => /\biter\s+\d+\s*\/\s*\d+/.test(l));
  const line = lines.at(-1);
  if (line === undefined) return { iteration: null, loss: null };
  const it = /\biter\s+(\d+\s*\/\s*\d+)/.exec(line)![1]!.replace(/\s+/g, '');
  const loss = /\bloss\s+(\S+)/.exec(line);
  return { iteration: it, loss: loss === null ? null : Number(loss[1]) };
}

function describe(s: MemberState): { state: string; worker: string | null; error: string | null } {
  if (s.state === 'running') return { state: claimLive(s.claim) ? 'running' : 'stopped', worker: `${s.claim.host}:${s.claim.child ?? s.claim.pid}`, error: null };
  if (s.state === 'failed') return { state: 'failed', worker: null, error: s.error };
  return { state: s.state, worker: null, error: null };
}

async function status(argv: readonly string[]): Promise<number> {
  const { options: o, positionals, help } = parseArgs(argv, STATUS_OPTIONS, { maxPositionals: 1 });
  if (help) {
    process.stdout.write(formatHelp('ensemble status ENSEMBLE_DIR', 'Shows each member of an ensemble this command runs: state, iteration, loss and worker.', STATUS_OPTIONS));
    return 0;
  }
  const given = positionals[0];
  if (given === undefined) throw new UsageError('ENSEMBLE_DIR is required');
  const dir = resolve(given);
  const spec = readSpec(dir);
  if (spec === null) throw new UsageError(`${given}: not an ensemble started by 'flyvis ensemble' (no ${STATE_DIR}/spec.json)`);
  const n = Number(spec.members);
  const target = o.queue === undefined ? null : parseQueueUrl(o.queue);
  const ids = Array.from({ length: n }, (_, k) => memberId(k, n));
  let jobs: QueuedMember[] | null = null;
  if (target !== null) {
    const { checkConnection, openQueue, queuedMembers } = await loadQueue();
    await checkConnection(target);
    const queue = openQueue(target);
    try {
      await queue.waitUntilReady();
      jobs = await queuedMembers(queue, dir, ids);
    } finally {
      await queue.close().catch(() => undefined);
    }
  }
  const rows = ids.map((id, k) => {
    const s = memberState(dir, id);
    const p = lastProgress(dir, id);
    const loss = s.state === 'done' && typeof s.summary.final_loss === 'number' ? s.summary.final_loss : p.loss;
    const row = { member: id, ...describe(s), iteration: p.iteration, loss };
    const j = jobs?.[k];
    if (j === undefined) return row;
    // A member the queue runs: the job's state beside the member's, the worker that runs (or ran) it,
    // when it was queued, last taken by a worker and finished.
    const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
    return {
      ...row,
      job: j.state,
      attempts: j.attempts,
      worker: j.state === 'waiting' || j.state === 'delayed' ? row.worker : j.progress?.worker ?? row.worker,
      error: row.error ?? j.error,
      queued_at: iso(j.queuedAt),
      started_at: iso(j.startedAt),
      finished_at: iso(j.finishedAt),
    };
  });
  if (o.json) {
    for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
    return 0;
  }
  const counts = ['done', 'running', 'failed', 'pending', 'stopped'].map((k) => [k, rows.filter((r) => r.state === k).length] as const).filter(([, c]) => c > 0);
  process.stdout.write(`${given}: flyvis ${String(spec.command)}, ${n} members: ${counts.map(([k, c]) => `${c} ${k}`).join(', ')}\n`);
  for (const r of rows) {
    process.stdout.write(
      `${r.member}  ${r.state.padEnd(7)}  iter ${(r.iteration ?? '-').padEnd(11)}  loss ${r.loss === null ? '-' : r.loss.toExponential(4)}` +
        `${'job' in r ? `  job ${r.job} (${r.attempts} attempts)` : ''}` +
        `${r.worker !== null ? `  worker ${r.worker}` : ''}${r.error !== null ? `  error: ${r.error}` : ''}\n`,
    );
  }
  return 0;
}

export function run(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  return runCommand(
    `ensemble${sub === 'fit' || sub === 'train' || sub === 'status' || sub === 'cancel' || sub === 'analyze' ? ` ${sub}` : ''}`,
    async () => {
      if (sub === '--help' || sub === '-h') {
        process.stdout.write(`${USAGE}\n\n${SUMMARY}\n`);
        return 0;
      }
      if (sub === 'fit' || sub === 'train') return runEnsemble(sub, rest);
      if (sub === 'status') return status(rest);
      if (sub === 'cancel') return cancel(rest);
      if (sub === 'analyze') return analyze(rest);
      throw new UsageError(sub === undefined ? `expected a subcommand\n${USAGE}` : `unknown subcommand '${sub}' (expected fit, train, status, cancel or analyze)`);
    },
    [...BAD_INPUT, QueueUrlError, QueueDependencyError, QueueConnectError],
  );
}
