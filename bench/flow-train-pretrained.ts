// Check: flyvis's trained networks solve the procedural flow task. Each of flyvis's 50 published
// networks (../shared/flyvis/pretrained-v0.1.0/opticflow/000/NNNN) with its own flow decoder
// predicts the flow of a procedural validation set as flyvis validates (Solver.test: t_pre 0.25 s
// of grey, decoder in evaluation mode; validateFlow in src/task/solver.ts); the endpoint error is
// compared with predicting zero. Also per network: the least-squares gain of the prediction
// (sum(p g) / sum(p p): about 1 when the units agree) and the correlation of each component with
// the truth (negative: a sign convention differs).
//
//   npx tsx bench/flow-train-pretrained.ts [--networks N] [--items K] [--extent E] [--out FILE.json]
import '../src/platform-node.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad, slice, tensor, type Tensor } from '../src/autograd/index.ts';
import { ProceduralFlow } from '../src/datasets/flow/procedural.ts';
import { loadNetworkDir } from '../src/results/network-dir.ts';
import { decode, decoderGAVP, decoderParamsFromStateDict, filterToHex, flowDecoderConfigOf } from '../src/task/decoder.ts';
import { SOLVER_TEST_T_PRE, meanOf, validateFlow } from '../src/task/solver.ts';
import { datasetValidationSet } from '../src/task/train-loop.ts';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const shared = process.env.FLYVIS_SHARED ?? join(import.meta.dirname, '..', '..', 'shared');
const root = join(shared, 'flyvis', 'pretrained-v0.1.0', 'opticflow', '000');
const nNets = Number(arg('networks', '50'));
const nItems = Number(arg('items', '8'));
const extent = Number(arg('extent', '15'));
const out = arg('out', '');

const ds = new ProceduralFlow({ split: 'validation', nSequences: nItems, seed: 0, extent });
const set = datasetValidationSet(ds);
const t0 = performance.now();
let zero = 0;
let gtAbs = 0;
{
  const b = set.batch(0, set.length);
  const gt = tensor(b.flow.data, [...b.flow.shape]);
  // EPE of predicting zero: the mean flow magnitude
  const [S, T, , H] = b.flow.shape;
  let s = 0;
  for (let q = 0; q < S * T; q++) {
    for (let h = 0; h < H; h++) {
      const x = b.flow.data[(q * 2) * H + h]!;
      const y = b.flow.data[(q * 2 + 1) * H + h]!;
      s += Math.hypot(x, y);
    }
  }
  zero = s / (S * T * H);
  gtAbs = zero;
  void gt;
}
process.stderr.write(`procedural validation set: ${nItems} items (${ds.item(0).lumShape.join(' x ')}), extent ${extent}, zero-prediction EPE ${zero.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);

interface Row { network: string; epe: number; l2norm: number; gain: number; corrX: number; corrY: number }
const rows: Row[] = [];
let reuse: Awaited<ReturnType<typeof loadNetworkDir>>['network'] | undefined;
for (let n = 0; n < nNets; n++) {
  const dir = join(root, String(n).padStart(4, '0'));
  const loaded = await loadNetworkDir(dir, { extent, ...(reuse ? { reuse } : {}) });
  reuse = loaded.network;
  const net = loaded.network;
  const decoder = decoderGAVP(flowDecoderConfigOf(loaded.config) as Record<string, unknown>, net.connectome);
  const params = decoderParamsFromStateDict(decoder, loaded.decoder!.flow!);
  const network = net.trainableParams();
  const v = validateFlow(net, network, decoder, params, set, { dt: ds.dt, tPre: SOLVER_TEST_T_PRE });
  // gain and per-component correlation of the prediction against the truth
  let pp = 0, pg = 0;
  const acc = [0, 1].map(() => ({ sp: 0, sg: 0, spp: 0, sgg: 0, spg: 0, n: 0 }));
  noGrad(() => {
    for (let s = 0; s < set.length; s += 4) {
      const e = Math.min(set.length, s + 4);
      const b = set.batch(s, e);
      const initialState = net.steadyState(SOLVER_TEST_T_PRE, ds.dt, e - s, { params: network });
      const activity = net.simulate(b.lum, ds.dt, { params: network, initialState, onWarning: () => {} }) as Tensor;
      const y = decode(decoder, filterToHex(decoder, params), activity).output;
      const [S, T, , H] = b.flow.shape;
      for (let q = 0; q < S * T; q++) {
        for (let c = 0; c < 2; c++) {
          for (let h = 0; h < H; h++) {
            const p = y.data[(q * 2 + c) * H + h]!;
            const g = b.flow.data[(q * 2 + c) * H + h]!;
            pp += p * p;
            pg += p * g;
            const a = acc[c]!;
            a.sp += p; a.sg += g; a.spp += p * p; a.sgg += g * g; a.spg += p * g; a.n++;
          }
        }
      }
      void slice;
    }
  });
  const corr = (a: (typeof acc)[number]): number => {
    const cov = a.spg / a.n - (a.sp / a.n) * (a.sg / a.n);
    return cov / Math.sqrt((a.spp / a.n - (a.sp / a.n) ** 2) * (a.sgg / a.n - (a.sg / a.n) ** 2));
  };
  const row = { network: loaded.name, epe: meanOf(v.epe), l2norm: meanOf(v.l2norm), gain: pg / pp, corrX: corr(acc[0]!), corrY: corr(acc[1]!) };
  rows.push(row);
  process.stderr.write(
    `${row.network}: EPE ${row.epe.toFixed(4)} (zero ${zero.toFixed(4)}, ratio ${(row.epe / zero).toFixed(3)}), gain ${row.gain.toFixed(3)}, corr x ${row.corrX.toFixed(3)} y ${row.corrY.toFixed(3)}  [${((performance.now() - t0) / 1000).toFixed(0)} s]\n`,
  );
}
const epes = rows.map((r) => r.epe).sort((a, b) => a - b);
const summary = {
  items: nItems,
  extent,
  zero_epe: zero,
  mean_flow_magnitude: gtAbs,
  networks: rows.length,
  epe_median: epes[Math.floor(epes.length / 2)],
  epe_min: epes[0],
  epe_max: epes.at(-1),
  beat_zero: rows.filter((r) => r.epe < zero).length,
  gain_median: rows.map((r) => r.gain).sort((a, b) => a - b)[Math.floor(rows.length / 2)],
  corr_x_median: rows.map((r) => r.corrX).sort((a, b) => a - b)[Math.floor(rows.length / 2)],
  corr_y_median: rows.map((r) => r.corrY).sort((a, b) => a - b)[Math.floor(rows.length / 2)],
  seconds: (performance.now() - t0) / 1000,
  rows,
};
console.log(JSON.stringify({ ...summary, rows: undefined }));
if (out !== '') writeFileSync(out, `${JSON.stringify(summary, null, 1)}\n`);
