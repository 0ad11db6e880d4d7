// Ensemble scaling on this machine: the wall time of N members through the local pool (--jobs 1,
// 2) and through the Redis queue (1, 2 `flyvis worker` processes with --concurrency 1, a real
// redis-server on a free loopback port), the time inside each member, and what the queue adds:
// enqueue -> start latency of the first jobs and a worker's gap between one job's end and the next
// one's start, both from BullMQ's job timestamps. The machine may be shared: the load average is
// printed before and after each run; compare ratios within one run.
//
// usage: npx tsx bench/ensemble-scaling.ts [--members N] [--runners 1,2] [--repeat R] [--json FILE] [-- MEMBER OPTIONS]
//   (default member: flyvis train --task flow on flyvis's connectome at extent 1, 8 + 2 procedural
//   scenes, 8 iterations, checkpoints at the start and end only)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { memberId } from '../src/ensemble/claims.ts';
import { memberJobId } from '../src/ensemble/queue.ts';
import { connectionOptions, parseQueueUrl } from '../src/ensemble/queue-url.ts';
import { REDIS_SERVER, startRedis } from '../tests/ensemble/redis-server.ts';

const project = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dashdash = process.argv.indexOf('--');
const own = dashdash === -1 ? process.argv.slice(2) : process.argv.slice(2, dashdash);
const arg = (name: string, dflt: string): string => {
  const i = own.indexOf(`--${name}`);
  return i >= 0 && own[i + 1] !== undefined ? own[i + 1]! : dflt;
};
const members = Number(arg('members', '4'));
const runners = arg('runners', '1,2').split(',').map(Number);
const repeat = Number(arg('repeat', '1'));
const jsonOut = own.includes('--json') ? arg('json', '') : null;
const memberArgs =
  dashdash !== -1
    ? process.argv.slice(dashdash + 1)
    : ['--task', 'flow', '--connectome', 'fib25-fib19_v2.2.json', '--extent', '1', '--train-items', '8', '--val-items', '2', '--iters', '8', '--checkpoint-every', '0'];

interface Proc {
  readonly exit: Promise<number | null>;
  readonly out: { stdout: string; stderr: string };
  kill(signal: NodeJS.Signals): void;
}
const flyvis = (args: readonly string[]): Proc => {
  const child = spawn(process.execPath, [join(project, 'bin', 'flyvis.mjs'), ...args], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (s: Buffer) => (out.stdout += String(s)));
  child.stderr.on('data', (s: Buffer) => (out.stderr += String(s)));
  return { out, exit: new Promise((r) => child.on('close', (c) => r(c))), kill: (s) => child.kill(s) };
};
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const ids = Array.from({ length: members }, (_, k) => memberId(k, members));

/** Per member: seconds from its attempt's start (its log) to its .done record, and its last s/it; the first start and last end (ms since 1970). */
function memberTimes(dir: string): { seconds: number[]; secondsPerIteration: number[]; firstStart: number; lastDone: number } {
  const seconds: number[] = [];
  const secondsPerIteration: number[] = [];
  let firstStart = Infinity;
  let lastDone = -Infinity;
  for (const id of ids) {
    const log = readFileSync(join(dir, '.flyvis-ensemble', `${id}.log`), 'utf8');
    const startedAt = Date.parse(/^--- attempt 1 at (\S+?):? /m.exec(log)![1]!);
    const done = JSON.parse(readFileSync(join(dir, '.flyvis-ensemble', `${id}.done`), 'utf8')) as { finished: string };
    seconds.push((Date.parse(done.finished) - startedAt) / 1000);
    firstStart = Math.min(firstStart, startedAt);
    lastDone = Math.max(lastDone, Date.parse(done.finished));
    const its = [...log.matchAll(/([\d.]+) (m?s)\/it/g)].at(-1);
    if (its !== undefined) secondsPerIteration.push(Number(its[1]) / (its[2] === 'ms' ? 1000 : 1));
  }
  return { seconds, secondsPerIteration, firstStart, lastDone };
}

interface Row {
  runner: string;
  at_once: number;
  wall_s: number;
  /** Command start -> first member starts (process start, checks, enqueueing, a worker taking the job). */
  startup_s: number;
  /** Last member done -> the command exits (the pool's summary, --wait's polling). */
  winddown_s: number;
  member_s_mean: number;
  s_per_it_mean: number;
  load_before: string;
  load_after: string;
  enqueue_to_start_ms?: number[];
  worker_gap_ms?: number[];
}
const rows: Row[] = [];

async function pool(jobs: number): Promise<void> {
  const dir = join(mkdtempSync(join(tmpdir(), 'flyvis-scaling-')), 'ens');
  const before = load();
  const t0 = performance.now();
  const e0 = Date.now();
  const p = flyvis(['ensemble', 'train', '--out', dir, '--members', String(members), '--jobs', String(jobs), ...memberArgs]);
  const code = await p.exit;
  const wall = (performance.now() - t0) / 1000;
  const e1 = Date.now();
  if (code !== 0) throw new Error(`local pool --jobs ${jobs} exited ${code}: ${p.out.stderr.slice(-2000)}`);
  const m = memberTimes(dir);
  rows.push({ runner: `local pool --jobs ${jobs}`, at_once: jobs, wall_s: wall, startup_s: (m.firstStart - e0) / 1000, winddown_s: (e1 - m.lastDone) / 1000, member_s_mean: mean(m.seconds), s_per_it_mean: mean(m.secondsPerIteration), load_before: before, load_after: load() });
  rmSync(dirname(dir), { recursive: true, force: true });
}

async function queued(url: string, workers: number): Promise<void> {
  const dir = join(mkdtempSync(join(tmpdir(), 'flyvis-scaling-')), 'ens');
  const ws = Array.from({ length: workers }, () => flyvis(['worker', '--queue', url, '--concurrency', '1']));
  // Workers started and connected before the clock starts (a cluster's workers wait for work).
  for (const w of ws) while (!/taking ensemble members/.test(w.out.stderr)) await new Promise((r) => setTimeout(r, 50));
  const before = load();
  const t0 = performance.now();
  const e0 = Date.now();
  const p = flyvis(['ensemble', 'train', '--out', dir, '--members', String(members), '--queue', url, '--wait', ...memberArgs]);
  const code = await p.exit;
  const wall = (performance.now() - t0) / 1000;
  const e1 = Date.now();
  for (const w of ws) w.kill('SIGINT');
  await Promise.all(ws.map((w) => w.exit));
  if (code !== 0) throw new Error(`queue with ${workers} workers exited ${code}: ${p.out.stderr.slice(-2000)}`);
  const queue = new Queue('flyvis-ensemble', { connection: connectionOptions(parseQueueUrl(url)) });
  const jobs = await Promise.all(ids.map(async (id) => (await queue.getJob(memberJobId(dir, id)))!));
  await queue.close();
  // enqueue -> start for the jobs a waiting worker took at once; per worker, the gap from one job's end to its next one's start
  const byStart = [...jobs].sort((a, b) => a.processedOn! - b.processedOn!);
  const enqueueToStart = byStart.slice(0, workers).map((j) => j.processedOn! - j.timestamp);
  const gaps: number[] = [];
  const byWorker = new Map<string, typeof jobs>();
  for (const j of jobs) {
    const w = (j.progress as { worker?: string }).worker ?? '?';
    byWorker.set(w, [...(byWorker.get(w) ?? []), j]);
  }
  for (const list of byWorker.values()) {
    list.sort((a, b) => a.processedOn! - b.processedOn!);
    for (let k = 1; k < list.length; k++) gaps.push(list[k]!.processedOn! - list[k - 1]!.finishedOn!);
  }
  const m = memberTimes(dir);
  rows.push({
    runner: `queue, ${workers} worker${workers > 1 ? 's' : ''} --concurrency 1`,
    at_once: workers,
    wall_s: wall,
    startup_s: (m.firstStart - e0) / 1000,
    winddown_s: (e1 - m.lastDone) / 1000,
    member_s_mean: mean(m.seconds),
    s_per_it_mean: mean(m.secondsPerIteration),
    load_before: before,
    load_after: load(),
    enqueue_to_start_ms: enqueueToStart,
    worker_gap_ms: gaps,
  });
  rmSync(dirname(dir), { recursive: true, force: true });
}

console.log(`ensemble scaling: ${members} members of flyvis train ${memberArgs.join(' ')}; load average (1, 5, 15 min) ${load()}`);
const redis = REDIS_SERVER !== null ? await startRedis() : null;
if (redis === null) console.log('no redis-server: the queue rows are left out');
try {
  for (let r = 0; r < repeat; r++) {
    for (const n of runners) {
      // Alternate which runs first (the load drifts): the pool first in even repeats, the queue in odd ones.
      if (r % 2 === 0 || redis === null) await pool(n);
      if (redis !== null) await queued(redis.url, n);
      if (r % 2 === 1 && redis !== null) await pool(n);
    }
  }
} finally {
  await redis?.stop();
}

const f = (x: number, d = 1): string => x.toFixed(d);
console.log('\n| runner | members at once | wall time | start-up | wind-down | per member (mean) | s/iteration (mean) | queue wall / pool wall (same width, same repeat) | load before -> after |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  // the pool's run of the same width in the same repeat (just before or after this one)
  const k = rows.indexOf(r);
  const same = [rows[k - 1], rows[k + 1]].find((p) => p !== undefined && p.runner.startsWith('local') && p.at_once === r.at_once && !r.runner.startsWith('local'));
  console.log(
    `| ${r.runner} | ${r.at_once} | ${f(r.wall_s)} s | ${f(r.startup_s)} s | ${f(r.winddown_s)} s | ${f(r.member_s_mean)} s | ${f(r.s_per_it_mean, 2)} | ${same === undefined ? '-' : f(r.wall_s / same.wall_s, 2)} | ${r.load_before} -> ${r.load_after} |`,
  );
}
const q = rows.filter((r) => r.enqueue_to_start_ms !== undefined);
if (q.length > 0) {
  const starts = q.flatMap((r) => r.enqueue_to_start_ms!);
  const gaps = q.flatMap((r) => r.worker_gap_ms!);
  console.log(`\nqueue overhead from job timestamps: enqueue -> start ${starts.map((x) => `${x} ms`).join(', ')} (mean ${f(mean(starts), 0)} ms); a worker's gap from one job's end to its next start ${gaps.map((x) => `${x} ms`).join(', ')} (mean ${f(mean(gaps), 0)} ms)`);
}
const one = rows.filter((r) => r.at_once === 1);
const two = rows.filter((r) => r.at_once === 2);
for (const kind of ['local', 'queue']) {
  const a = one.find((r) => r.runner.startsWith(kind));
  const b = two.find((r) => r.runner.startsWith(kind));
  if (a !== undefined && b !== undefined) console.log(`${kind}: 2 at once finish ${f(a.wall_s / b.wall_s, 2)}x as fast as 1 at a time (members ${f(b.member_s_mean / a.member_s_mean, 2)}x as long each)`);
}
if (jsonOut !== null && jsonOut !== '') writeFileSync(jsonOut, `${JSON.stringify({ members, memberArgs, rows }, null, 2)}\n`);
