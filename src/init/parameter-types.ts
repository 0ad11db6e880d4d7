// Parameter types (flyvis's `type`): how a parameter is shared over nodes or edges and what its
// groups start from. Each type groups one table by the config's `groupby` columns (by first
// appearance) and may write per-group fields (`value`, `mean`, ...) over the config before the
// initial distribution reads it, as flyvis's Parameter subclasses update their param_config.
// Users add their own with `registerParameterType`.
import { type NumericColumn, type Table, isCategorical } from '../graph/types.ts';
import { type ParamConfig, readNumber } from './config.ts';
import { ParameterConfigError, ParameterError } from './errors.ts';
import { npLogFloat32Array } from './float32-math.ts';
import { type Grouping, groupMeanFloat32 } from './grouping.ts';
import type { Route } from './parameter.ts';

/** What a parameter type sees when it initializes a parameter. */
export interface ParameterTypeContext {
  /** The parameter config (frozen). */
  readonly config: ParamConfig;
  /** The table grouped: the connectome's nodes or edges. */
  readonly table: Table;
  /** The table's rows grouped by `config.groupby`. */
  readonly grouping: Grouping;
  /** Field path of the config, e.g. `edge_config.syn_count`. */
  readonly path: string;
}

/** A parameter type. */
export interface ParameterTypeDefinition {
  /** The table it groups: node types belong in node_config, edge types in edge_config. */
  readonly table: Route;
  /** Preferred order of groupby columns in keys (others follow in groupby order). Default: groupby order. */
  readonly keyColumns?: readonly string[];
  /** Config checks before grouping; throw errors naming the field. */
  readonly validate?: (config: ParamConfig, path: string) => void;
  /** Per-group fields written over the config before the initial distribution reads it. */
  readonly groupFields?: (ctx: ParameterTypeContext) => Readonly<Record<string, unknown>>;
}

const registry = new Map<string, ParameterTypeDefinition>();

/** Registers a parameter type under `name` (the config `type` value). Names are unique. */
export function registerParameterType(name: string, definition: ParameterTypeDefinition): void {
  if (typeof name !== 'string' || name.length === 0) throw new ParameterConfigError('type', 'a non-empty name', name);
  if (definition?.table !== 'nodes' && definition?.table !== 'edges') {
    throw new ParameterConfigError(`type ${name}.table`, "'nodes' or 'edges'", definition?.table);
  }
  if (registry.has(name)) throw new ParameterError('type', `'${name}' is already registered`);
  registry.set(name, Object.freeze({ ...definition }));
}

/** Names of the registered parameter types. */
export const registeredParameterTypes = (): string[] => [...registry.keys()];

/** The type registered as `name`; unknown names are an error naming `path`. */
export function getParameterType(name: string, path: string): ParameterTypeDefinition {
  const d = registry.get(name);
  if (d === undefined) throw new ParameterConfigError(path, `one of ${registeredParameterTypes().join(', ')}`, name);
  return d;
}

/** A numeric column the type needs; its absence is an error naming the parameter. */
export function requireNumericColumn(ctx: ParameterTypeContext, column: string, typeName: string): NumericColumn {
  const col = ctx.table.columns[column];
  if (col === undefined || isCategorical(col)) {
    const have = Object.keys(ctx.table.columns).join(', ');
    throw new ParameterError(ctx.path, `${typeName} needs a numeric column '${column}' (columns: ${have})`);
  }
  return col;
}

/**
 * Mean n_syn of each group, as flyvis takes it: `edges.groupby(groupby, sort=False).mean()` of
 * the float32 n_syn column, which pandas sums in float32 with Kahan compensation, rows in edge
 * order, and divides by the count in float32.
 */
function meanSynapseCount(ctx: ParameterTypeContext, typeName: string): Float32Array {
  return groupMeanFloat32(ctx.grouping, requireNumericColumn(ctx, 'n_syn', typeName));
}

const EDGE_TYPE_KEYS = ['source_type', 'target_type'] as const;

/** Resting potentials (biases) per node group, from the config's distribution (default: by `type`). */
export const RestingPotential: ParameterTypeDefinition = { table: 'nodes' };

/** Time constants per node group, from the config's distribution. */
export const TimeConstant: ParameterTypeDefinition = { table: 'nodes' };

/** Synapse signs per edge group: `value` = the `sign` of the group's first edge. */
export const SynapseSign: ParameterTypeDefinition = {
  table: 'edges',
  keyColumns: EDGE_TYPE_KEYS,
  groupFields: (ctx) => {
    const sign = requireNumericColumn(ctx, 'sign', 'SynapseSign');
    return { value: Array.from(ctx.grouping.firstRow, (row) => sign[row]!) };
  },
};

/**
 * Synapse counts per edge group (default by source_type, target_type, dv, du; keys are
 * (source_type, target_type, du, dv) as flyvis): raw `mean` = log of the group's mean n_syn,
 * `np.log` of the float32 means as flyvis takes it (numpy's float32 log, `npLogFloat32`, which
 * is not correctly rounded). Only mode 'mean' exists.
 */
export const SynapseCount: ParameterTypeDefinition = {
  table: 'edges',
  keyColumns: [...EDGE_TYPE_KEYS, 'du', 'dv'],
  validate: (config, path) => {
    if (config.mode !== 'mean') throw new ParameterConfigError(`${path}.mode`, "'mean'", config.mode);
  },
  groupFields: (ctx) => ({ mode: 'mean', mean: Array.from(npLogFloat32Array(meanSynapseCount(ctx, 'SynapseCount'))) }),
};

/**
 * Synapse strengths per edge group: `value` = scale / (mean n_syn over the group's edges), with
 * config `scale` (default 0.01), computed in float32 as flyvis (numpy) does: the Python float
 * `scale` divided by the float32 means is a float32 division by float32(scale).
 */
export const SynapseCountScaling: ParameterTypeDefinition = {
  table: 'edges',
  keyColumns: EDGE_TYPE_KEYS,
  validate: (config, path) => void readNumber(config, 'scale', path, 0.01),
  groupFields: (ctx) => {
    const scale = Math.fround(readNumber(ctx.config, 'scale', ctx.path, 0.01));
    return { value: Array.from(meanSynapseCount(ctx, 'SynapseCountScaling'), (m) => Math.fround(scale / m)) };
  },
};

registerParameterType('RestingPotential', RestingPotential);
registerParameterType('TimeConstant', TimeConstant);
registerParameterType('SynapseSign', SynapseSign);
registerParameterType('SynapseCount', SynapseCount);
registerParameterType('SynapseCountScaling', SynapseCountScaling);
