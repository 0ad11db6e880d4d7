// The figure of a `flyvis train` run: validation EPE at every checkpoint (validation/epe.h5 over
// validation/iteration.h5) with the EPE of predicting zero on the same validation items, and the
// training loss (loss.h5, mean over windows of iterations) beside it. Also prints the numbers.
// bench/flow-train-report.ts reuses the reading and the panels.
//
//   npx tsx bench/flow-train-figure.ts RUN_DIR OUT.svg [--window W]
import '../src/platform-node.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { flowDatasetFromSpec } from '../src/datasets/flow/spec.ts';
import { readHdf5Dataset } from '../src/io/hdf5.ts';
import { writePlot } from '../src/plot/render.ts';
import { datasetValidationSet } from '../src/task/train-loop.ts';

/** What a run's logs say about its training, and the zero prediction's EPE on its validation items. */
export interface TrainingCurves {
  /** The dataset, as `--dataset` names it (procedural, sintel:PATH). */
  readonly dataset: string;
  readonly extent: number;
  /** Validation items. */
  readonly nValidation: number;
  /** Per checkpoint: its iteration, validation EPE (t_pre 0.5 s) and validation loss (t_pre 0.25 s). */
  readonly iterations: readonly number[];
  readonly epe: readonly number[];
  readonly valLoss: readonly number[];
  /** The EPE of predicting zero on the validation items: their mean flow magnitude. */
  readonly zeroEpe: number;
  /** The training loss per iteration. */
  readonly loss: readonly number[];
}

/** Reads a run directory's validation and loss logs and computes the zero prediction's EPE. */
export async function readTrainingCurves(dir: string): Promise<TrainingCurves> {
  const meta = JSON.parse(readFileSync(join(dir, '_meta.yaml'), 'utf8')) as { config: { task: { dataset: Record<string, unknown>; seed: number }; network: { connectome: { extent: number } } } };
  const values = async (f: string): Promise<number[]> => [...(await readHdf5Dataset(join(dir, f))).values];
  const iterations = await values('validation/iteration.h5');
  const epe = await values('validation/epe.h5');
  const valLoss = await values('validation/loss.h5');
  const loss = await values('loss.h5');
  // the zero prediction's EPE on the same validation items: the mean flow magnitude
  const ds = meta.config.task.dataset;
  const dataset = ds.type === 'ProceduralFlow' ? 'procedural' : `sintel:${String(ds.path)}`;
  const extent = meta.config.network.connectome.extent;
  const validation = flowDatasetFromSpec(dataset, {
    split: 'validation', augment: false, extent, seed: meta.config.task.seed,
    ...(ds.type === 'ProceduralFlow' ? { nSequences: Number(ds.n_validation) } : {}),
  });
  const set = datasetValidationSet(validation);
  const b = set.batch(0, set.length);
  const [S, T, , H] = b.flow.shape as [number, number, number, number];
  let zero = 0;
  for (let q = 0; q < S * T; q++) for (let h = 0; h < H; h++) zero += Math.hypot(b.flow.data[2 * q * H + h]!, b.flow.data[(2 * q + 1) * H + h]!);
  zero /= S * T * H;
  return { dataset, extent, nValidation: set.length, iterations, epe, valLoss, zeroEpe: zero, loss };
}

/** The training loss as means over windows of `window` iterations (at each window's last iteration). */
export function smoothedLoss(c: TrainingCurves, window: number): { iteration: number; loss: number }[] {
  const out: { iteration: number; loss: number }[] = [];
  for (let s = 0; s < c.loss.length; s += window) {
    const part = c.loss.slice(s, s + window);
    out.push({ iteration: s + part.length, loss: part.reduce((a, x) => a + x, 0) / part.length });
  }
  return out;
}

/** The validation EPE panel: a line over the checkpoints, the zero prediction as a dashed rule. */
export function epePanel(c: TrainingCurves, size = { width: 380, height: 240 }): Record<string, unknown> {
  return {
    title: `Validation EPE (${c.nValidation} held-out ${c.dataset} scenes, extent ${c.extent})`,
    ...size,
    layer: [
      {
        data: { values: c.iterations.map((iteration, i) => ({ iteration, epe: c.epe[i] })) },
        mark: { type: 'line', point: true, strokeWidth: 1.5 },
        encoding: {
          x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
          y: { field: 'epe', type: 'quantitative', title: 'endpoint error', scale: { zero: false } },
        },
      },
      {
        data: { values: [{ zero: c.zeroEpe }] },
        mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' },
        encoding: { y: { field: 'zero', type: 'quantitative' } },
      },
      {
        data: { values: [{ zero: c.zeroEpe, iteration: c.iterations.at(-1)! }] },
        mark: { type: 'text', align: 'right', dy: -6, color: 'gray', text: 'predicting zero' },
        encoding: { x: { field: 'iteration', type: 'quantitative' }, y: { field: 'zero', type: 'quantitative' } },
      },
    ],
  };
}

/** The training loss panel (means over `window` iterations). */
export function lossPanel(c: TrainingCurves, window: number, size = { width: 380, height: 240 }): Record<string, unknown> {
  return {
    title: `Training loss (l2norm, mean over ${window} iterations)`,
    ...size,
    data: { values: smoothedLoss(c, window) },
    mark: { type: 'line', strokeWidth: 1.5, color: '#c44e52' },
    encoding: {
      x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
      y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } },
    },
  };
}

if (import.meta.filename === process.argv[1]) {
  const [dir, out] = process.argv.slice(2);
  if (dir === undefined || out === undefined) {
    process.stderr.write('usage: flow-train-figure.ts RUN_DIR OUT.svg [--window W]\n');
    process.exit(2);
  }
  const wi = process.argv.indexOf('--window');
  const window = wi >= 0 ? Number(process.argv[wi + 1]) : 25;
  const c = await readTrainingCurves(dir);
  const smoothed = smoothedLoss(c, window);
  const figure = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    background: 'white',
    config: { font: 'sans-serif', view: { stroke: null } },
    hconcat: [epePanel(c), lossPanel(c, window)],
  } as unknown as TopLevelSpec;
  await writePlot(out, figure);
  console.log(JSON.stringify({ iterations: c.iterations, epe: c.epe, zero_epe: c.zeroEpe, loss_first: smoothed[0]?.loss, loss_last: smoothed.at(-1)?.loss, out }));
}
