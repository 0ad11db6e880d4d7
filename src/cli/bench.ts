// `flyvis bench [--connectome FILE] [--extent N] [--batch B] [--steps T] [--kernel NAME] --json`
// (a contract): times the network's Euler steps as flyvis's PyTorch anchor does
// (../shared/bench/torch_anchor.py): forward over T frames of random input, and forward plus
// backward of a loss over all T steps. Prints one JSON object with --json.
import { type Tensor, mean, noGrad, square, tensor, valueAndGrad } from '../autograd/index.ts';
import { GRAD_RECORDS, checkSimulation } from '../budget.ts';
import { BAD_INPUT, CONNECTOME_OPTIONS, networkFromOptions } from './common.ts';
import { type OptionSpecs, formatHelp, parseArgs, runCommand } from './args.ts';

const OPTIONS = {
  ...CONNECTOME_OPTIONS,
  batch: { type: 'integer', metavar: 'B', min: 1, default: 1, help: 'samples per step' },
  steps: { type: 'integer', metavar: 'T', min: 1, default: 50, help: 'Euler steps (frames) timed, and backpropagated through' },
  kernel: { type: 'string', metavar: 'NAME', default: 'auto', help: 'synapse kernel (auto, scatter, csr, runs, wasm, wasm-threads, gpujs)' },
  threads: { type: 'integer', metavar: 'N', min: 1, default: 1, help: "threads for 'auto' (2 lets it pick wasm-threads)" },
  repeats: { type: 'integer', metavar: 'R', min: 1, default: 3, help: 'timed repeats (the median is reported)' },
  json: { type: 'boolean', help: 'print one JSON object' },
} as const satisfies OptionSpecs;

const SUMMARY =
  "Times the network's Euler steps the way flyvis's PyTorch anchor does: forward over --steps\n" +
  'frames of random input, and forward plus backward of mean(activity^2) over all of them.';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number): number => Math.round(x * 1000) / 1000;

export function run(argv: readonly string[]): Promise<number> {
  return runCommand(
    'bench',
    async () => {
      const { options: o, help } = parseArgs(argv, OPTIONS);
      if (help) {
        process.stdout.write(formatHelp('bench', SUMMARY, OPTIONS));
        return 0;
      }
      const t0 = performance.now();
      const net = await networkFromOptions(o, { kernel: o.kernel, threads: o.threads });
      const buildMs = performance.now() - t0;
      const B = o.batch;
      const T = o.steps;
      const N = net.nNodes;
      // The input and the recorded backward pass are allocated here, before the library's checks.
      checkSimulation(`bench (--steps ${T}, --batch ${B})`, { batch: B, steps: T, nodes: N, records: 3 + GRAD_RECORDS });
      // Uniform random input to every node, as the anchor (seeded: runs are comparable).
      let seed = 12345;
      const x = tensor(Float32Array.from({ length: B * T * N }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)), [B, T, N]);
      const dt = 0.02;
      noGrad(() => net.forward({ data: x.data.subarray(0, B * 2 * N), shape: [B, 2, N] }, dt)); // warm-up
      const fwd: number[] = [];
      for (let r = 0; r < o.repeats; r++) {
        const t = performance.now();
        noGrad(() => net.forward(x, dt));
        fwd.push((performance.now() - t) / T);
      }
      const forwardPeakMb = process.resourceUsage().maxRSS / 1024;
      const loss = valueAndGrad((p: Record<string, Tensor>) => mean(square(net.forward(x, dt, { params: p }))));
      const fb: number[] = [];
      for (let r = 0; r < o.repeats; r++) {
        const params = net.trainableParams();
        const t = performance.now();
        loss(params);
        fb.push((performance.now() - t) / T);
      }
      const result = {
        kernel: net.kernel.name,
        batch: B,
        steps: T,
        n_nodes: N,
        n_edges: net.nEdges,
        build_ms: round(buildMs),
        forward_ms_per_step: round(median(fwd)),
        forward_backward_ms_per_step: round(median(fb)),
        forward_peak_rss_mb: round(forwardPeakMb),
        peak_rss_mb: round(process.resourceUsage().maxRSS / 1024),
      };
      net.dispose();
      process.stdout.write(o.json ? JSON.stringify(result) + '\n' : Object.entries(result).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n');
      return 0;
    },
    BAD_INPUT,
  );
}
