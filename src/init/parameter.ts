// A parameter (one entry of flyvis's node_params / edge_params) and a parameter set (all of a
// network's parameters in state_dict order), with the pure functions that read them.
import type { ParamConfig } from './config.ts';
import type { ClampRule } from './clamp.ts';
import type { Transform } from './distributions.ts';
import { ParameterError } from './errors.ts';
import { type Key, formatKey, keyId } from './keys.ts';

export type Route = 'nodes' | 'edges';

/**
 * A learnable (or fixed) parameter shared over groups of nodes or edges. Raw values are float32,
 * one per group; `indices` maps every node (route 'nodes') or edge (route 'edges') to its group.
 * Treat every field as read-only: functions that change values return a new Parameter.
 */
export interface Parameter {
  /** The config key, e.g. 'bias', 'syn_strength'. */
  readonly name: string;
  readonly route: Route;
  /** flyvis's state_dict name: `${route}_${name}`, e.g. 'nodes_bias'. */
  readonly stateDictName: string;
  /** Parameter type (config `type`), e.g. 'RestingPotential'. */
  readonly type: string;
  /** Initial distribution (config `initial_dist`), e.g. 'Normal'. */
  readonly initialDist: string;
  /** Raw values, one per group (float32). */
  readonly raw: Float32Array;
  /** Semantic value = raw ('identity') or exp(raw) ('exp', Lognormal). */
  readonly transform: Transform;
  /** Config `requires_grad`: only trainable parameters are clamped and symmetrised. */
  readonly trainable: boolean;
  /** The group of each node or edge (flyvis's scatter indices). */
  readonly indices: Int32Array;
  /** The groupby columns, as configured. */
  readonly groupby: readonly string[];
  /** Each group's key ('R1', ['R1', 'L1'], ['R1', 'L1', du, dv], ...), in group order. */
  readonly keys: readonly Key[];
  /** Key id (see keyId) to group position. */
  readonly keyIndex: ReadonlyMap<string, number>;
  /** Groups of positions tied to their mean by clampParameters (from config `symmetric`). */
  readonly symmetry: readonly Int32Array[];
  readonly clamp: ClampRule;
  /** The parameter's config (a frozen deep copy). */
  readonly config: ParamConfig;
}

/** All parameters of a network, in state_dict order (node parameters in config order, then edge parameters). */
export interface ParameterSet {
  readonly parameters: readonly Parameter[];
  /** state_dict name to parameter. */
  readonly byName: ReadonlyMap<string, Parameter>;
}

/** A parameter set from parameters in order; state_dict names must be unique. */
export function makeParameterSet(parameters: readonly Parameter[]): ParameterSet {
  const byName = new Map<string, Parameter>();
  for (const p of parameters) {
    if (byName.has(p.stateDictName)) throw new ParameterError(p.stateDictName, 'appears twice in the parameter set');
    byName.set(p.stateDictName, p);
  }
  return Object.freeze({ parameters: Object.freeze([...parameters]), byName });
}

/** The parameter with a state_dict name ('nodes_bias', ...); unknown names are an error naming them. */
export function getParameter(set: ParameterSet, stateDictName: string): Parameter {
  const p = set.byName.get(stateDictName);
  if (p === undefined) {
    throw new ParameterError(stateDictName, `no such parameter (have ${[...set.byName.keys()].join(', ')})`);
  }
  return p;
}

/** The values used in computation, one per group: raw, or exp(raw) for Lognormal (float32, a new array). */
export function semanticValues(p: Parameter): Float32Array {
  if (p.transform === 'identity') return p.raw.slice();
  if (p.transform === 'exp') return p.raw.map(Math.exp);
  throw new ParameterError(p.stateDictName, `unknown transform ${JSON.stringify(p.transform)}`);
}

/** The group position of `key`; an unknown key is an error naming it. */
export function keyPosition(p: Parameter, key: Key): number {
  const i = p.keyIndex.get(keyId(key));
  if (i === undefined) throw new ParameterError(p.stateDictName, `unknown key ${formatKey(key)}`);
  return i;
}

/** The semantic value (raw, or exp(raw) for Lognormal) of the group with `key`. */
export function valueByKey(p: Parameter, key: Key): number {
  const raw = rawValueByKey(p, key);
  return p.transform === 'exp' ? Math.fround(Math.exp(raw)) : raw;
}

/** The raw value of the group with `key` (flyvis's `parameter[key]`). */
export function rawValueByKey(p: Parameter, key: Key): number {
  return p.raw[keyPosition(p, key)]!;
}

/** A copy of `p` with new raw values (same length; copied). */
export function withRaw(p: Parameter, raw: ArrayLike<number>): Parameter {
  if (raw.length !== p.raw.length) {
    throw new ParameterError(p.stateDictName, `expected ${p.raw.length} values, got ${raw.length}`);
  }
  return Object.freeze({ ...p, raw: Float32Array.from(raw) });
}

/** Total number of parameter values (flyvis `num_parameters`). */
export const numParameters = (set: ParameterSet): number =>
  set.parameters.reduce((n, p) => n + p.raw.length, 0);

/** Number of trainable parameter values (requires_grad). */
export const numTrainableParameters = (set: ParameterSet): number =>
  set.parameters.reduce((n, p) => n + (p.trainable ? p.raw.length : 0), 0);
