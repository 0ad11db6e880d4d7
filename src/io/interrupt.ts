// SIGINT / SIGTERM handling shared by the command line and the training loop. One process
// listener dispatches to the most recently installed handler, so a command's default ("nothing
// was written", exit 130) gives way to the training loop's checkpoint-then-stop while training
// runs, and comes back after. A second signal while the first is being handled exits at once
// (code 130); exit hooks still remove temporary files and release output locks.

type Handler = (signal: NodeJS.Signals) => void;

const stack: { handler: Handler; seen: boolean }[] = [];

const listener = (signal: NodeJS.Signals): void => {
  const top = stack.at(-1);
  if (top === undefined) return;
  if (top.seen) process.exit(130);
  top.seen = true;
  top.handler(signal);
};

/**
 * Calls `handler` on SIGINT / SIGTERM instead of exiting, until the returned function is called.
 * Only the most recently installed handler runs. A second signal exits at once (code 130).
 */
export function onInterrupt(handler: Handler): () => void {
  const entry = { handler, seen: false };
  if (stack.length === 0) {
    process.on('SIGINT', listener);
    process.on('SIGTERM', listener);
  }
  stack.push(entry);
  return () => {
    const i = stack.lastIndexOf(entry);
    if (i !== -1) stack.splice(i, 1);
    if (stack.length === 0) {
      process.off('SIGINT', listener);
      process.off('SIGTERM', listener);
    }
  };
}

/**
 * While installed, a signal prints `<prefix>: interrupted; <kept()>` on stderr and exits with
 * code 130 (exit hooks remove temporary files and release locks). `kept` says what stays on
 * disk, e.g. 'nothing was written'.
 */
export function exitOnInterrupt(prefix: string, kept: () => string): () => void {
  return onInterrupt(() => {
    process.stderr.write(`${prefix}: interrupted; ${kept()}\n`);
    process.exit(130);
  });
}
