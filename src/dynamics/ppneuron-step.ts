// The Euler step of passive point neurons with graded synapses (PPNeuronIGRSynapses), the
// reference implementation every backend's fused 'ppneuron' model is checked against, over
// batch-major typed arrays (b * N + n), float32 or float64:
//
//   v'[b, n] = v[b, n] + r[n] * (bias[n] - v[b, n] + s[b, n] + x[b, n]),   r = dt / max(tau, dt)
//
// where s is the synaptic input, targetSum(weight * activation(v[source])), computed by a
// synapse kernel. The arithmetic is in doubles and rounded once on store (as a float32 array
// stores), so every backend can reproduce it exactly.
import type { FloatArray } from '../kernels/basic.ts';

/** The fused model kind backends register implementations for (src/backends). */
export const PPNEURON_MODEL = 'ppneuron';

/** out = v + r (bias - v + s + x). */
export function ppneuronStep(
  v: FloatArray, s: FloatArray, x: FloatArray, bias: FloatArray, r: FloatArray,
  B: number, N: number, out: FloatArray,
): void {
  for (let b = 0; b < B; b++) {
    const o = b * N;
    for (let n = 0; n < N; n++) {
      const i = o + n;
      const vi = v[i]!;
      out[i] = vi + r[n]! * (bias[n]! - vi + s[i]! + x[i]!);
    }
  }
}

/**
 * The vector-Jacobian product of ppneuronStep for the upstream gradient g, except for the path
 * through s, which the caller completes with the synapse kernel's adjoint applied to gs:
 * gv = g (1 - r) as g - g r (overwritten; may be null), gs = g r (overwritten), gX = g r
 * (overwritten, where not null), and accumulated (+=, where not null): gBias[n] += sum_b g r,
 * gR[n] += sum_b g (bias - v + s + x). Products in doubles, rounded on store.
 */
export function ppneuronStepVjp(
  g: FloatArray, v: FloatArray, s: FloatArray, x: FloatArray, bias: FloatArray, r: FloatArray,
  B: number, N: number,
  gv: FloatArray | null, gs: FloatArray, gBias: FloatArray | null, gR: FloatArray | null, gX: FloatArray | null,
): void {
  for (let b = 0; b < B; b++) {
    const o = b * N;
    for (let n = 0; n < N; n++) {
      const i = o + n;
      const gi = g[i]!;
      const gr = gi * r[n]!;
      gs[i] = gr;
      if (gv) gv[i] = gi - gr;
      if (gX) gX[i] = gr;
      if (gBias) gBias[n]! += gr;
      if (gR) gR[n]! += gi * (bias[n]! - v[i]! + s[i]! + x[i]!);
    }
  }
}
