// Clamp rules (flyvis's `clamp` config): 'non_negative' clamps at zero, [min, max] to a range,
// absent / null / false does nothing. Rules act on raw (float32) values.
import { ParameterConfigError, ParameterError } from './errors.ts';

export type ClampRule =
  | { readonly kind: 'none' }
  | { readonly kind: 'non_negative' }
  | { readonly kind: 'range'; readonly min: number; readonly max: number };

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

/** The float32 neighbour of a float32 value `x` in direction `up` (x finite). */
function float32Step(x: number, up: boolean): number {
  if (x === 0) return up ? 1.401298464324817e-45 : -1.401298464324817e-45;
  f32[0] = x;
  i32[0]! += (x > 0) === up ? 1 : -1;
  return f32[0]!;
}

/** The smallest float32 >= x. */
export function float32Ceil(x: number): number {
  const f = Math.fround(x);
  return f < x ? float32Step(f, true) : f;
}

/** The largest float32 <= x. */
export function float32Floor(x: number): number {
  const f = Math.fround(x);
  return f > x ? float32Step(f, false) : f;
}

/** Parses a `clamp` config value; `path` names the field in errors. */
export function parseClamp(value: unknown, path: string): ClampRule {
  if (value === undefined || value === null || value === false) return { kind: 'none' };
  if (value === 'non_negative') return { kind: 'non_negative' };
  const expected = "'non_negative', [min, max] or null";
  if (Array.isArray(value) && value.length === 2) {
    const [min, max] = value as unknown[];
    if (typeof min !== 'number' || typeof max !== 'number' || Number.isNaN(min) || Number.isNaN(max)) {
      throw new ParameterConfigError(path, `${expected} with numbers`, value);
    }
    if (min > max) throw new ParameterError(path, `expected min <= max, got [${min}, ${max}]`);
    if (float32Ceil(min) > float32Floor(max)) {
      throw new ParameterError(path, `no float32 value lies in [${min}, ${max}]`);
    }
    return { kind: 'range', min, max };
  }
  throw new ParameterConfigError(path, expected, value);
}

/** Bounds of a rule as float32 values inside the rule's range (so clamped float32 values stay inside). */
export function clampBounds(rule: ClampRule): readonly [lo: number, hi: number] {
  switch (rule.kind) {
    case 'none':
      return [-Infinity, Infinity];
    case 'non_negative':
      return [0, Infinity];
    case 'range':
      return [float32Ceil(rule.min), float32Floor(rule.max)];
    default:
      throw new Error(`clamp: unknown rule ${JSON.stringify(rule)}`);
  }
}

/** Clamps `values` in place by `rule` (NaN stays NaN, as torch's clamp). */
export function clampInPlace(values: Float32Array, rule: ClampRule): void {
  if (rule.kind === 'none') return;
  const [lo, hi] = clampBounds(rule);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo) values[i] = lo;
    else if (v > hi) values[i] = hi;
  }
}
