// flyvis results directories (network and ensemble directories of flyvis 1.x and 0.1) and
// parameter sources for --params: docs/results.md. Node edge: everything here reads files.
export {
  ResultsError,
  checkpointNumber,
  compareCodePoints,
  isMemberName,
  mapNetworkConfig,
  numpyArgmin,
  numpyMin,
  orderCheckpoints,
  rankByLoss,
  resultsName,
  VALIDATION_FILES_1X,
  type MappedNetworkConfig,
} from './rules.ts';
export { META_FILE, isEnsembleDir, isNetworkDir, readMeta, type ResultsMeta } from './meta.ts';
export {
  describeCheckpoint,
  loadNetworkDir,
  readCheckpointFile,
  readValidation,
  resolveNetworkDir,
  type CheckpointChoice,
  type CheckpointEntry,
  type DecoderStates,
  type LoadNetworkDirOptions,
  type LoadedNetworkDir,
  type NetworkDirInfo,
  type ResolveNetworkDirOptions,
  type ResultsLayout,
} from './network-dir.ts';
export {
  loadEnsembleDir,
  type EnsembleDirView,
  type EnsembleMember,
  type LoadEnsembleDirOptions,
  type SkippedMember,
} from './ensemble-dir.ts';
export {
  applyParamsSource,
  loadParamsSource,
  type ApplyParamsOptions,
  type LoadParamsSourceOptions,
  type ParamsSource,
} from './params-source.ts';
