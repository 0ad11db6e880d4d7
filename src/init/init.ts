// Building a network's parameters from the connectome and node_config / edge_config
// (flyvis's Network.__init__ parameter loop), without mutating the configs.
import type { ConnectomeProtocol } from '../graph/types.ts';
import { clampInPlace, parseClamp } from './clamp.ts';
import { type ParamConfig, validateParamConfigs } from './config.ts';
import { getInitialDistribution } from './distributions.ts';
import { ParameterError } from './errors.ts';
import { groupRows } from './grouping.ts';
import { groupKeys, keyColumnOrder, keyIndexMap } from './keys.ts';
import { type Parameter, type ParameterSet, type Route, makeParameterSet } from './parameter.ts';
import { getParameterType } from './parameter-types.ts';
import { symmetryGroups } from './symmetry.ts';

const CONFIG_NAME: Record<Route, string> = { nodes: 'node_config', edges: 'edge_config' };

/** Initializes one parameter (`route` is where its config sits: node_config or edge_config). */
export function initParameter(connectome: ConnectomeProtocol, route: Route, name: string, config: ParamConfig): Parameter {
  const path = `${CONFIG_NAME[route]}.${name}`;
  const type = getParameterType(config.type, `${path}.type`);
  if (type.table !== route) {
    throw new ParameterError(`${path}.type`, `${config.type} is a ${type.table} parameter type; configure it in ${CONFIG_NAME[type.table]}`);
  }
  const clamp = parseClamp(config.clamp, `${path}.clamp`);
  type.validate?.(config, path);
  const distribution = getInitialDistribution(config.initial_dist, `${path}.initial_dist`);

  const table = connectome[route];
  const grouping = groupRows(table, config.groupby, { tableName: route, path: `${path}.groupby` });
  const fields = type.groupFields?.({ config, table, grouping, path }) ?? {};
  const init = distribution({ config: { ...config, ...fields }, nGroups: grouping.nGroups, path });
  if (!(init.raw instanceof Float32Array) || init.raw.length !== grouping.nGroups) {
    throw new ParameterError(path, `initial distribution ${config.initial_dist} must give a Float32Array of ${grouping.nGroups} values`);
  }
  if (init.transform !== 'identity' && init.transform !== 'exp') {
    throw new ParameterError(path, `initial distribution ${config.initial_dist} gave an unknown transform ${JSON.stringify(init.transform)}`);
  }
  // flyvis clamps the initial values of every parameter (trainable or not).
  const raw = init.raw.slice();
  clampInPlace(raw, clamp);

  const keys = Object.freeze(groupKeys(table, grouping, keyColumnOrder(config.groupby, type.keyColumns)));
  const keyIndex = keyIndexMap(keys);
  const symmetry = Object.freeze(symmetryGroups(config.symmetric, keys, keyIndex, `${path}.symmetric`));
  return Object.freeze({
    name,
    route,
    stateDictName: `${route}_${name}`,
    type: config.type,
    initialDist: config.initial_dist,
    raw,
    transform: init.transform,
    trainable: config.requires_grad,
    indices: grouping.indices,
    groupby: config.groupby,
    keys,
    keyIndex,
    symmetry,
    clamp,
    config,
  });
}

/**
 * All parameters of a network, in flyvis's state_dict order: node parameters in node_config
 * order, then edge parameters in edge_config order (by default nodes_bias, nodes_time_const,
 * edges_sign, edges_syn_count, edges_syn_strength). Pure: the configs are deep-copied, never
 * mutated. Config errors name the field (`edge_config.syn_count.mode: expected ...`).
 */
export function initParameters(connectome: ConnectomeProtocol, nodeConfig: unknown, edgeConfig: unknown): ParameterSet {
  const nodes = validateParamConfigs(nodeConfig, 'node_config');
  const edges = validateParamConfigs(edgeConfig, 'edge_config');
  return makeParameterSet([
    ...Object.entries(nodes).map(([name, cfg]) => initParameter(connectome, 'nodes', name, cfg)),
    ...Object.entries(edges).map(([name, cfg]) => initParameter(connectome, 'edges', name, cfg)),
  ]);
}
