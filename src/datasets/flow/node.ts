// Flow datasets, Node edge: MPI Sintel read from disk, and `--dataset procedural | sintel:PATH`.
export { MAX_FLO_BYTES, SintelFlow, sintelDiskSource, type SintelFlowOptions } from './sintel-node.ts';
export { flowDatasetFromSpec, type FlowDatasetSpecOptions } from './spec.ts';
