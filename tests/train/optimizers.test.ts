// Optimizers and schedules: torch's update rules, purity, exact JSON round trips, field-naming errors.
import { describe, expect, it } from 'vitest';
import { tensor } from '../../src/autograd/index.ts';
import {
  adam, constant, cosineDecay, optimizerStateFromJSON, optimizerStateToJSON, parseSchedule, sgd, stepDecay, stepwise, warmup,
} from '../../src/train/index.ts';

const f32 = (xs: number[]) => Float32Array.from(xs);

describe('adam', () => {
  it('follows torch.optim.Adam for two steps (bias-corrected moments)', () => {
    const opt = adam({ lr: 0.1 });
    const p0 = { w: tensor([1, -2, 0.5]) };
    const g1 = { w: tensor([0.3, -4, 0]) };
    const g2 = { w: tensor([0.1, 2, 1e-3]) };
    const s0 = opt.init(p0);
    const r1 = opt.update(p0, g1, s0);
    const r2 = opt.update(r1.params, g2, r1.state);
    for (let i = 0; i < 3; i++) {
      const [a, b] = [g1.w.data[i]!, g2.w.data[i]!];
      const m1 = 0.1 * a;
      const v1 = 0.001 * a * a;
      const q1 = Math.fround(p0.w.data[i]! - (0.1 / 0.1) * m1 / (Math.sqrt(v1) / Math.sqrt(0.001) + 1e-8));
      const m2 = 0.9 * Math.fround(m1) + 0.1 * b;
      const v2 = 0.999 * Math.fround(v1) + 0.001 * b * b;
      const q2 = q1 - (0.1 / (1 - 0.9 ** 2)) * Math.fround(m2) / (Math.sqrt(Math.fround(v2)) / Math.sqrt(1 - 0.999 ** 2) + 1e-8);
      expect(r1.params.w!.data[i]).toBeCloseTo(q1, 6);
      expect(r2.params.w!.data[i]).toBeCloseTo(q2, 6);
    }
    // First step: each parameter moves by lr against the sign of its gradient (0 stays).
    expect(Array.from(r1.params.w!.data)).toEqual(Array.from(f32([0.9, -1.9, 0.5])));
    expect(r2.state.step).toBe(2);
    // Pure: the inputs are unchanged.
    expect(Array.from(p0.w.data)).toEqual([1, -2, 0.5]);
    expect(Array.from(s0.slots.m!.w!)).toEqual([0, 0, 0]);
  });

  it('uses the schedule at the state step', () => {
    const opt = adam({ lr: stepDecay(1, 1, 0.5) });
    const p = { w: tensor([0]) };
    const g = { w: tensor([1]) };
    const r1 = opt.update(p, g, opt.init(p));
    const r2 = opt.update(r1.params, g, r1.state);
    expect(r1.params.w!.data[0]).toBeCloseTo(-1, 6);
    expect(r2.params.w!.data[0]! - r1.params.w!.data[0]!).toBeCloseTo(-0.5, 6);
  });

  it('rejects bad hyper-parameters and mismatched gradients, naming the field', () => {
    expect(() => adam({ beta1: 1 })).toThrow(/beta1: expected a number in \[0, 1\), got 1/);
    const opt = adam();
    const p = { w: tensor([1, 2]) };
    expect(() => opt.update(p, { w: tensor([1]) }, opt.init(p))).toThrow(/grads\.w: expected 2 values, got 1/);
    expect(() => opt.update(p, {}, opt.init(p))).toThrow(/grads\.w: missing/);
  });
});

describe('sgd', () => {
  it('follows torch.optim.SGD with momentum and nesterov', () => {
    const p = { w: tensor([1]) };
    const g = { w: tensor([2]) };
    const plain = sgd({ lr: 0.1 });
    expect(plain.update(p, g, plain.init(p)).params.w!.data[0]).toBeCloseTo(0.8, 6);
    const mom = sgd({ lr: 0.1, momentum: 0.5 });
    const r1 = mom.update(p, g, mom.init(p)); // b = 2
    const r2 = mom.update(r1.params, g, r1.state); // b = 0.5 * 2 + 2 = 3
    expect(r2.params.w!.data[0]).toBeCloseTo(1 - 0.2 - 0.3, 6);
    const nes = sgd({ lr: 0.1, momentum: 0.5, nesterov: true });
    const n1 = nes.update(p, g, nes.init(p)); // b = 2, d = 2 + 1 = 3
    expect(n1.params.w!.data[0]).toBeCloseTo(0.7, 6);
    expect(() => sgd({ lr: 0.1, nesterov: true })).toThrow(/nesterov: expected momentum > 0/);
  });
});

describe('optimizer state JSON', () => {
  it('round-trips exactly and reports every bad field', () => {
    const opt = adam({ lr: 0.01 });
    const p = { a: tensor([0.1, 0.2, 0.3]), b: tensor([1e-7]) };
    let s = opt.init(p);
    for (let i = 0; i < 3; i++) s = opt.update(p, { a: tensor([0.123456789, -1 / 3, 7]), b: tensor([Math.PI]) }, s).state;
    const back = optimizerStateFromJSON(JSON.parse(JSON.stringify(optimizerStateToJSON(s))), opt, p);
    expect(back.step).toBe(3);
    expect(Array.from(back.slots.v!.a!)).toEqual(Array.from(s.slots.v!.a!));
    expect(Array.from(back.slots.m!.b!)).toEqual(Array.from(s.slots.m!.b!));
    const json = optimizerStateToJSON(s) as { step: unknown; slots: Record<string, Record<string, unknown>> };
    json.step = -1;
    json.slots.m!.a = [1, 2];
    json.slots.extra = {};
    expect(() => optimizerStateFromJSON(json, opt, p)).toThrow(
      /optimizer\.step: expected an integer >= 0, got -1.*optimizer\.slots\.extra: unknown slot for adam.*optimizer\.slots\.m\.a: expected 3 finite numbers/,
    );
  });
});

describe('schedules', () => {
  it('computes each schedule per iteration', () => {
    expect(constant(0.1)(99)).toBe(0.1);
    expect(stepDecay(1, 10, 0.5)(9)).toBe(1);
    expect(stepDecay(1, 10, 0.5)(25)).toBe(0.25);
    expect(cosineDecay(1, 10)(0)).toBe(1);
    expect(cosineDecay(1, 10)(5)).toBeCloseTo(0.5, 12);
    expect(cosineDecay(1, 10, 0.1)(20)).toBe(0.1);
    // np.repeat(np.linspace(1e-2, 1e-4, 3), 90 // 3): 0.01, 0.00505, 0.0001 (linear, as flyvis)
    const sw = stepwise(1e-2, 1e-4, 3, 90);
    expect([sw(0), sw(29), sw(30), sw(59), sw(60), sw(89), sw(200)]).toEqual([0.01, 0.01, 0.00505, 0.00505, 0.0001, 0.0001, 0.0001]);
    // 100 // 3 = 33 per stage, then stop: iteration 99 is past the three stages
    const uneven = stepwise(5e-5, 5e-6, 3, 100);
    expect([uneven(32), uneven(33), uneven(66), uneven(99)]).toEqual([5e-5, 2.75e-5, 5e-6, 5e-6]);
    expect(warmup(4, constant(1))(1)).toBe(0.5);
    expect(parseSchedule('step:100:0.5', 0.2, 1000)(250)).toBeCloseTo(0.05, 12);
    expect(parseSchedule('cosine', 0.2, 1000)(1000)).toBe(0);
  });
  it('rejects malformed schedules, naming what was expected', () => {
    expect(() => parseSchedule('exp', 0.1, 10)).toThrow(/schedule: expected 'exp:GAMMA', got 'exp'/);
    expect(() => parseSchedule('linear', 0.1, 10)).toThrow(/schedule: expected constant, exp:GAMMA/);
    expect(() => stepDecay(0.1, 0, 0.5)).toThrow(/every: expected a positive integer, got 0/);
    expect(() => constant(-1)).toThrow(/lr: expected a positive finite number, got -1/);
  });
});
