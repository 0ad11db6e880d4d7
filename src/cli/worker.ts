// `flyvis worker --queue redis://HOST:PORT[/DB] [--concurrency C] [--lock-seconds S]`
//
// Runs ensemble members from the Redis job queue (`flyvis ensemble fit|train --queue ...`) on this
// machine, C at a time (default one per core), until Ctrl-C; the ensemble directories must be
// visible here at the same paths. Each member runs as the local pool runs it (a `flyvis fit` /
// `flyvis train` child process, resuming from its checkpoint when one exists) and reports its
// iteration and loss as the job's progress (`flyvis ensemble status --queue`). Ctrl-C interrupts
// the running members (each saves its checkpoint) and exits 130; their jobs return to the queue
// after --lock-seconds and another worker resumes them, as after a crash.
import { availableParallelism } from 'node:os';
import { onInterrupt } from '../io/interrupt.ts';
import { QueueConnectError, QueueDependencyError, QueueUrlError, loadQueue, parseQueueUrl } from '../ensemble/queue-url.ts';
import { type OptionSpecs, UsageError, formatHelp, parseArgs, runCommand } from './args.ts';

const OPTIONS = {
  queue: { type: 'string', metavar: 'URL', help: 'the Redis server: redis://[USER:PASSWORD@]HOST:PORT[/DB], or rediss:// for TLS' },
  concurrency: { type: 'integer', metavar: 'C', min: 1, help: 'members run at once (default: one per core)' },
  'lock-seconds': { type: 'number', metavar: 'S', min: 1, default: 30, help: "how long a job's lock lasts without renewal: a dead worker's member is resumed elsewhere after about this long" },
} as const satisfies OptionSpecs;

const SUMMARY =
  'Runs ensemble members from the Redis job queue until Ctrl-C (which interrupts the running members:\n' +
  'each saves its checkpoint, and another worker resumes it).';

export function run(argv: readonly string[]): Promise<number> {
  return runCommand(
    'worker',
    async () => {
      const { options: o, help } = parseArgs(argv, OPTIONS);
      if (help) {
        process.stdout.write(formatHelp('worker', SUMMARY, OPTIONS));
        return 0;
      }
      if (o.queue === undefined) throw new UsageError('--queue is required (redis://HOST:PORT)');
      const target = parseQueueUrl(o.queue);
      const concurrency = o.concurrency ?? availableParallelism();
      const log = (line: string): void => void process.stderr.write(`flyvis worker: ${line}\n`);
      const { checkConnection, startWorker } = await loadQueue();
      await checkConnection(target);
      const handle = startWorker(target, { concurrency, lockMs: Math.round(o['lock-seconds'] * 1000), log });
      await handle.worker.waitUntilReady();
      log(`taking ensemble members from ${target.display}, ${concurrency} at a time (Ctrl-C stops)`);
      await new Promise<void>((resolve) => {
        const release = onInterrupt(() => {
          log('interrupted: stopping the running members (each saves its checkpoint); their jobs resume on another worker');
          void handle.stop().then(() => {
            release();
            resolve();
          });
        });
      });
      return 130;
    },
    [QueueUrlError, QueueDependencyError, QueueConnectError],
  );
}
