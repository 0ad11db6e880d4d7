import { describe, expect, it } from 'vitest';
import { makeActivation } from '../../src/kernels/activation.ts';
import { scatterSynapseKernel } from '../../src/kernels/synapse.ts';

describe('activations', () => {
  it('follow torch definitions and defaults', () => {
    expect(makeActivation().f(-1)).toBe(0);
    expect(makeActivation({ type: 'elu' }).f(-1)).toBeCloseTo(Math.exp(-1) - 1, 12);
    expect(makeActivation({ type: 'elu', alpha: 2 }).f(-1)).toBeCloseTo(2 * (Math.exp(-1) - 1), 12);
    expect(makeActivation({ type: 'leakyrelu' }).f(-2)).toBeCloseTo(-0.02, 12);
    expect(makeActivation({ type: 'leakyrelu', negative_slope: 0.2 }).df(-2)).toBe(0.2);
    expect(makeActivation({ type: 'softplus' }).f(0)).toBeCloseTo(Math.log(2), 12);
    expect(makeActivation({ type: 'softplus' }).f(30)).toBe(30); // above torch's threshold: linear
    expect(makeActivation({ type: 'sigmoid' }).df(0)).toBeCloseTo(0.25, 12);
    expect(makeActivation('tanh').f(0.5)).toBeCloseTo(Math.tanh(0.5), 12);
  });

  it('reject unknown types and arguments, naming the field', () => {
    expect(() => makeActivation({ type: 'gelu' }, 'dynamics.activation')).toThrow(
      /dynamics\.activation\.type: unknown activation 'gelu' \(expected one of: relu, elu, softplus, leakyrelu, sigmoid, tanh\)/,
    );
    expect(() => makeActivation({ type: 'elu', beta: 1 })).toThrow(/activation\.beta: unknown argument for elu \(expected alpha\)/);
    expect(() => makeActivation({ type: 'elu', alpha: 'x' })).toThrow(/activation\.alpha: expected a finite number/);
  });
});

describe('scatter synapse kernel errors', () => {
  const relu = makeActivation();
  it('rejects out-of-range and mismatched edge indices', () => {
    expect(() => scatterSynapseKernel({ nNodes: 2, source: Int32Array.of(0, 2), target: Int32Array.of(1, 1) }, relu)).toThrow(
      /edges\.source\[1\] = 2 is outside \[0, 2\)/,
    );
    expect(() => scatterSynapseKernel({ nNodes: 2, source: Int32Array.of(0), target: Int32Array.of(1, 1) }, relu)).toThrow(
      /source has 1 entries but target has 2/,
    );
  });
  it('rejects buffers of the wrong length', () => {
    const k = scatterSynapseKernel({ nNodes: 3, source: Int32Array.of(0, 1), target: Int32Array.of(1, 2) }, relu);
    expect(() => k.bind(new Float32Array(3))).toThrow(/synapse weights: expected 2 values, got 3/);
    const b = k.bind(Float32Array.of(1, 2));
    expect(() => b.forward(new Float32Array(5), 2, new Float32Array(6))).toThrow(/activity: expected 6 values, got 5/);
  });
  it('computes a known chain by hand', () => {
    // 0 -> 1 (w 2), 1 -> 2 (w -1), 0 -> 2 (w 0.5); relu
    const k = scatterSynapseKernel({ nNodes: 3, source: Int32Array.of(0, 1, 0), target: Int32Array.of(1, 2, 2) }, relu);
    const out = new Float32Array(3);
    k.bind(Float32Array.of(2, -1, 0.5)).forward(Float32Array.of(1, -3, 4), 1, out);
    expect(Array.from(out)).toEqual([0, 2, 0.5]);
  });
});
