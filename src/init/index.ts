// The parameter system: initial distributions, parameter types, scatter indices, symmetry,
// clamp, checkpoints and parameter counts (flyvis's network/initialization.py and the
// parameter parts of Network).
export type { ParamConfig, ParamConfigs, DefaultNodeConfig, DefaultEdgeConfig } from './config.ts';
export { defaultNodeConfig, defaultEdgeConfig, validateParamConfig, validateParamConfigs } from './config.ts';
export { ParameterConfigError, ParameterError, CheckpointError, describeSizeFit } from './errors.ts';
export type { CheckpointSizeFit, CheckpointErrorDetails } from './errors.ts';
export { Xoshiro128 } from './random.ts';
export { TorchGenerator, torchStandardNormal, torchNormal } from './torch-random.ts';
export type { Transform, DistributionContext, InitialValues, InitialDistributionFactory } from './distributions.ts';
export {
  registerInitialDistribution,
  registeredInitialDistributions,
  getInitialDistribution,
  valueDistribution,
  normalDistribution,
  lognormalDistribution,
} from './distributions.ts';
export type { Grouping, GroupOptions, Refinement } from './grouping.ts';
export { groupRows, scatterIndices, groupMean, gather, commonRefinement } from './grouping.ts';
export type { Key, KeyPart } from './keys.ts';
export { keyId, formatKey, keyColumnOrder, groupKeys, keyIndexMap } from './keys.ts';
export type { ClampRule } from './clamp.ts';
export { parseClamp, clampInPlace, clampBounds } from './clamp.ts';
export { symmetryGroups, tieToMeanInPlace } from './symmetry.ts';
export type { ParameterTypeContext, ParameterTypeDefinition } from './parameter-types.ts';
export {
  registerParameterType,
  registeredParameterTypes,
  getParameterType,
  requireNumericColumn,
  RestingPotential,
  TimeConstant,
  SynapseSign,
  SynapseCount,
  SynapseCountScaling,
} from './parameter-types.ts';
export type { Route, Parameter, ParameterSet } from './parameter.ts';
export {
  makeParameterSet,
  getParameter,
  semanticValues,
  keyPosition,
  valueByKey,
  rawValueByKey,
  withRaw,
  numParameters,
  numTrainableParameters,
} from './parameter.ts';
export { initParameter, initParameters } from './init.ts';
export { clampParameter, clampParameters } from './constraints.ts';
export type { Checkpoint, ConnectomeOrigin, LoadCheckpointOptions } from './checkpoint.ts';
export { checkpointToJSON, saveCheckpoint, loadCheckpoint, checkpointSizeFit, explainCheckpointSizes } from './checkpoint.ts';
