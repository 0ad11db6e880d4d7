// The `flyvis` command line: a thin dispatcher. Each subcommand lives in its own module and
// returns an exit code (0 ok, 1 runtime failure, 2 bad arguments or bad input).
import '../platform-node.ts'; // the Node platform (files, worker threads, ...): docs/platform.md

export type Command = (argv: readonly string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  info: async () => (await import('./info.ts')).run,
  simulate: async () => (await import('./simulate.ts')).run,
  'predict-flow': async () => (await import('./predict-flow.ts')).run,
  train: async () => (await import('./train.ts')).run,
  bench: async () => (await import('./bench.ts')).run,
  analyze: async () => (await import('./analyze.ts')).run,
  'optimal-stimulus': async () => (await import('./optimal-stimulus.ts')).run,
  fit: async () => (await import('./fit.ts')).run,
  plot: async () => (await import('./plot.ts')).run,
  run: async () => (await import('./run.ts')).run,
  ensemble: async () => (await import('./ensemble.ts')).run,
  worker: async () => (await import('./worker.ts')).run,
};

const usage = `usage: flyvis <command> [options]
commands: ${Object.keys(commands).join(', ')}
run 'flyvis <command> --help' for a command's options`;

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    (name === undefined ? process.stderr : process.stdout).write(usage + '\n');
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (load === undefined) {
    process.stderr.write(`flyvis: unknown command '${name}' (expected one of: ${Object.keys(commands).join(', ')})\n`);
    return 2;
  }
  return (await load())(rest);
}
