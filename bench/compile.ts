// Benchmark: compiling a connectome description (default: flyvis's fib25-fib19_v2.2.json from
// ../shared, else the built-in demo) at extent 15. Prints one JSON object with the median
// compile time over several runs (load and decode timed separately), and `offsets_scaling`:
// decoding and compiling one edge type of 5,000 to 200,000 distinct offsets (decoding was
// quadratic: 50,000 offsets took 23 s; it is linear now).
//   npx tsx bench/compile.ts [--connectome FILE] [--extent N] [--runs N]
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, runCommand, type OptionSpecs } from '../src/cli/args.ts';
import * as E from 'fp-ts/lib/Either.js';
import { compileConnectome } from '../src/graph/compile.ts';
import { decodeConnectomeSpec } from '../src/graph/decode.ts';
import { demoConnectomePath } from '../src/graph/demo.ts';
import { ConnectomeError, loadConnectomeSpec } from '../src/graph/load.ts';

const SHARED_DIR = process.env.FLYVIS_SHARED ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared');
const FLYVIS_FILE = resolve(SHARED_DIR, 'flyvis', 'fib25-fib19_v2.2.json');

const OPTIONS = {
  connectome: { type: 'string', metavar: 'FILE', help: 'connectome description' },
  extent: { type: 'integer', metavar: 'N', min: 0, default: 15, help: 'lattice radius' },
  runs: { type: 'integer', metavar: 'N', min: 1, default: 9, help: 'timed runs' },
} as const satisfies OptionSpecs;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const round = (ms: number): number => Math.round(ms * 100) / 100;

/** Decode and compile (at `extent`) times of one edge type with n distinct offsets. */
function offsetsScaling(extent: number): { offsets: number; decode_ms: number; compile_ms: number }[] {
  return [5_000, 20_000, 50_000, 200_000].map((n) => {
    const offsets = Array.from({ length: n }, (_, i) => [[(i % 1000) - 500, Math.floor(i / 1000) - 100], 1]);
    const doc = {
      nodes: [{ name: 'A', pattern: ['stride', [1, 1]] }, { name: 'B', pattern: ['stride', [1, 1]] }],
      edges: [{ src: 'A', tar: 'B', alpha: 1, lambda_mult: 1, offsets }],
      input_units: ['A'],
      output_units: ['B'],
    };
    const t0 = performance.now();
    const decoded = decodeConnectomeSpec(doc);
    const t1 = performance.now();
    if (E.isLeft(decoded)) throw new Error(decoded.left.join('; '));
    compileConnectome(decoded.right, extent);
    return { offsets: n, decode_ms: round(t1 - t0), compile_ms: round(performance.now() - t1) };
  });
}

process.exitCode = await runCommand(
  'bench-compile',
  () => {
    const { options } = parseArgs(process.argv.slice(2), OPTIONS);
    const file = resolve(options.connectome ?? (existsSync(FLYVIS_FILE) ? FLYVIS_FILE : demoConnectomePath));
    const t0 = performance.now();
    const spec = loadConnectomeSpec(file);
    const loadMs = performance.now() - t0;
    compileConnectome(spec, options.extent); // warm-up
    const times: number[] = [];
    let sizes = { n_nodes: 0, n_edges: 0 };
    for (let i = 0; i < options.runs; i++) {
      const start = performance.now();
      const c = compileConnectome(spec, options.extent);
      times.push(performance.now() - start);
      sizes = { n_nodes: c.nodes.length, n_edges: c.edges.length };
    }
    const result = {
      benchmark: 'compile',
      connectome: file,
      extent: options.extent,
      ...sizes,
      runs: options.runs,
      median_ms: round(median(times)),
      min_ms: round(Math.min(...times)),
      max_ms: round(Math.max(...times)),
      load_ms: round(loadMs),
      offsets_scaling: offsetsScaling(options.extent),
      node: process.version,
    };
    process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  },
  [ConnectomeError],
);
