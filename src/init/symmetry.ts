// Symmetry constraints (flyvis's `symmetric` config and `symmetry_masks`): lists of keys whose
// values are tied to their joint mean. For tuple keys an identifier may hold null entries, which
// match anything in that position, e.g. [null, 'T4a', null, null] matches every key with target T4a.
import { ParameterConfigError, ParameterError } from './errors.ts';
import { type Key, type KeyPart, formatKey, keyId } from './keys.ts';

const isKeyPart = (x: unknown): x is KeyPart => typeof x === 'string' || (typeof x === 'number' && !Number.isNaN(x));

/** Positions of the keys an identifier matches (all of them when it holds nulls). */
function matchIdentifier(id: unknown, keys: readonly Key[], index: ReadonlyMap<string, number>, path: string): number[] {
  const tuple = keys.length > 0 && Array.isArray(keys[0]);
  if (!tuple) {
    if (!isKeyPart(id)) throw new ParameterConfigError(path, 'a key (string or number)', id);
    const i = index.get(keyId(id));
    if (i === undefined) throw new ParameterError(path, `no parameter key matches ${formatKey(id)}`);
    return [i];
  }
  const arity = (keys[0] as readonly KeyPart[]).length;
  if (!Array.isArray(id) || id.length !== arity || !id.every((x) => x === null || isKeyPart(x))) {
    throw new ParameterConfigError(path, `a key of ${arity} entries (strings, numbers or null)`, id);
  }
  const parts = id as readonly (KeyPart | null)[];
  let hits: number[];
  if (parts.every((x) => x !== null)) {
    const i = index.get(keyId(parts as KeyPart[]));
    hits = i === undefined ? [] : [i];
  } else {
    hits = [];
    keys.forEach((k, i) => {
      const kp = k as readonly KeyPart[];
      if (parts.every((x, j) => x === null || x === kp[j])) hits.push(i);
    });
  }
  if (hits.length === 0) throw new ParameterError(path, `no parameter key matches ${formatKey(id)}`);
  return hits;
}

/**
 * The groups of parameter positions tied by a `symmetric` config (one ascending Int32Array per
 * listed group; duplicates removed). Absent, null or [] gives none. An identifier that matches no
 * key is an error naming it (`path[g][j]`).
 */
export function symmetryGroups(
  symmetric: unknown,
  keys: readonly Key[],
  index: ReadonlyMap<string, number>,
  path: string,
): Int32Array[] {
  if (symmetric === undefined || symmetric === null) return [];
  if (!Array.isArray(symmetric)) throw new ParameterConfigError(path, 'a list of lists of keys', symmetric);
  return symmetric.map((group: unknown, g) => {
    if (!Array.isArray(group) || group.length === 0) {
      throw new ParameterConfigError(`${path}[${g}]`, 'a non-empty list of keys', group);
    }
    const set = new Set<number>();
    group.forEach((id: unknown, j) => {
      for (const i of matchIdentifier(id, keys, index, `${path}[${g}][${j}]`)) set.add(i);
    });
    return Int32Array.from([...set].sort((a, b) => a - b));
  });
}

/**
 * Sets each group's values to their mean, in place, group after group (as flyvis). The mean is
 * taken in float64 and kept within the group's own range, so tied values never leave a clamp range.
 */
export function tieToMeanInPlace(values: Float32Array, groups: readonly Int32Array[]): void {
  for (const group of groups) {
    if (group.length === 0) continue;
    let sum = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (const i of group) {
      const v = values[i]!;
      sum += v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const mean = Math.min(hi, Math.max(lo, Math.fround(sum / group.length)));
    for (const i of group) values[i] = mean;
  }
}
