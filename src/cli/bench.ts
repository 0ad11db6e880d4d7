// `flyvis bench [--connectome FILE] [--extent N] [--batch B] [--steps T] [--kernel NAME] --json`
// (a contract): times the network's Euler steps as flyvis's PyTorch anchor does
// (../shared/bench/torch_anchor.py): forward over T frames of random input, and forward plus
// backward of a loss over all T steps; then `flyvis fit` iterations on the same shapes (as
// bench/torch_fit_anchor.py does in PyTorch). Prints one JSON object with --json. Besides wall
// time per step it reports the process's CPU time per step (user + system, every thread): on a
// shared machine wall time grows with other jobs' load, CPU time far less.
import { type Tensor, mean, noGrad, square, tensor, valueAndGrad } from '../autograd/index.ts';
import { acceptedNames } from '../backends/index.ts';
import { GRAD_RECORDS, checkSimulation } from '../budget.ts';
import { adam, makeTrainStep, maskedMSE, networkProjection, simulateActivity } from '../train/index.ts';
import { BAD_INPUT, CONNECTOME_OPTIONS, networkFromOptions } from './common.ts';
import { type OptionSpecs, formatHelp, parseArgs, runCommand } from './args.ts';

const OPTIONS = {
  ...CONNECTOME_OPTIONS,
  batch: { type: 'integer', metavar: 'B', min: 1, default: 1, help: 'samples per step' },
  steps: { type: 'integer', metavar: 'T', min: 1, default: 50, help: 'Euler steps (frames) timed, and backpropagated through' },
  kernel: { type: 'string', metavar: 'NAME', default: 'auto', help: `backend or synapse kernel (${acceptedNames().join(', ')})` },
  threads: { type: 'integer', metavar: 'N', min: 1, default: 1, help: 'threads the backend may use (2: wasm on both cores)' },
  repeats: { type: 'integer', metavar: 'R', min: 1, default: 3, help: 'timed repeats (the median is reported)' },
  'fit-iters': { type: 'integer', metavar: 'K', min: 0, default: 2, help: 'timed `flyvis fit` iterations (Adam, masked MSE, clamp) on the same movie shape (0: none)' },
  'fit-t-pre': { type: 'number', metavar: 'S', min: 0, default: 0.2, help: 'seconds of grey before the movie in a fit iteration, differentiated as flyvis fit does' },
  json: { type: 'boolean', help: 'print one JSON object' },
} as const satisfies OptionSpecs;

const SUMMARY =
  "Times the network's Euler steps the way flyvis's PyTorch anchor does: forward over --steps\n" +
  'frames of random input, and forward plus backward of mean(activity^2) over all of them; then\n' +
  'training iterations of flyvis fit (grey --fit-t-pre, the movie, masked MSE, Adam, clamp).';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** The process's CPU time so far, ms (user + system, every thread). */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
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
      const fwdCpu: number[] = [];
      for (let r = 0; r < o.repeats; r++) {
        const c = cpuMs();
        const t = performance.now();
        noGrad(() => net.forward(x, dt));
        fwd.push((performance.now() - t) / T);
        fwdCpu.push((cpuMs() - c) / T);
      }
      const forwardPeakMb = process.resourceUsage().maxRSS / 1024;
      const loss = valueAndGrad((p: Record<string, Tensor>) => mean(square(net.forward(x, dt, { params: p }))));
      const fb: number[] = [];
      const fbCpu: number[] = [];
      for (let r = 0; r < o.repeats; r++) {
        const params = net.trainableParams();
        const c = cpuMs();
        const t = performance.now();
        loss(params);
        fb.push((performance.now() - t) / T);
        fbCpu.push((cpuMs() - c) / T);
      }
      const peakMb = process.resourceUsage().maxRSS / 1024;
      // flyvis fit iterations: a (B, T, 1, hexals) movie and a full target, t-pre of grey first.
      const fit: number[] = [];
      const tPre = o['fit-t-pre'];
      if (o['fit-iters'] > 0) {
        const H = net.stimulus.nInputElements;
        const movie = tensor(Float32Array.from({ length: B * T * H }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)), [B, T, 1, H]);
        const target = { data: Float32Array.from({ length: B * T * N }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) - 0.5), shape: [B, T, N] };
        const optimizer = adam({ lr: 0.01 });
        const step = makeTrainStep({
          loss: (p: Record<string, Tensor>) => maskedMSE(simulateActivity(net, p, movie, dt, { tPre }), target),
          optimizer,
          project: networkProjection(net),
        });
        let params: Record<string, Tensor> = net.trainableParams();
        let state = step(params, optimizer.init(params), undefined).state; // warm-up
        for (let r = 0; r < o['fit-iters']; r++) {
          const t = performance.now();
          const res = step(params, state, undefined);
          fit.push(performance.now() - t);
          params = res.params;
          state = res.state;
        }
      }
      const result = {
        kernel: net.backend.kernelName,
        backend: net.backend.backend,
        batch: B,
        steps: T,
        n_nodes: N,
        n_edges: net.nEdges,
        build_ms: round(buildMs),
        forward_ms_per_step: round(median(fwd)),
        forward_backward_ms_per_step: round(median(fb)),
        forward_peak_rss_mb: round(forwardPeakMb),
        peak_rss_mb: round(peakMb),
        forward_cpu_ms_per_step: round(median(fwdCpu)),
        forward_backward_cpu_ms_per_step: round(median(fbCpu)),
        ...(fit.length > 0
          ? { fit_ms_per_iter: round(median(fit)), fit_iters_per_s: round(1000 / median(fit)), fit_t_pre: tPre, fit_steps_per_iter: T + Math.trunc(tPre / dt) }
          : {}),
      };
      net.dispose();
      process.stdout.write(o.json ? JSON.stringify(result) + '\n' : Object.entries(result).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n');
      return 0;
    },
    BAD_INPUT,
  );
}
