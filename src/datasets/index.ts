// Datasets for training: optic-flow datasets (./flow). This module is the platform-neutral part;
// the Node reader of MPI Sintel and the --dataset spec helper are in ./flow/node.ts.
export * from './flow/index.ts';
