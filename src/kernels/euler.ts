// The fused Euler step of passive point neurons (PPNeuronIGRSynapses), per node n and sample b:
//
//   v'[b, n] = v[b, n] + r[n] * (bias[n] - v[b, n] + s[b, n] + x[b, n]),   r = dt / max(tau, dt)
//
// where s is the synaptic input (a synapse kernel's forward). One pass over the nodes instead
// of a chain of elementwise ops, each allocating a new array. Arrays are batch-major (b * N + n).

export function eulerForward(
  v: Float32Array, s: Float32Array, x: Float32Array, bias: Float32Array, r: Float32Array,
  B: number, N: number, out: Float32Array,
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
 * The vector-Jacobian product of eulerForward for the upstream gradient g, except for the path
 * through s, which the caller completes with the synapse kernel's backward applied to gs:
 * gv = g * (1 - r) (overwritten), gs = g * r (overwritten), and, where not null,
 * gBias[n] = sum_b g r, gR[n] = sum_b g (bias - v + s + x), gX = g * r (overwritten).
 */
export function eulerBackward(
  g: Float32Array, v: Float32Array, s: Float32Array, x: Float32Array, bias: Float32Array, r: Float32Array,
  B: number, N: number,
  gv: Float32Array | null, gs: Float32Array, gBias: Float32Array | null, gR: Float32Array | null, gX: Float32Array | null,
): void {
  if (gBias) gBias.fill(0);
  if (gR) gR.fill(0);
  for (let b = 0; b < B; b++) {
    const o = b * N;
    for (let n = 0; n < N; n++) {
      const i = o + n;
      const gi = g[i]!;
      const rn = r[n]!;
      const gr = gi * rn;
      gs[i] = gr;
      if (gv) gv[i] = gi - gr;
      if (gX) gX[i] = gr;
      if (gBias) gBias[n]! += gr;
      if (gR) gR[n]! += gi * (bias[n]! - v[i]! + s[i]! + x[i]!);
    }
  }
}
