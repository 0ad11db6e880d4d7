// Properties of the parameter system over random values, clamp rules, symmetry groups and
// tables: clamp is a projection (in range, idempotent), it ties symmetry groups to their mean and
// leaves everything else alone, and scatter indices agree with key lookup.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Table } from '../src/graph/types.ts';
import {
  type ClampRule,
  type Parameter,
  type ParameterSet,
  clampParameters,
  gather,
  initParameters,
  keyIndexMap,
  makeParameterSet,
  valueByKey,
} from '../src/init/index.ts';

const clampArb: fc.Arbitrary<ClampRule> = fc.oneof(
  fc.constant<ClampRule>({ kind: 'none' }),
  fc.constant<ClampRule>({ kind: 'non_negative' }),
  fc
    .tuple(fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: 0.01, max: 5, noNaN: true }))
    .map(([min, width]): ClampRule => ({ kind: 'range', min, max: min + width })),
);

interface ParamSpec {
  raw: number[];
  clamp: ClampRule;
  trainable: boolean;
  groups: number[][];
}

/** Raw values and disjoint symmetry groups over their positions. */
const paramArb: fc.Arbitrary<ParamSpec> = fc
  .integer({ min: 1, max: 30 })
  .chain((n) =>
    fc.record({
      raw: fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: n, maxLength: n }),
      clamp: clampArb,
      trainable: fc.boolean(),
      // Each position goes to group g (0..3) or to none (-1); groups with members become symmetry groups.
      assignment: fc.array(fc.integer({ min: -1, max: 3 }), { minLength: n, maxLength: n }),
    }),
  )
  .map(({ raw, clamp, trainable, assignment }) => {
    const groups = [0, 1, 2, 3].map((g) => assignment.flatMap((a, i) => (a === g ? [i] : []))).filter((g) => g.length > 0);
    return { raw, clamp, trainable, groups };
  });

function makeParam(spec: ParamSpec, i: number): Parameter {
  const keys = spec.raw.map((_, k) => `k${k}`);
  return {
    name: `p${i}`,
    route: 'nodes',
    stateDictName: `nodes_p${i}`,
    type: 'TimeConstant',
    initialDist: 'Value',
    raw: Float32Array.from(spec.raw),
    transform: 'identity',
    trainable: spec.trainable,
    indices: Int32Array.from(spec.raw, (_, k) => k),
    groupby: ['type'],
    keys,
    keyIndex: keyIndexMap(keys),
    symmetry: spec.groups.map((g) => Int32Array.from(g)),
    clamp: spec.clamp,
    config: { type: 'TimeConstant', groupby: ['type'], initial_dist: 'Value', requires_grad: spec.trainable },
  };
}

const setOf = (specs: ParamSpec[]): ParameterSet => makeParameterSet(specs.map(makeParam));
const setArb = fc.array(paramArb, { minLength: 1, maxLength: 4 });

const inRule = (x: number, rule: ClampRule): boolean =>
  rule.kind === 'none' || (rule.kind === 'non_negative' ? x >= 0 : x >= rule.min && x <= rule.max);

const mean = (xs: ArrayLike<number>, idx: ArrayLike<number>): number => {
  let s = 0;
  for (let k = 0; k < idx.length; k++) s += xs[idx[k]!]!;
  return s / idx.length;
};

describe('clampParameters', () => {
  it('puts every trainable value in its clamp range', () => {
    fc.assert(
      fc.property(setArb, (specs) => {
        const out = clampParameters(setOf(specs));
        out.parameters.forEach((p, i) => {
          if (specs[i]!.trainable) for (const x of p.raw) expect(inRule(x, p.clamp)).toBe(true);
        });
      }),
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(setArb, (specs) => {
        const once = clampParameters(setOf(specs));
        const twice = clampParameters(once);
        twice.parameters.forEach((p, i) => expect(p.raw).toEqual(once.parameters[i]!.raw));
      }),
    );
  });

  it('leaves non-trainable parameters and the input set untouched', () => {
    fc.assert(
      fc.property(setArb, (specs) => {
        const input = setOf(specs);
        const before = input.parameters.map((p) => p.raw.slice());
        const out = clampParameters(input);
        input.parameters.forEach((p, i) => expect(p.raw).toEqual(before[i]));
        out.parameters.forEach((p, i) => {
          if (!specs[i]!.trainable) expect(p.raw).toEqual(before[i]);
        });
      }),
    );
  });

  it('sets each symmetry group to the mean it had (after clamping) and leaves other entries as clamped', () => {
    fc.assert(
      fc.property(setArb, (specs) => {
        const input = setOf(specs);
        const out = clampParameters(input);
        out.parameters.forEach((p, i) => {
          const spec = specs[i]!;
          if (!spec.trainable) return;
          // The clamp alone, elementwise (what every entry outside the groups must equal).
          const clampedOnly = input.parameters[i]!.raw.map((x) => clampScalar(x, spec.clamp));
          const grouped = new Set(spec.groups.flat());
          clampedOnly.forEach((x, k) => {
            if (!grouped.has(k)) expect(p.raw[k]).toBe(x);
          });
          for (const g of spec.groups) {
            const m = mean(clampedOnly, g);
            if (spec.clamp.kind === 'none') expect(m).toBeCloseTo(mean(input.parameters[i]!.raw, g), 10);
            for (const k of g) {
              expect(p.raw[k]).toBe(p.raw[g[0]!]);
              expect(Math.abs(p.raw[k]! - m)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(m)));
            }
          }
        });
      }),
    );
  });
});

/** Elementwise clamp of one float32 value, by its definition (smallest/largest float32 inside the range). */
function clampScalar(x: number, rule: ClampRule): number {
  if (rule.kind === 'none') return x;
  if (rule.kind === 'non_negative') return x < 0 ? 0 : x;
  let lo = Math.fround(rule.min);
  if (lo < rule.min) lo = nextFloat32(lo, 1);
  let hi = Math.fround(rule.max);
  if (hi > rule.max) hi = nextFloat32(hi, -1);
  return x < lo ? lo : x > hi ? hi : x;
}

function nextFloat32(x: number, dir: 1 | -1): number {
  // Smallest step away from x in direction dir among float32 values.
  let step = Math.abs(x) * 2 ** -24 || 2 ** -149;
  let y = Math.fround(x + dir * step);
  while (y === x) {
    step *= 2;
    y = Math.fround(x + dir * step);
  }
  return y;
}

describe('scatter indices', () => {
  const columnsArb = fc.integer({ min: 1, max: 40 }).chain((n) =>
    fc.record({
      type: fc.array(fc.constantFrom('A', 'B', 'C', 'D'), { minLength: n, maxLength: n }),
      a: fc.array(fc.integer({ min: -3, max: 3 }), { minLength: n, maxLength: n }),
      b: fc.array(fc.constantFrom(0.5, -1.25, 2), { minLength: n, maxLength: n }),
      groupby: fc.shuffledSubarray(['type', 'a', 'b'], { minLength: 1 }),
    }),
  );

  it('gathering a parameter through its scatter indices equals looking each element up by key', () => {
    fc.assert(
      fc.property(columnsArb, ({ type, a, b, groupby }) => {
        const n = type.length;
        const cats = ['D', 'C', 'B', 'A'];
        const nodes: Table = {
          length: n,
          columns: {
            index: Int32Array.from(type, (_, i) => i),
            type: { kind: 'categorical', codes: Int32Array.from(type, (t) => cats.indexOf(t)), categories: cats },
            a: Int32Array.from(a),
            b: Float32Array.from(b),
          },
        };
        const edges: Table = { length: 0, columns: { source_index: new Int32Array(0), target_index: new Int32Array(0) } };
        const config = { p: { type: 'TimeConstant', groupby, initial_dist: 'Normal', mode: 'sample', mean: 0, std: 1, seed: 1, requires_grad: true } };
        const p = initParameters({ nodes, edges }, config, {}).parameters[0]!;
        const cell = (c: string, i: number): string | number => (c === 'type' ? type[i]! : c === 'a' ? a[i]! : b[i]!);
        const perElement = gather(p.raw, p.indices);
        const firstSeen = new Map<string, number>();
        for (let i = 0; i < n; i++) {
          const parts = groupby.map((c) => cell(c, i));
          const key = parts.length === 1 ? parts[0]! : parts;
          expect(perElement[i]).toBe(valueByKey(p, key));
          // Groups are numbered by first appearance and equal keys share a group.
          const id = JSON.stringify(parts);
          if (!firstSeen.has(id)) {
            expect(p.indices[i]).toBe(firstSeen.size);
            firstSeen.set(id, p.indices[i]!);
          }
          expect(p.indices[i]).toBe(firstSeen.get(id));
        }
        expect(p.keys.length).toBe(firstSeen.size);
      }),
    );
  });
});
