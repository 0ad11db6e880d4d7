// One flyvis flow training step here (src/task/solver.ts: flowTrainStep) against a PyTorch
// rebuild of flyvis's step (bench/flow-train-step.py, float64: network from the epoch's grey state,
// DecoderGAVP in training mode with the same dropout mask, l2norm, torch.optim.Adam with two
// parameter groups, the activity penalty's gradient and SGD, clamp) on flyvis's connectome at
// extent 1 and a procedural batch: the loss, the penalty and every parameter and buffer after the
// step. Skipped without a python3 that imports torch and numpy.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dropoutUniforms, exportFlowStep, flowStepSetup } from '../../bench/flow-train-step.ts';
import { filterToHex } from '../../src/task/decoder.ts';
import { dropoutRng, epochInitialState, flowTrainStep } from '../../src/task/solver.ts';
import { PROJECT_DIR } from '../helpers/shared.ts';
import { torchPython } from './helpers.ts';

const python = torchPython();
if (python === null) console.warn('[task/solver-torch] skipping: no python3 that can import torch and numpy (set FLYVIS_TORCH_PYTHON)');

const readF64 = (file: string): Float64Array => {
  const b = readFileSync(file);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

describe.skipIf(python === null)("one training step against flyvis's step in PyTorch", () => {
  it('loss, penalty, network parameters, decoder parameters and running statistics agree (extent 1)', () => {
    // the first iteration of 40: learning rates 5e-5 (network, decoder, penalty)
    const { solver, batch, state: s0 } = flowStepSetup(1, { iters: 40, frames: 4 });
    const initial = epochInitialState(solver, s0.network);
    const r = flowTrainStep(solver, s0, batch, initial, dropoutRng(7, 0));
    expect(r.finite).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'flyvis-solver-torch-'));
    try {
      const g = solver.decoder.geometry;
      const R = batch.lum.shape[0] * batch.lum.shape[1];
      exportFlowStep(dir, solver, s0, batch, dropoutUniforms(7, 0, R * 8 * g.H * g.W));
      const out = JSON.parse(execFileSync(python!, [join(PROJECT_DIR, 'bench', 'flow-train-step.py'), dir, '--check'], { encoding: 'utf8' })) as { loss: number; penalty: number };
      expect(r.loss).toBeGreaterThan(0);
      expect(Math.abs(r.loss - out.loss)).toBeLessThan(1e-5 * out.loss);
      expect(Math.abs(r.penalty - out.penalty)).toBeLessThan(1e-5 * out.penalty);
      const lr = solver.valueAt('lr_net', 0);
      const report: string[] = [];
      const compare = (name: string, ours: ArrayLike<number>, before: ArrayLike<number>, tolerance: (i: number) => number): void => {
        const ref = readF64(join(dir, `torch_${name.replace(/\./g, '_')}.f64`));
        expect(ref.length).toBe(ours.length);
        let worst = 0;
        let moved = 0;
        for (let i = 0; i < ref.length; i++) {
          const d = Math.abs(ours[i]! - ref[i]!);
          worst = Math.max(worst, d / tolerance(i));
          if (Math.abs(ref[i]! - before[i]!) > 0.5 * lr) moved++;
        }
        report.push(`${name}: worst ${worst.toFixed(3)} of tolerance, ${moved}/${ref.length} moved`);
        expect(worst, name).toBeLessThan(1);
      };
      // Adam's first step moves every parameter with a gradient by about lr; float32 here and
      // float64 there agree to a small fraction of it
      for (const [k, t] of Object.entries(r.state.network)) compare(k, t.data, s0.network[k]!.data, () => 0.02 * lr);
      // the decoder as a checkpoint saves it (masked kernel entries zeroed, as flyvis's forward pass leaves them)
      const dec = filterToHex(solver.decoder, r.state.decoder);
      // base.0.bias feeds batch normalisation, which removes it: its gradient is rounding noise
      // (about 1e-9 relative) that Adam's first step turns into +-lr either way, in flyvis too
      for (const k of solver.decoder.parameterNames) compare(k, dec[k]!.data, s0.decoder[k]!.data, () => (k === 'base.0.bias' ? 2.01 : 0.02) * lr);
      for (const k of ['base.1.running_mean', 'base.1.running_var']) {
        compare(k, dec[k]!.data, s0.decoder[k]!.data, (i) => 1e-5 * Math.max(1, Math.abs(dec[k]!.data[i]!)));
      }
      console.log(`[task/solver-torch] loss ${r.loss.toFixed(6)} vs ${out.loss.toFixed(6)}, penalty ${r.penalty.toExponential(6)} vs ${out.penalty.toExponential(6)}; ${report.join('; ')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
