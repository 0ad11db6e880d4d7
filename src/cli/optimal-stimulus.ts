// `flyvis optimal-stimulus [--params CKPT] --cell-type T4a --out DIR [--iterations N] ...`:
// flyvis's artificial optimal stimulus for a cell type's central cell (src/analysis/optimal-stimulus.ts,
// flyvis/analysis/optimal_stimuli.py artificial_optimal_stimuli), by gradient ascent through the
// network. Writes DIR/stimulus.npy (float32 (frames, hexals)), DIR/response.npy (float32
// (frames, cells of the type)), DIR/losses.csv (iteration, loss, central, mei) and DIR/summary.json
// (options, the central cell's response to the initial noise and to the result). Progress lines
// on stderr (unless --quiet). Bad input: one line on stderr, exit 2.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AnalysisError } from '../analysis/errors.ts';
import { optimalStimulus } from '../analysis/optimal-stimulus.ts';
import { writeNpy } from '../io/npy.ts';
import { type OptionSpecs, UsageError, formatHelp, parseArgs, runCommand } from './args.ts';
import { BAD_INPUT, CONNECTOME_OPTIONS, networkFromOptions, paramsOption } from './common.ts';

const OPTIONS = {
  ...CONNECTOME_OPTIONS,
  ...paramsOption(),
  'cell-type': { type: 'string', metavar: 'TYPE', help: "the cell type whose central cell to excite, e.g. T4a" },
  out: { type: 'string', metavar: 'DIR', help: 'folder for stimulus.npy, response.npy, losses.csv and summary.json (created)' },
  iterations: { type: 'integer', metavar: 'N', min: 0, default: 200, help: 'Adam steps (flyvis: 200)' },
  lr: { type: 'number', metavar: 'LR', min: 0, default: 1e-2, help: 'learning rate (flyvis: 1e-2)' },
  't-stim': { type: 'number', metavar: 'SECONDS', min: 0, default: 49 / 200, help: 'stimulus duration (flyvis: 49/200)' },
  dt: { type: 'dt', metavar: 'DT', default: 1 / 100, help: 'integration time step (flyvis: 1/100)' },
  'weight-central': { type: 'number', metavar: 'W', default: 1, help: "weight of -mean(exp(central activity)) (flyvis: 1)" },
  'weight-mei': { type: 'number', metavar: 'W', min: 0, default: 3000, help: 'weight of mean((stimulus - 0.5)^2), the pull to grey (flyvis: 3000)' },
  'all-frames': { type: 'boolean', help: "optimise every frame's response (flyvis's default: the last frame only)" },
  seed: { type: 'integer', metavar: 'S', min: 0, default: 0, help: 'seed of the initial uniform noise' },
  quiet: { type: 'boolean', help: 'no progress lines on stderr' },
} as const satisfies OptionSpecs;

const SUMMARY =
  "flyvis's artificial optimal stimulus: gradient ascent on a movie, from uniform noise, on the\n" +
  "response of a cell type's central cell at the last frame, regularised towards grey as flyvis\n" +
  'does (GenerateOptimalStimuli.artificial_optimal_stimuli).';

export function run(argv: readonly string[]): Promise<number> {
  return runCommand(
    'optimal-stimulus',
    async () => {
      const { options: o, help } = parseArgs(argv, OPTIONS);
      if (help) {
        process.stdout.write(formatHelp('optimal-stimulus', SUMMARY, OPTIONS));
        return 0;
      }
      for (const required of ['cell-type', 'out'] as const) {
        if (o[required] === undefined) throw new UsageError(`--${required} is required`);
      }
      const net = await networkFromOptions(o);
      const started = performance.now();
      let last = started;
      const r = optimalStimulus(net, o['cell-type']!, {
        iterations: o.iterations,
        lr: o.lr,
        tStim: o['t-stim'],
        dt: o.dt,
        weightCentral: o['weight-central'],
        weightMei: o['weight-mei'],
        lastOnly: !o['all-frames'],
        seed: o.seed,
        onIteration: (i, l) => {
          const now = performance.now();
          if (o.quiet || (i < o.iterations && now - last < 2000)) return;
          last = now;
          process.stderr.write(`flyvis optimal-stimulus: iteration ${i}/${o.iterations}  loss ${l.loss.toPrecision(6)} (central ${l.central.toPrecision(6)}, mei ${l.mei.toPrecision(6)})\n`);
        },
      });
      const dir = o.out!;
      mkdirSync(dir, { recursive: true });
      writeNpy(join(dir, 'stimulus.npy'), r.stimulus, r.shape);
      writeNpy(join(dir, 'response.npy'), r.response, r.responseShape);
      writeFileSync(join(dir, 'losses.csv'), ['iteration,loss,central,mei', ...r.losses.map((l, i) => `${i + 1},${l.loss},${l.central},${l.mei}`)].join('\n') + '\n');
      const summary = {
        producer: 'flyvis optimal-stimulus',
        cell_type: r.cellType,
        central_node: r.centralNode,
        params: o.params === undefined ? null : resolve(o.params),
        extent: o.extent,
        dt: r.dt,
        frames: r.shape[0],
        hexals: r.shape[1],
        iterations: o.iterations,
        lr: o.lr,
        weight_central: o['weight-central'],
        weight_mei: o['weight-mei'],
        last_only: !o['all-frames'],
        seed: o.seed,
        central_response_initial: r.initialCentral,
        central_response_final: r.finalCentral,
        seconds: (performance.now() - started) / 1000,
      };
      writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
      process.stdout.write(
        `flyvis optimal-stimulus: ${r.cellType}: central response ${r.initialCentral.toPrecision(6)} (noise) -> ${r.finalCentral.toPrecision(6)}; wrote ${dir}/stimulus.npy (${r.shape.join(' x ')}), response.npy, losses.csv, summary.json\n`,
      );
      return 0;
    },
    [...BAD_INPUT, AnalysisError],
  );
}
