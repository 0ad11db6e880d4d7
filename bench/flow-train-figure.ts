// The figure of a `flyvis train` run: validation EPE at every checkpoint (validation/epe.h5 over
// validation/iteration.h5) with the EPE of predicting zero on the same validation items, and the
// training loss (loss.h5, mean over windows of iterations) beside it. Also prints the numbers.
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

const [dir, out] = process.argv.slice(2);
if (dir === undefined || out === undefined) {
  process.stderr.write('usage: flow-train-figure.ts RUN_DIR OUT.svg [--window W]\n');
  process.exit(2);
}
const wi = process.argv.indexOf('--window');
const window = wi >= 0 ? Number(process.argv[wi + 1]) : 25;
const meta = JSON.parse(readFileSync(join(dir, '_meta.yaml'), 'utf8')) as { config: { task: { dataset: Record<string, unknown>; seed: number }; network: { connectome: { extent: number } } } };
const values = async (f: string): Promise<number[]> => [...(await readHdf5Dataset(join(dir, f))).values];
const iterations = await values('validation/iteration.h5');
const epe = await values('validation/epe.h5');
const loss = await values('loss.h5');

// the zero prediction's EPE on the same validation items: the mean flow magnitude
const ds = meta.config.task.dataset;
const spec = ds.type === 'ProceduralFlow' ? 'procedural' : `sintel:${String(ds.path)}`;
const validation = flowDatasetFromSpec(spec, {
  split: 'validation', augment: false, extent: meta.config.network.connectome.extent, seed: meta.config.task.seed,
  ...(ds.type === 'ProceduralFlow' ? { nSequences: Number(ds.n_validation) } : {}),
});
const set = datasetValidationSet(validation);
const b = set.batch(0, set.length);
const [S, T, , H] = b.flow.shape;
let zero = 0;
for (let q = 0; q < S * T; q++) for (let h = 0; h < H; h++) zero += Math.hypot(b.flow.data[2 * q * H + h]!, b.flow.data[(2 * q + 1) * H + h]!);
zero /= S * T * H;

const smoothed: { iteration: number; loss: number }[] = [];
for (let s = 0; s < loss.length; s += window) {
  const part = loss.slice(s, s + window);
  smoothed.push({ iteration: s + part.length, loss: part.reduce((a, x) => a + x, 0) / part.length });
}
const extent = meta.config.network.connectome.extent;
const figure: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  background: 'white',
  config: { font: 'sans-serif', view: { stroke: null } },
  hconcat: [
    {
      title: `Validation EPE (${set.length} held-out ${spec} scenes, extent ${extent})`,
      width: 380,
      height: 240,
      layer: [
        {
          data: { values: iterations.map((iteration, i) => ({ iteration, epe: epe[i] })) },
          mark: { type: 'line', point: true, strokeWidth: 1.5 },
          encoding: {
            x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
            y: { field: 'epe', type: 'quantitative', title: 'endpoint error', scale: { zero: false } },
          },
        },
        {
          data: { values: [{ zero }] },
          mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' },
          encoding: { y: { field: 'zero', type: 'quantitative' } },
        },
        {
          data: { values: [{ zero, iteration: iterations.at(-1)! }] },
          mark: { type: 'text', align: 'right', dy: -6, color: 'gray', text: 'predicting zero' },
          encoding: { x: { field: 'iteration', type: 'quantitative' }, y: { field: 'zero', type: 'quantitative' } },
        },
      ],
    },
    {
      title: `Training loss (l2norm, mean over ${window} iterations)`,
      width: 380,
      height: 240,
      data: { values: smoothed },
      mark: { type: 'line', strokeWidth: 1.5, color: '#c44e52' },
      encoding: {
        x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
        y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } },
      },
    },
  ],
} as TopLevelSpec;
await writePlot(out, figure);
console.log(JSON.stringify({ iterations, epe, zero_epe: zero, loss_first: smoothed[0]?.loss, loss_last: smoothed.at(-1)?.loss, out }));
