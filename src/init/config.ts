// Parameter configs in flyvis's schema (snake_case, as in its YAML), flyvis 1.1.3's defaults,
// and the small validated readers every parameter type and distribution uses. Configs passed in
// are never mutated: they are deep-copied and frozen before anything reads them.
import { ParameterConfigError, ParameterError } from './errors.ts';

/**
 * One parameter's config, e.g. `node_config.bias`. `type` picks the parameter type, `groupby`
 * the node or edge columns whose unique combinations share a value, `initial_dist` the initial
 * distribution, `requires_grad` whether the parameter is trainable. Optional: `clamp`
 * (`'non_negative'` or `[min, max]`), `symmetric` (lists of keys tied to their mean), and the
 * distribution's own fields (`value`, `mean`, `std`, `mode`, `seed`, ...). Unknown keys
 * (`penalize`, `form`, ...) are accepted and kept.
 */
export interface ParamConfig {
  readonly type: string;
  readonly groupby: readonly string[];
  readonly initial_dist: string;
  readonly requires_grad: boolean;
  readonly [field: string]: unknown;
}

/** `node_config` or `edge_config`: parameter name (e.g. `bias`) to its config, in order. */
export type ParamConfigs = Readonly<Record<string, ParamConfig>>;

/** The default node_config's parameters. */
export interface DefaultNodeConfig {
  bias: ParamConfig;
  time_const: ParamConfig;
}

/** The default edge_config's parameters. */
export interface DefaultEdgeConfig {
  sign: ParamConfig;
  syn_count: ParamConfig;
  syn_strength: ParamConfig;
}

/** flyvis 1.1.3's default `node_config` (Network defaults), as a fresh copy. */
export function defaultNodeConfig(): DefaultNodeConfig {
  return {
    bias: {
      type: 'RestingPotential',
      groupby: ['type'],
      initial_dist: 'Normal',
      mode: 'sample',
      requires_grad: true,
      mean: 0.5,
      std: 0.05,
      symmetric: [],
      penalize: { activity: true },
      seed: 0,
    },
    time_const: {
      type: 'TimeConstant',
      groupby: ['type'],
      initial_dist: 'Value',
      value: 0.05,
      requires_grad: true,
    },
  };
}

/** flyvis 1.1.3's default `edge_config` (Network defaults), as a fresh copy. */
export function defaultEdgeConfig(): DefaultEdgeConfig {
  return {
    sign: {
      type: 'SynapseSign',
      initial_dist: 'Value',
      requires_grad: false,
      groupby: ['source_type', 'target_type'],
    },
    syn_count: {
      type: 'SynapseCount',
      initial_dist: 'Lognormal',
      mode: 'mean',
      requires_grad: false,
      std: 1.0,
      groupby: ['source_type', 'target_type', 'dv', 'du'],
    },
    syn_strength: {
      type: 'SynapseCountScaling',
      initial_dist: 'Value',
      requires_grad: true,
      scale: 0.01,
      clamp: 'non_negative',
      groupby: ['source_type', 'target_type'],
    },
  };
}

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x);

function deepFreeze<T>(x: T): T {
  if (typeof x === 'object' && x !== null && !ArrayBuffer.isView(x)) {
    for (const v of Object.values(x)) deepFreeze(v);
    Object.freeze(x);
  }
  return x;
}

/** A deep, frozen copy of JSON-like config data (objects, arrays, primitives). */
export function frozenCopy<T>(value: T, path: string): T {
  let copy: T;
  try {
    copy = structuredClone(value);
  } catch {
    throw new ParameterConfigError(path, 'plain data (objects, arrays, numbers, strings, booleans, null)', value);
  }
  return deepFreeze(copy);
}

/** Checks the fields every parameter config needs and returns a frozen deep copy of it. */
export function validateParamConfig(raw: unknown, path: string): ParamConfig {
  if (!isPlainObject(raw)) throw new ParameterConfigError(path, 'an object', raw);
  readString(raw, 'type', path);
  readString(raw, 'initial_dist', path);
  readBoolean(raw, 'requires_grad', path);
  const groupby = raw.groupby;
  if (!Array.isArray(groupby) || groupby.length === 0) {
    throw new ParameterConfigError(`${path}.groupby`, 'a non-empty list of column names', groupby);
  }
  groupby.forEach((c: unknown, i) => {
    if (typeof c !== 'string') throw new ParameterConfigError(`${path}.groupby[${i}]`, 'a column name', c);
    if (groupby.indexOf(c) !== i) throw new ParameterConfigError(`${path}.groupby[${i}]`, 'no repeated column', c);
  });
  return frozenCopy(raw as ParamConfig, path);
}

/** Checks that a `node_config` / `edge_config` is an object of parameter configs; returns a frozen copy. */
export function validateParamConfigs(raw: unknown, path: string): ParamConfigs {
  if (!isPlainObject(raw)) throw new ParameterConfigError(path, 'an object of parameter configs', raw);
  const out: Record<string, ParamConfig> = {};
  for (const [name, cfg] of Object.entries(raw)) out[name] = validateParamConfig(cfg, `${path}.${name}`);
  return Object.freeze(out);
}

// --- validated readers ------------------------------------------------------------------------

type Fields = Readonly<Record<string, unknown>>;

export function readString(config: Fields, field: string, path: string): string {
  const v = config[field];
  if (typeof v !== 'string') throw new ParameterConfigError(`${path}.${field}`, 'a string', v);
  return v;
}

export function readBoolean(config: Fields, field: string, path: string): boolean {
  const v = config[field];
  if (typeof v !== 'boolean') throw new ParameterConfigError(`${path}.${field}`, 'true or false', v);
  return v;
}

/** A finite number; `fallback` when the field is absent (undefined). */
export function readNumber(config: Fields, field: string, path: string, fallback?: number): number {
  const v = config[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ParameterConfigError(`${path}.${field}`, 'a finite number', config[field]);
  }
  return v;
}

/**
 * One finite number per group: a scalar (repeated over the groups, as flyvis's `np.repeat`) or a
 * list / typed array of exactly `n` finite numbers.
 */
export function readPerGroup(config: Fields, field: string, n: number, path: string): Float64Array {
  const v = config[field];
  const p = `${path}.${field}`;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ParameterConfigError(p, 'a finite number', v);
    return new Float64Array(n).fill(v);
  }
  const list = Array.isArray(v) ? v : ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as Float64Array) : null;
  if (list === null) throw new ParameterConfigError(p, `a number or a list of ${n} numbers`, v);
  if (list.length !== n) throw new ParameterError(p, `expected a number or a list of ${n} numbers (one per group), got ${list.length} values`);
  const out = new Float64Array(n);
  list.forEach((x: unknown, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new ParameterConfigError(`${p}[${i}]`, 'a finite number', x);
    out[i] = x;
  });
  return out;
}
