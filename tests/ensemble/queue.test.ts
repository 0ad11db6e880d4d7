// Ensembles through the Redis job queue (BullMQ) on a real redis-server (tests/ensemble/redis-server.ts):
// bad member options, an unreachable server or a wrong password are refused before anything is
// queued or written; `flyvis worker` processes (one running two members at once) complete an
// ensemble of 6 members exactly once each; a worker killed with SIGKILL mid-member loses nothing
// but time (another worker resumes the member from its checkpoint and ends with an uninterrupted
// fit's parameters); Redis restarted mid-run (append-only file) and the ensemble still completes;
// a member whose input goes bad after queueing fails alone with its message, one that keeps dying
// fails after its retries, the rest finish; the password in the URL is never printed nor written;
// Ctrl-C on --wait stops following only, cancel stops the work; TLS (rediss://) works.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as worker } from '../../src/cli/worker.ts';
import { memberJobId } from '../../src/ensemble/queue.ts';
import { connectionOptions, parseQueueUrl } from '../../src/ensemble/queue-url.ts';
import { loadEnsembleDir } from '../../src/results/index.ts';
import { DT, makeTeacher } from '../cli/fit-helpers.ts';
import {
  type Proc, attempts, claimOf, ensemble, files, fitIteration, flyvis, inline, lastAttempt, lastJson, sleep, start, stderrMatches, tmp, until,
} from './helpers.ts';
import { OPENSSL, REDIS_SERVER, type RedisServer, startRedis } from './redis-server.ts';

describe('queue URLs', () => {
  it('parses redis:// and rediss:// with user, password and database, masking the password', () => {
    const t = parseQueueUrl('rediss://alice:s%40cret@cache.example:6380/3');
    expect(t).toMatchObject({ host: 'cache.example', port: 6380, db: 3, username: 'alice', password: 's@cret', tls: true, display: 'rediss://alice:***@cache.example:6380/3' });
    expect(connectionOptions(t)).toMatchObject({ tls: { servername: 'cache.example' }, password: 's@cret', db: 3 });
    expect(parseQueueUrl('redis://127.0.0.1')).toMatchObject({ port: 6379, db: 0, tls: false, display: 'redis://127.0.0.1' });
    expect(() => parseQueueUrl('http://x:y@h:1')).toThrow("--queue: expected a redis:// or rediss:// URL, got 'http://x:***@h:1'");
    expect(() => parseQueueUrl('redis://h:1/x')).toThrow("--queue: expected a database number after the host (/0 to /15), got '/x'");
  });

  it('a bad --queue is refused naming the flag, with nothing written', async () => {
    const out = join(tmp(), 'ens');
    const r = await ensemble('fit', '--out', out, '--members', '2', '--queue', 'redis://:hunter2@', '--connectome', 'demo', '--iters', '1');
    expect([r.code, r.stderr]).toEqual([2, "flyvis ensemble fit: --queue: expected redis://HOST:PORT[/DB] or rediss://..., got 'redis://:***@'\n"]);
    expect(existsSync(out)).toBe(false);
  });
});

let data: string;
let fitArgs: string[];
beforeAll(() => {
  data = tmp('flyvis-queue-');
  const t = makeTeacher(2);
  const movie = t.movie(11, 2, 10);
  fitArgs = [
    '--connectome', 'demo', '--extent', '2', '--movie', t.writeMovie(join(data, 'movie.npy'), movie),
    '--target', t.writeTarget(join(data, 'target.npy'), t.activity(movie), [2, 10, t.net.nNodes]), '--dt', String(DT), '--batch-size', '1',
  ];
});

/** Workers started by a test, stopped (Ctrl-C) by stopWorkers. */
function workerPool(url: () => string, env: NodeJS.ProcessEnv = process.env) {
  const workers: Proc[] = [];
  return {
    async start(concurrency = 1): Promise<Proc> {
      const w = start(['worker', '--queue', url(), '--concurrency', String(concurrency), '--lock-seconds', '2'], env);
      workers.push(w);
      await stderrMatches(w, /taking ensemble members from/);
      return w;
    },
    forget(w: Proc) {
      workers.splice(workers.indexOf(w), 1);
    },
    async stop(): Promise<(number | null)[]> {
      const running = workers.splice(0);
      for (const w of running) w.child.kill('SIGINT');
      return Promise.all(running.map((w) => w.exit));
    },
  };
}

describe.skipIf(REDIS_SERVER === null)('flyvis ensemble --queue and flyvis worker on a real redis-server', () => {
  let redis: RedisServer;
  let queue: Queue;
  const workers = workerPool(() => redis.url);
  beforeAll(async () => {
    redis = await startRedis();
    queue = new Queue('flyvis-ensemble', { connection: connectionOptions(parseQueueUrl(redis.url)) });
  });
  afterAll(async () => {
    await workers.stop();
    await queue?.close();
    await redis?.stop();
  });
  const jobs = async () => Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0);

  it('bad member options, an unreachable server or a wrong password: one line, exit 2, nothing queued, nothing written', async () => {
    const dir = tmp();
    const out = join(dir, 'ens');
    const before = await jobs();
    const refused = async (args: string[], message: string | RegExp) => {
      const r = await ensemble('fit', '--out', out, '--members', '3', ...args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      if (typeof message === 'string') expect(r.stderr).toBe(`flyvis ensemble fit: ${message}\n`);
      else expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
      expect(await jobs()).toBe(before);
      for (const id of ['000', '001', '002']) expect(await queue.getJob(memberJobId(resolve(out), id))).toBeUndefined();
    };
    const q = ['--queue', redis.url];
    // the member command's own checks (flyvis fit --check): values, files, outputs
    await refused([...q, ...fitArgs.map((a) => (a === String(DT) ? '-1' : a)), '--iters', '2'], "member 000: --dt: expected a positive time step in seconds such as 0.005 or 1/200, got '-1'");
    await refused([...q, ...fitArgs, '--iters', '2', '--loss-plot', join(dir, 'loss.txt')], `member 000: --loss-plot: expected a file name ending in .svg or .png, got '${join(dir, 'loss.txt')}'`);
    await refused([...q, ...fitArgs, '--iters', '2', '--lr', '0'], "member 000: --lr: expected a positive number, got '0'");
    // flyvis train's own checks the same way
    const t1 = await ensemble('train', '--out', out, '--members', '2', ...q, '--task', 'flow', '--connectome', 'demo', '--extent', '1', '--dataset', 'bogus');
    expect([t1.code, t1.stderr]).toEqual([2, "flyvis ensemble train: member 000: --dataset: expected 'procedural' or 'sintel:PATH' (an MPI Sintel folder), got 'bogus'\n"]);
    expect(existsSync(out)).toBe(false);
    // every member's own files: member 001's --params is missing
    const t = makeTeacher(2);
    const good = `${JSON.stringify(Object.fromEntries(Object.entries(t.net.stateDict()).map(([k, v]) => [k, Array.from(v)])))}\n`;
    writeFileSync(join(dir, 'init-000.json'), good);
    writeFileSync(join(dir, 'init-002.json'), good);
    await refused([...q, ...fitArgs, '--iters', '2', '--params', join(dir, 'init-{member}.json')], /^flyvis ensemble fit: member 001: .*init-001\.json.*\n$/);
    // the server: nobody listening, a wrong password (never printed)
    await refused(['--queue', 'redis://127.0.0.1:1', ...fitArgs, '--iters', '2'], /^flyvis ensemble fit: --queue redis:\/\/127\.0\.0\.1:1: cannot use the Redis server: connect ECONNREFUSED 127\.0\.0\.1:1\n$/);
    const wrong = redis.url.replace(redis.password, 'not-the-password');
    await refused(['--queue', wrong, ...fitArgs, '--iters', '2'], /^flyvis ensemble fit: --queue redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/1: cannot use the Redis server: WRONGPASS .*\n$/);
    // flyvis worker refuses them the same way (before waiting for work)
    const w = await inline(worker, ['--queue', wrong]);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/^flyvis worker: --queue redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/1: cannot use the Redis server: WRONGPASS .*\n$/);
    // the same checks pass for good options: the ensemble is queued
    const ok = await ensemble('fit', '--out', out, '--members', '3', ...q, ...fitArgs, '--iters', '2', '--params', join(dir, 'init-000.json'));
    expect(ok.code, ok.stderr).toBe(0);
    expect(lastJson(ok.stdout)).toMatchObject({ queued: ['000', '001', '002'], status: 'queued' });
    expect(await jobs()).toBe(before + 3);
    expect(existsSync(join(out, '000'))).toBe(false); // the members' checks wrote nothing
    expect((await ensemble('cancel', out, '--queue', redis.url)).code).toBe(0);
    expect(await jobs()).toBe(before);
  });

  it('two workers (one running two members at once) complete an ensemble of 6 members exactly once each; the password is never printed nor written', async () => {
    const out = join(tmp(), 'ens');
    const ws = await Promise.all([workers.start(1), workers.start(2)]);
    const args = ['fit', '--out', out, '--members', '6', '--queue', redis.url, ...fitArgs, '--iters', '8'];
    const submit = await ensemble(...args);
    expect(submit.code, submit.stderr).toBe(0);
    expect(lastJson(submit.stdout)).toMatchObject({ members: 6, queued: ['000', '001', '002', '003', '004', '005'], status: 'queued' });
    // Submitting again queues nothing new: a member's job id is its ensemble and member.
    expect(lastJson((await ensemble(...args)).stdout)).toMatchObject({ queued: [] });
    const follow = await ensemble(...args, '--wait');
    expect(follow.code, follow.stderr).toBe(0);
    expect(lastJson(follow.stdout)).toMatchObject({ done: 6, failed: [], status: 'done' });
    for (let k = 0; k < 6; k++) expect(attempts(out, `00${k}`)).toBe(1);
    expect((await loadEnsembleDir(out)).members).toHaveLength(6);
    // Member 003 is exactly `flyvis fit --seed 3`.
    const direct = join(tmp(), 'fit.json');
    expect(flyvis(['fit', ...fitArgs, '--iters', '8', '--seed', '3', '--out', direct]).code).toBe(0);
    expect(readFileSync(join(out, '003', 'fit.json'), 'utf8')).toBe(readFileSync(direct, 'utf8'));
    const status = await ensemble('status', out, '--queue', redis.url, '--json');
    type Row = { state: string; job: string; attempts: number; worker: string; started_at: string; finished_at: string; queued_at: string };
    const rows = status.stdout.trim().split('\n').map((l) => JSON.parse(l) as Row);
    expect(rows.map((r) => [r.state, r.job, r.attempts])).toEqual(Array(6).fill(['done', 'completed', 1]));
    for (const r of rows) expect(Date.parse(r.queued_at) <= Date.parse(r.started_at) && Date.parse(r.started_at) < Date.parse(r.finished_at)).toBe(true);
    // Both workers took part; the one with --concurrency 2 ran two members at once.
    const pids = ws.map((w) => w.child.pid);
    const by = (pid: number | undefined) => rows.filter((r) => r.worker.endsWith(`:${pid}`));
    expect(by(pids[0]).length + by(pids[1]).length).toBe(6);
    expect(by(pids[0]).length).toBeGreaterThan(0);
    const two = by(pids[1]);
    const overlap = two.some((a) => two.some((b) => a !== b && Date.parse(a.started_at) < Date.parse(b.finished_at) && Date.parse(b.started_at) < Date.parse(a.finished_at)));
    expect(overlap, JSON.stringify(two)).toBe(true);
    expect(await workers.stop()).toEqual([130, 130]);
    const printed = [submit.stdout, submit.stderr, follow.stdout, follow.stderr, status.stdout, status.stderr, ...ws.flatMap((w) => [w.out.stdout, w.out.stderr])].join('\n');
    expect(printed).toContain('redis://:***@127.0.0.1');
    expect(printed).not.toContain(redis.password);
    for (const f of files(out)) expect(readFileSync(f).includes(redis.password), f).toBe(false);
  });

  it('a worker killed with SIGKILL mid-member: the job stalls, another worker resumes it from its checkpoint, and it ends as an uninterrupted fit', async () => {
    const iters = 500;
    const reference = join(tmp(), 'fit.json');
    const direct = start(['fit', ...fitArgs, '--iters', String(iters), '--checkpoint-every', '5', '--seed', '0', '--out', reference]);
    const out = join(tmp(), 'ens');
    const ws = await Promise.all([workers.start(), workers.start()]);
    const args = ['fit', '--out', out, '--members', '1', '--queue', redis.url, ...fitArgs, '--iters', String(iters), '--checkpoint-every', '5'];
    expect((await ensemble(...args)).code).toBe(0);
    await until(() => fitIteration(out) >= 10, 'member 000 at iteration 10');
    const holder = claimOf(out, '000')!.pid;
    const [first, second] = ws[0]!.child.pid === holder ? [ws[0]!, ws[1]!] : [ws[1]!, ws[0]!];
    expect(first.child.pid).toBe(holder);
    first.child.kill('SIGKILL');
    expect(await first.exit).toBe(null);
    workers.forget(first);
    const follow = await ensemble(...args, '--wait');
    expect(follow.code, follow.stderr).toBe(0);
    await stderrMatches(second, /member 000 of .*: done/);
    expect(await direct.exit).toBe(0);
    expect(attempts(out, '000')).toBe(2);
    const resumed = lastAttempt(out, '000');
    expect(resumed).toMatch(/--resume\n[\s\S]*iterations (\d+)-500/);
    expect(Number(/iterations (\d+)-500/.exec(resumed)![1])).toBeGreaterThan(10);
    expect(readFileSync(join(out, '000', 'fit.json'), 'utf8')).toBe(readFileSync(reference, 'utf8'));
    await workers.stop();
  });

  it('Redis restarted mid-run (append-only file): the ensemble still completes, each member once', async () => {
    const out = join(tmp(), 'ens');
    await workers.start(2);
    const args = ['ensemble', 'fit', '--out', out, '--members', '3', '--queue', redis.url, ...fitArgs, '--iters', '300', '--checkpoint-every', '5'];
    expect((await ensemble(...args.slice(1))).code).toBe(0);
    const follow = start([...args, '--wait']);
    await stderrMatches(follow, /queued 0 of 3 members/); // following (its jobs are queued already: nothing to check or add)
    await until(() => existsSync(join(out, '000', 'fit.train.json')), 'a checkpoint of member 000');
    await redis.restart(1000);
    expect(await follow.exit).toBe(0);
    expect(lastJson(follow.out.stdout)).toMatchObject({ done: 3, status: 'done' });
    expect((await loadEnsembleDir(out)).members).toHaveLength(3);
    await workers.stop();
  });

  it('a member whose input goes bad after queueing fails alone with its message; one that keeps dying fails after its retries; the rest finish', async () => {
    const dir = tmp();
    const out = join(dir, 'ens');
    const t = makeTeacher(2);
    const good = `${JSON.stringify(Object.fromEntries(Object.entries(t.net.stateDict()).map(([k, v]) => [k, Array.from(v)])))}\n`;
    for (const id of ['000', '001', '002']) writeFileSync(join(dir, `init-${id}.json`), good);
    const args = ['fit', '--out', out, '--members', '3', '--queue', redis.url, ...fitArgs, '--iters', '400', '--checkpoint-every', '5', '--params', join(dir, 'init-{member}.json'), '--retries', '1'];
    expect((await ensemble(...args)).code).toBe(0);
    writeFileSync(join(dir, 'init-001.json'), '{"nodes_bias": [1, 2');
    await workers.start(3);
    const follow = ensemble(...args, '--wait');
    // member 002 is killed twice: its first attempt, then its retry (which resumes from its checkpoint)
    for (const attempt of [1, 2]) {
      await until(() => attempts(out, '002') === attempt && claimOf(out, '002')?.child != null && fitIteration(out, '002') > 0, `member 002's attempt ${attempt}`);
      process.kill(claimOf(out, '002')!.child!, 'SIGKILL');
    }
    const r = await follow;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/flyvis ensemble fit: error: 2 of 3 members failed \(001: flyvis fit: .*init-001\.json.*; 002: killed by SIGKILL\)/);
    expect(lastJson(r.stdout)).toMatchObject({ done: 1, status: 'failed' });
    expect(attempts(out, '001')).toBe(1);
    expect(lastAttempt(out, '002')).toMatch(/^--- attempt 2 .* --resume\n/);
    const status = await ensemble('status', out, '--queue', redis.url);
    expect(status.stdout).toMatch(/000 {2}done .*job completed \(1 attempts\)/);
    expect(status.stdout).toMatch(/001 {2}failed .*job failed \(1 attempts\).*error: flyvis fit: .*init-001\.json/);
    expect(status.stdout).toMatch(/002 {2}failed .*job failed \(2 attempts\).*error: killed by SIGKILL/);
    await workers.stop();
  });

  it('Ctrl-C on --wait stops following, not the work; cancel stops the running member keeping its checkpoint; submitting again finishes it', async () => {
    const out = join(tmp(), 'ens');
    await workers.start();
    const args = ['ensemble', 'fit', '--out', out, '--members', '1', '--queue', redis.url, ...fitArgs, '--iters', '1500', '--checkpoint-every', '5'];
    const follow = start([...args, '--wait']);
    await until(() => fitIteration(out) >= 10, 'member 000 at iteration 10');
    follow.child.kill('SIGINT');
    expect(await follow.exit).toBe(130);
    expect(follow.out.stderr).toMatch(/stopped following; the queued members go on running on the workers/);
    const at = fitIteration(out);
    await until(() => fitIteration(out) > at, 'member 000 going on');
    // status: the member runs on a worker (host:pid), with its iteration and loss
    const running = JSON.parse((await ensemble('status', out, '--queue', redis.url, '--json')).stdout.trim()) as Record<string, unknown>;
    expect(running).toMatchObject({ member: '000', state: 'running', job: 'active' });
    expect(running.worker).toMatch(/^[^:]+:\d+$/);
    expect(running.iteration).toMatch(/^\d+\/1500$/);
    expect(running.loss).toBeGreaterThan(0);
    const c = await ensemble('cancel', out, '--queue', redis.url);
    expect(lastJson(c.stdout)).toMatchObject({ removed: [], stopping: ['000'] });
    const job = async () => JSON.parse((await ensemble('status', out, '--queue', redis.url, '--json')).stdout.trim()) as { state: string; job: string; error: string };
    let row = await job();
    while (row.job !== 'failed') {
      await sleep(200);
      row = await job();
    }
    expect(row).toMatchObject({ state: 'pending', job: 'failed' });
    expect(row.error).toMatch(/cancelled/);
    const stopped = fitIteration(out);
    expect(stopped).toBeLessThan(1500);
    const again = await ensemble(...args.slice(1), '--wait');
    expect(again.code, again.stderr).toBe(0);
    expect(lastAttempt(out, '000')).toMatch(new RegExp(`iterations ${stopped + 1}-1500`));
    await workers.stop();
  });
});

if (REDIS_SERVER !== null && OPENSSL === null) console.warn('[flyvis-ts tests] skipping the rediss:// (TLS) test: no openssl to make its certificate');
describe.skipIf(REDIS_SERVER === null || OPENSSL === null)('rediss:// (TLS) with a password', () => {
  let redis: RedisServer;
  const env = () => ({ ...process.env, NODE_EXTRA_CA_CERTS: redis.caFile! });
  beforeAll(async () => {
    redis = await startRedis({ tls: true });
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('a worker and the submitter that trust the server certificate complete an ensemble; an untrusted certificate is refused in one line', async () => {
    const out = join(tmp(), 'ens');
    const args = ['ensemble', 'fit', '--out', out, '--members', '2', '--queue', redis.url, ...fitArgs, '--iters', '4'];
    // This process does not trust the self-signed certificate: refused before anything is written.
    const untrusted = await ensemble(...args.slice(1));
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toMatch(/^flyvis ensemble fit: --queue rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+\/1: cannot use the Redis server: self[- ]signed certificate\n$/);
    expect(existsSync(out)).toBe(false);
    const w = start(['worker', '--queue', redis.url, '--concurrency', '2', '--lock-seconds', '2'], env());
    await stderrMatches(w, /taking ensemble members from rediss:\/\/:\*\*\*@127\.0\.0\.1/);
    const r = flyvis([...args, '--wait'], env());
    w.child.kill('SIGINT');
    expect(await w.exit).toBe(130);
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ done: 2, status: 'done' });
    expect([r.stdout, r.stderr, w.out.stdout, w.out.stderr].join('\n')).not.toContain(redis.password);
  });
});
