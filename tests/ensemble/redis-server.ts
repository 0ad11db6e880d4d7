// A real redis-server for the queue tests: found at $REDIS_SERVER, /usr/bin/redis-server or on
// PATH, started on a free loopback port with its own temporary directory (append-only file on,
// so a restart keeps the queue) and a password, stopped afterwards. Absent: the tests skip with a
// printed reason (.ci/run installs it, so CI never skips). With `tls`, the server speaks TLS only
// (a self-signed certificate for 127.0.0.1 made with openssl, its file in `caFile` for
// NODE_EXTRA_CA_CERTS) and the URL is rediss://.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function findRedis(): string | null {
  const candidates = [process.env.REDIS_SERVER, '/usr/bin/redis-server', '/usr/local/bin/redis-server'].filter((x): x is string => !!x);
  for (const c of candidates) if (existsSync(c)) return c;
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() !== '' ? which.stdout.trim() : null;
}

export const REDIS_SERVER = findRedis();
if (REDIS_SERVER === null) console.warn('[flyvis-ts tests] skipping the Redis queue tests: no redis-server ($REDIS_SERVER, /usr/bin/redis-server or PATH); .ci/run installs it');

/** openssl, which makes the TLS test's certificate (null: that test skips). */
export const OPENSSL = ((): string | null => {
  const which = spawnSync('sh', ['-c', 'command -v openssl'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() !== '' ? which.stdout.trim() : null;
})();

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

export interface RedisServer {
  readonly port: number;
  readonly password: string;
  /** redis://:PASSWORD@127.0.0.1:PORT/1 (rediss:// with TLS) */
  readonly url: string;
  readonly dir: string;
  /** With TLS: the server's self-signed certificate (for NODE_EXTRA_CA_CERTS). */
  readonly caFile: string | null;
  /** Stops the server (SIGTERM: it writes its append-only file) and starts it again on the same port and directory. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(options: { tls?: boolean } = {}): Promise<RedisServer> {
  if (REDIS_SERVER === null) throw new Error('no redis-server');
  const dir = mkdtempSync(join(tmpdir(), 'flyvis-redis-'));
  const port = await freePort();
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  let caFile: string | null = null;
  let listen = ['--port', String(port)];
  if (options.tls === true) {
    caFile = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const made = spawnSync(OPENSSL ?? 'openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', caFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr}`);
    listen = ['--port', '0', '--tls-port', String(port), '--tls-cert-file', caFile, '--tls-key-file', key, '--tls-ca-cert-file', caFile, '--tls-auth-clients', 'no'];
  }
  let proc: ChildProcess | null = null;
  const launch = () =>
    new Promise<void>((resolve, reject) => {
      const p = spawn(
        REDIS_SERVER!,
        [...listen, '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '',
          '--requirepass', password, '--daemonize', 'no', '--protected-mode', 'yes', '--logfile', ''],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      proc = p;
      let out = '';
      const onData = (s: Buffer) => {
        out += String(s);
        if (/Ready to accept connections/.test(out)) {
          p.stdout!.off('data', onData);
          p.stdout!.resume();
          resolve();
        }
      };
      p.stdout!.on('data', onData);
      p.stderr!.resume();
      p.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready: ${out.slice(-500)}`)));
    });
  const halt = () =>
    new Promise<void>((resolve) => {
      const p = proc;
      if (p === null || p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  await launch();
  return {
    port,
    password,
    url: `${caFile !== null ? 'rediss' : 'redis'}://:${password}@127.0.0.1:${port}/1`,
    dir,
    caFile,
    async restart(downMs = 500) {
      await halt();
      await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
