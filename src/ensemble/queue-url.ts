// The --queue URL (redis:// or rediss://, with user, password and database) and the Redis
// connection options it gives, without loading the queue library: bullmq and ioredis are optional
// peer dependencies, loaded by loadQueue() only when a command uses the queue.
import { isIP } from 'node:net';

/** bullmq / ioredis are not installed (exit 2, naming what to install). */
export class QueueDependencyError extends Error {
  override name = 'QueueDependencyError';
}

/** The queue module (src/ensemble/queue.ts), or QueueDependencyError when bullmq or ioredis is missing. */
export async function loadQueue(): Promise<typeof import('./queue.ts')> {
  try {
    return await import('./queue.ts');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_MODULE_NOT_FOUND' && /bullmq|ioredis/.test(err.message)) {
      throw new QueueDependencyError('--queue: needs the optional packages bullmq and ioredis (npm install bullmq@6.7.0 ioredis@6.0.0)');
    }
    throw e;
  }
}

/** The --queue server cannot be reached or refuses the credentials (exit 2: nothing was queued or written). */
export class QueueConnectError extends Error {
  override name = 'QueueConnectError';
}

/** A bad --queue URL (exit 2). */
export class QueueUrlError extends Error {
  override name = 'QueueUrlError';
}

export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls: boolean;
  /** The URL without its password, for messages. */
  readonly display: string;
}

/** Parses redis://[user[:password]@]HOST[:PORT][/DB] or rediss://... (TLS). */
export function parseQueueUrl(text: string, flag = 'queue'): RedisTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new QueueUrlError(`--${flag}: expected redis://HOST:PORT[/DB] or rediss://..., got '${maskUrlText(text)}'`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new QueueUrlError(`--${flag}: expected a redis:// or rediss:// URL, got '${maskUrlText(text)}'`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === '') throw new QueueUrlError(`--${flag}: the URL names no host`);
  const port = url.port === '' ? 6379 : Number(url.port);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) throw new QueueUrlError(`--${flag}: expected a database number after the host (/0 to /15), got '/${path}'`);
  if (url.search !== '' || url.hash !== '') throw new QueueUrlError(`--${flag}: expected no query or fragment in the URL`);
  const username = url.username === '' ? undefined : decodeURIComponent(url.username);
  const password = url.password === '' ? undefined : decodeURIComponent(url.password);
  const auth = username !== undefined || password !== undefined ? `${username ?? ''}${password !== undefined ? ':***' : ''}@` : '';
  return {
    host,
    port,
    db: path === '' ? 0 : Number(path),
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    tls: url.protocol === 'rediss:',
    display: `${url.protocol}//${auth}${url.host}${path === '' ? '' : `/${path}`}`,
  };
}

/** A URL-like text with anything between '//' and '@' after a ':' masked (for messages about unparsable URLs). */
const maskUrlText = (text: string): string => text.replace(/(\/\/[^/@:]*):[^/@]*@/, '$1:***@');

/** ioredis options for a target (BullMQ's connection). */
export function connectionOptions(t: RedisTarget): Record<string, unknown> {
  return {
    host: t.host,
    port: t.port,
    db: t.db,
    ...(t.username !== undefined ? { username: t.username } : {}),
    ...(t.password !== undefined ? { password: t.password } : {}),
    // TLS checks the certificate against the host; a name (not an IP address) is also sent as SNI.
    ...(t.tls ? { tls: isIP(t.host) === 0 ? { servername: t.host } : {} } : {}),
    maxRetriesPerRequest: null,
    // Keep trying while Redis restarts (a worker or a --wait outlives it), at most every 2 s.
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
  };
}
