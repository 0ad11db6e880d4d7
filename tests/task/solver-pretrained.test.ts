// flyvis's trained networks solve the procedural flow task: network 0000 of the published ensemble
// with its own flow decoder, validated as flyvis's Solver.test validates (t_pre 0.25 s, decoder in
// evaluation mode), predicts the flow of procedural validation scenes better than predicting zero,
// with the right sign in x and y. (bench/flow-train-pretrained.ts runs all 50; docs/training.md.)
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProceduralFlow } from '../../src/datasets/flow/procedural.ts';
import { loadNetworkDir } from '../../src/results/index.ts';
import { type Tensor, noGrad } from '../../src/autograd/index.ts';
import { decode, decoderGAVP, decoderParamsFromStateDict, flowDecoderConfigOf } from '../../src/task/decoder.ts';
import { SOLVER_TEST_T_PRE, meanOf, validateFlow } from '../../src/task/solver.ts';
import { datasetValidationSet } from '../../src/task/train-loop.ts';
import { sharedPath } from '../helpers/shared.ts';

const dir = sharedPath('flyvis', 'pretrained-v0.1.0', 'opticflow', '000', '0000');
const has = existsSync(join(dir, 'best_chkpt'));
if (!has) console.warn(`[task/solver-pretrained] skipping: ${dir} is absent`);

describe.skipIf(!has)("flyvis's trained network on procedural flow", () => {
  it('opticflow/000/0000 beats the zero prediction on 4 procedural validation scenes', async () => {
    const loaded = await loadNetworkDir(dir);
    const net = loaded.network;
    try {
      const decoder = decoderGAVP(flowDecoderConfigOf(loaded.config) as Record<string, unknown>, net.connectome);
      const params = decoderParamsFromStateDict(decoder, loaded.decoder!.flow!);
      const ds = new ProceduralFlow({ split: 'validation', nSequences: 4, seed: 0 });
      const set = datasetValidationSet(ds);
      const v = validateFlow(net, net.trainableParams(), decoder, params, set, { dt: ds.dt, tPre: SOLVER_TEST_T_PRE });
      // zero prediction: the mean flow magnitude
      const b = set.batch(0, 4);
      const [S, T, , H] = b.flow.shape;
      let zero = 0;
      for (let q = 0; q < S * T; q++) for (let h = 0; h < H; h++) zero += Math.hypot(b.flow.data[2 * q * H + h]!, b.flow.data[(2 * q + 1) * H + h]!);
      zero /= S * T * H;
      const epe = meanOf(v.epe);
      console.log(`[task/solver-pretrained] opticflow/000/0000: EPE ${epe.toFixed(4)}, zero prediction ${zero.toFixed(4)} (ratio ${(epe / zero).toFixed(3)})`);
      expect(zero).toBeGreaterThan(1);
      expect(epe).toBeLessThan(0.93 * zero);
      // each component of the prediction goes with the truth (a flipped sign convention would not)
      const y = noGrad(() => {
        const initialState = net.steadyState(SOLVER_TEST_T_PRE, ds.dt, S, {});
        const activity = net.simulate(b.lum, ds.dt, { initialState, onWarning: () => {} }) as Tensor;
        return decode(decoder, params, activity).output;
      });
      const dot = [0, 0];
      for (let q = 0; q < S * T; q++) for (let c = 0; c < 2; c++) for (let h = 0; h < H; h++) dot[c]! += y.data[(2 * q + c) * H + h]! * b.flow.data[(2 * q + c) * H + h]!;
      expect(dot[0]).toBeGreaterThan(0);
      expect(dot[1]).toBeGreaterThan(0);
    } finally {
      net.dispose();
    }
  }, 60_000);
});
