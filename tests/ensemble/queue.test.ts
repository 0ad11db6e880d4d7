// Ensembles through the Redis job queue (BullMQ) on a real redis-server (tests/ensemble/redis-server.ts):
// several `flyvis worker` processes complete an ensemble of 6 members exactly once each; a worker
// killed with SIGKILL mid-member loses nothing but time (another worker resumes the member from
// its checkpoint and ends with an uninterrupted fit's parameters); Redis restarted mid-run (append-
// only file) and the ensemble still completes; a bad member fails alone with its message; the
// password in the URL is never printed nor written; cancel removes queued members.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionOptions, parseQueueUrl } from '../../src/ensemble/queue-url.ts';
import { loadEnsembleDir } from '../../src/results/index.ts';
import { PROJECT_DIR } from '../helpers/shared.ts';
import { DT, makeTeacher } from '../cli/fit-helpers.ts';
import { REDIS_SERVER, type RedisServer, startRedis } from './redis-server.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'flyvis-queue-'));
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/flyvis.mjs', ...args], { cwd: PROJECT_DIR, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
interface Proc {
  readonly child: ChildProcess;
  readonly out: { stdout: string; stderr: string };
  readonly exit: Promise<number | null>;
}
const start = (...args: string[]): Proc => {
  const child = spawn(process.execPath, ['bin/flyvis.mjs', ...args], { cwd: PROJECT_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (s: Buffer) => (out.stdout += String(s)));
  child.stderr!.on('data', (s: Buffer) => (out.stderr += String(s)));
  return { child, out, exit: new Promise((resolve) => child.on('close', (code) => resolve(code))) };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const attempts = (dir: string, id: string) => (readFileSync(join(dir, '.flyvis-ensemble', `${id}.log`), 'utf8').match(/^--- attempt /gm) ?? []).length;
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
/** Every file under dir, recursively. */
const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));

describe('queue URLs', () => {
  it('parses redis:// and rediss:// with user, password and database, masking the password', () => {
    const t = parseQueueUrl('rediss://alice:s%40cret@cache.example:6380/3');
    expect(t).toMatchObject({ host: 'cache.example', port: 6380, db: 3, username: 'alice', password: 's@cret', tls: true, display: 'rediss://alice:***@cache.example:6380/3' });
    expect(connectionOptions(t)).toMatchObject({ tls: { servername: 'cache.example' }, password: 's@cret', db: 3 });
    expect(parseQueueUrl('redis://127.0.0.1')).toMatchObject({ port: 6379, db: 0, tls: false, display: 'redis://127.0.0.1' });
    expect(() => parseQueueUrl('http://x:y@h:1')).toThrow("--queue: expected a redis:// or rediss:// URL, got 'http://x:***@h:1'");
    expect(() => parseQueueUrl('redis://h:1/x')).toThrow("--queue: expected a database number after the host (/0 to /15), got '/x'");
  });

  it('a bad --queue is refused naming the flag, with nothing written', () => {
    const out = join(tmp(), 'ens');
    const r = run('ensemble', 'fit', '--out', out, '--members', '2', '--queue', 'redis://:hunter2@', '--connectome', 'demo', '--iters', '1');
    expect([r.code, r.stderr]).toEqual([2, "flyvis ensemble fit: --queue: expected redis://HOST:PORT[/DB] or rediss://..., got 'redis://:***@'\n"]);
    expect(existsSync(out)).toBe(false);
  });
});

describe.skipIf(REDIS_SERVER === null)('flyvis ensemble --queue and flyvis worker on a real redis-server', () => {
  let redis: RedisServer;
  let fitArgs: string[];
  let data: string;
  const workers: Proc[] = [];
  const worker = (concurrency = 1) => {
    const w = start('worker', '--queue', redis.url, '--concurrency', String(concurrency), '--lock-seconds', '2');
    workers.push(w);
    return w;
  };
  const stopWorkers = async () => {
    const running = workers.splice(0);
    for (const w of running) w.child.kill('SIGINT');
    return Promise.all(running.map((w) => w.exit));
  };
  beforeAll(async () => {
    redis = await startRedis();
    data = tmp();
    const t = makeTeacher(2);
    const movie = t.movie(11, 2, 10);
    fitArgs = [
      '--connectome', 'demo', '--extent', '2', '--movie', t.writeMovie(join(data, 'movie.npy'), movie),
      '--target', t.writeTarget(join(data, 'target.npy'), t.activity(movie), [2, 10, t.net.nNodes]), '--dt', String(DT), '--batch-size', '1',
    ];
  });
  afterAll(async () => {
    await stopWorkers();
    await redis?.stop();
  });

  it('three workers complete an ensemble of 6 members exactly once each; the password is never printed nor written', async () => {
    const out = join(tmp(), 'ens');
    const ws = [worker(), worker(), worker()];
    const submit = run('ensemble', 'fit', '--out', out, '--members', '6', '--queue', redis.url, ...fitArgs, '--iters', '8');
    expect(submit.code).toBe(0);
    expect(lastJson(submit.stdout)).toMatchObject({ members: 6, queued: ['000', '001', '002', '003', '004', '005'], status: 'queued' });
    // Submitting again queues nothing new: a member's job id is its ensemble and member.
    expect(lastJson(run('ensemble', 'fit', '--out', out, '--members', '6', '--queue', redis.url, ...fitArgs, '--iters', '8').stdout)).toMatchObject({ queued: [] });
    const follow = run('ensemble', 'fit', '--out', out, '--members', '6', '--queue', redis.url, '--wait', ...fitArgs, '--iters', '8');
    expect(follow.code).toBe(0);
    expect(lastJson(follow.stdout)).toMatchObject({ done: 6, failed: [], status: 'done' });
    for (let k = 0; k < 6; k++) expect(attempts(out, `00${k}`)).toBe(1);
    const ensemble = await loadEnsembleDir(out);
    expect(ensemble.members).toHaveLength(6);
    const status = run('ensemble', 'status', out, '--queue', redis.url, '--json');
    const rows = status.stdout.trim().split('\n').map((l) => JSON.parse(l) as { state: string; job: string; attempts: number });
    expect(rows.map((r) => [r.state, r.job])).toEqual(Array(6).fill(['done', 'completed']));
    const codes = await stopWorkers();
    expect(codes).toEqual([130, 130, 130]);
    // More than one worker took part; the password appears nowhere.
    expect(ws.filter((w) => /: done\n/.test(w.out.stderr)).length).toBeGreaterThan(1);
    const printed = [submit.stdout, submit.stderr, follow.stdout, follow.stderr, status.stdout, status.stderr, ...ws.flatMap((w) => [w.out.stdout, w.out.stderr])].join('\n');
    expect(printed).toContain('redis://:***@127.0.0.1');
    expect(printed).not.toContain(redis.password);
    for (const f of files(out)) expect(readFileSync(f).includes(redis.password), f).toBe(false);
  });

  it('a worker killed with SIGKILL mid-member: the job stalls, another worker resumes it from its checkpoint, and it ends as an uninterrupted fit', async () => {
    const iters = 500;
    const reference = join(tmp(), 'fit.json');
    expect(run('fit', ...fitArgs, '--iters', String(iters), '--checkpoint-every', '5', '--seed', '0', '--out', reference).code).toBe(0);
    const out = join(tmp(), 'ens');
    const first = worker();
    expect(run('ensemble', 'fit', '--out', out, '--members', '1', '--queue', redis.url, ...fitArgs, '--iters', String(iters), '--checkpoint-every', '5').code).toBe(0);
    const iteration = () => {
      try {
        return (JSON.parse(readFileSync(join(out, '000', 'fit.train.json'), 'utf8')) as { iteration: number }).iteration;
      } catch {
        return 0;
      }
    };
    while (iteration() < 10) await sleep(50);
    first.child.kill('SIGKILL');
    expect(await first.exit).toBe(null);
    workers.splice(workers.indexOf(first), 1);
    const at = iteration();
    expect(at).toBeLessThan(iters);
    const second = worker();
    // (a process the test awaits, not spawnSync: the workers' output is read meanwhile)
    const follow = start('ensemble', 'fit', '--out', out, '--members', '1', '--queue', redis.url, '--wait', ...fitArgs, '--iters', String(iters), '--checkpoint-every', '5');
    expect(await follow.exit).toBe(0);
    await sleep(200);
    expect(second.out.stderr).toMatch(/member 000 of .*: done/);
    const log = readFileSync(join(out, '.flyvis-ensemble', '000.log'), 'utf8');
    expect(attempts(out, '000')).toBe(2);
    expect(log.slice(log.lastIndexOf('--- attempt'))).toMatch(/--resume\n[\s\S]*iterations (\d+)-500/);
    expect(Number(/iterations (\d+)-500/.exec(log.slice(log.lastIndexOf('--- attempt')))![1])).toBeGreaterThan(10);
    expect(readFileSync(join(out, '000', 'fit.json'), 'utf8')).toBe(readFileSync(reference, 'utf8'));
    await stopWorkers();
  });

  it('Redis restarted mid-run (append-only file): the ensemble still completes, each member once', async () => {
    const out = join(tmp(), 'ens');
    worker(2);
    expect(run('ensemble', 'fit', '--out', out, '--members', '3', '--queue', redis.url, ...fitArgs, '--iters', '300', '--checkpoint-every', '5').code).toBe(0);
    const follow = start('ensemble', 'fit', '--out', out, '--members', '3', '--queue', redis.url, '--wait', ...fitArgs, '--iters', '300', '--checkpoint-every', '5');
    while (!existsSync(join(out, '000', 'fit.train.json'))) await sleep(50);
    await redis.restart(1000);
    expect(await follow.exit).toBe(0);
    expect(lastJson(follow.out.stdout)).toMatchObject({ done: 3, status: 'done' });
    expect((await loadEnsembleDir(out)).members).toHaveLength(3);
    await stopWorkers();
  });

  it('a bad member fails alone with its message; cancel removes queued members', async () => {
    const dir = tmp();
    const out = join(dir, 'ens');
    const t = makeTeacher(2);
    const good = `${JSON.stringify(Object.fromEntries(Object.entries(t.net.stateDict()).map(([k, v]) => [k, Array.from(v)])))}\n`;
    writeFileSync(join(dir, 'init-000.json'), good);
    writeFileSync(join(dir, 'init-001.json'), '{"nodes_bias": [1, 2');
    writeFileSync(join(dir, 'init-002.json'), good);
    worker(2);
    const args = ['ensemble', 'fit', '--out', out, '--members', '3', '--queue', redis.url, ...fitArgs, '--iters', '3', '--params', join(dir, 'init-{member}.json')];
    const r = run(...args, '--wait');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/flyvis ensemble fit: error: 1 of 3 members failed \(001: flyvis fit: .*init-001\.json/);
    expect(lastJson(r.stdout)).toMatchObject({ done: 2, status: 'failed' });
    const status = run('ensemble', 'status', out, '--queue', redis.url);
    expect(status.stdout).toMatch(/001 {2}failed .*job failed \(1 attempts\).*error: flyvis fit: .*init-001\.json/);
    await stopWorkers();
    // No worker: the queued members wait, and cancel removes them.
    const later = join(dir, 'later');
    expect(run('ensemble', 'fit', '--out', later, '--members', '2', '--queue', redis.url, ...fitArgs, '--iters', '3').code).toBe(0);
    const c = run('ensemble', 'cancel', later, '--queue', redis.url);
    expect(c.code).toBe(0);
    expect(lastJson(c.stdout)).toMatchObject({ removed: ['000', '001'], stopping: [] });
    expect(JSON.parse(run('ensemble', 'status', later, '--queue', redis.url, '--json').stdout.trim().split('\n')[0]!)).toMatchObject({ state: 'pending', job: 'not queued' });
  });

  it('Ctrl-C on --wait stops following, not the work; cancel stops the running member keeping its checkpoint; submitting again finishes it', async () => {
    const out = join(tmp(), 'ens');
    worker();
    const args = ['ensemble', 'fit', '--out', out, '--members', '1', '--queue', redis.url, ...fitArgs, '--iters', '1500', '--checkpoint-every', '5'];
    const follow = start(...args, '--wait');
    const iteration = () => {
      try {
        return (JSON.parse(readFileSync(join(out, '000', 'fit.train.json'), 'utf8')) as { iteration: number }).iteration;
      } catch {
        return 0;
      }
    };
    while (iteration() < 10) await sleep(50);
    follow.child.kill('SIGINT');
    expect(await follow.exit).toBe(130);
    expect(follow.out.stderr).toMatch(/stopped following; the queued members go on running on the workers/);
    const at = iteration();
    while (iteration() <= at) await sleep(50);
    // status: the member runs on a worker (host:pid), with its iteration and loss
    const running = JSON.parse(run('ensemble', 'status', out, '--queue', redis.url, '--json').stdout.trim()) as Record<string, unknown>;
    expect(running).toMatchObject({ member: '000', state: 'running', job: 'active' });
    expect(running.worker).toMatch(/^[^:]+:\d+$/);
    expect(running.iteration).toMatch(/^\d+\/1500$/);
    expect(running.loss).toBeGreaterThan(0);
    const c = run('ensemble', 'cancel', out, '--queue', redis.url);
    expect(lastJson(c.stdout)).toMatchObject({ removed: [], stopping: ['000'] });
    const job = () => JSON.parse(run('ensemble', 'status', out, '--queue', redis.url, '--json').stdout.trim()) as { state: string; job: string; error: string };
    let row = job();
    while (row.job !== 'failed') {
      await sleep(200);
      row = job();
    }
    expect(row).toMatchObject({ state: 'pending', job: 'failed' });
    expect(row.error).toMatch(/cancelled/);
    const stopped = iteration();
    expect(stopped).toBeLessThan(1500);
    const again = run(...args, '--wait');
    expect(again.code).toBe(0);
    const log = readFileSync(join(out, '.flyvis-ensemble', '000.log'), 'utf8');
    expect(log.slice(log.lastIndexOf('--- attempt'))).toMatch(new RegExp(`iterations ${stopped + 1}-1500`));
    await stopWorkers();
  });
});
