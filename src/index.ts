// flyvis-ts public API. Each concept lives in its own folder; this file re-exports them, and
// src/node.ts installs the Node platform (files, worker threads, ...) and adds the Node-only
// names. The platform-neutral subset is src/core.ts ('flyvis-ts/core'; docs/platform.md).
export * from './node.ts'; // first: the Node platform is installed before anything runs
export * from './graph/index.ts'; // connectomes: decode, compile (ConnectomeFromAvgFilters), registry, demo
export * from './init/index.ts'; // parameters: distributions, types, clamp, symmetry, checkpoints
// Both folders have a requireNumericColumn: the graph's (table, what, name) at top level, the
// parameter types' (ctx, column, type) as requireParameterColumn.
export { requireNumericColumn } from './graph/index.ts';
export { requireNumericColumn as requireParameterColumn } from './init/index.ts';
export * from './autograd/index.ts'; // Tensor, ops, grad / valueAndGrad / noGrad, defineOp
export * as autograd from './autograd/index.ts';
export * from './dynamics/types.ts'; // NetworkDynamics, ParamApi, StateApi, lazyRecord, withDerivedParams
export { PPNeuronIGRSynapses } from './dynamics/ppneuron.ts';
export { activationOp } from './dynamics/activation-op.ts';
export { initDynamics, registerDynamics, registeredDynamics, type DynamicsConfig, type DynamicsFactory } from './dynamics/registry.ts';
export * from './network/network.ts'; // Network, NetworkConfig, State, ...
export * from './network/stimulus.ts';
export { NetworkConfigError, networkConfigFrom, readNetworkConfig } from './network/config-file.ts';
export { LayerActivity } from './network/layer-activity.ts';
export { buildParamApi, buildStateApi, type GraphIndex } from './network/param-api.ts';
export { checkDynamics, dynamicsProperty, arbitraryConnectomeSpec, type CheckDynamicsOptions } from './testing/check-dynamics.ts';
export { createSynapseKernel, listKernels, autoKernelName, KERNEL_NAMES, type KernelName, type SynapseKernelOptions } from './kernels/index.ts';
export { loadWasmKernel, WASM_ASSET_NAME, type WasmKernelSource } from './kernels/wasm-module.ts';
export { makeActivation, ACTIVATION_NAMES, type Activation, type ActivationConfig, type ActivationName } from './kernels/activation.ts';
export type { BoundSynapses, EdgeIndex, SynapseKernel } from './kernels/synapse.ts';
// Backends: the simulation as one differentiable primitive (docs/kernels.md)
export {
  createBackend, listBackends, registerBackend, registerFusedModel, resolveBackend, acceptedNames, backendNames, simulateScan, simulateScanChecked,
  simulateScanAsync, simulateScanCheckedAsync,
  jsBackend, wasmBackend, BackendError, hostArray, type BackendInfo, type Backend, type BackendArray, type BackendGraph, type BackendInstance,
  type BackendOptions, type FusedFactory, type FusedSimulator, type HostArray, type HostDType, type ScanForward, type ScanGradients, type ScanNeeds,
  type ScanRequest,
} from './backends/index.ts';
export {
  gpujsBackend, gpujsInfo, createGpujsInstance, GPUJS_MODES, webgpuBackend, initWebGpu, closeWebGpu, webgpuInfo, type GpujsMode, type GpujsInstance,
  type WebGpuInstance, type WebGpuSimulator,
} from './backends/index.ts'; // the GPU backends (docs/kernels.md)
export { PPNEURON_MODEL, ppneuronStep, ppneuronStepVjp } from './dynamics/ppneuron-step.ts';
export { readNpy, writeNpy, parseNpy, encodeNpy, npyToFloat32, NpyError, type NpyArray } from './io/npy.ts';
export { NonFiniteError, FLOAT32_MAX, allFinite, firstNonFinite, countNonFinite, assertFinite, toFloat32 } from './io/finite.ts';
export { writeFileAtomic } from './io/atomic.ts';
export * from './io/torch/index.ts'; // torch.save files without Python: read, write, flyvis state_dicts
export * from './io/sidecar.ts'; // activity sidecars (<file>.json): readSidecar, describeActivity, encodeSidecar, sidecarPath
export * from './train/index.ts'; // optimizers, schedules, the pure train step, losses, the training loop
export * from './plot/index.ts'; // Vega-Lite specs rendered to SVG / PNG
export * from './stimuli/index.ts'; // the hexagonal eye and stimulus datasets
export * from './analysis/index.ts'; // FRI, DSI, receptive fields, tables
// Both train and analysis have a progress display: the training loop's class stays `Progress`.
export { Progress } from './train/index.ts';
export type { Progress as AnalysisProgress } from './analysis/index.ts';
export * from './results/index.ts'; // flyvis results directories (1.x and 0.1), ensembles, --params sources
export { readHdf5Dataset, writeHdf5Dataset, Hdf5Error } from './io/hdf5.ts';
export {
  BudgetError, setBudget, resolveBudget, checkMemory, checkSteps, checkSimulation, type Budget, type BudgetOptions,
} from './budget.ts'; // the input budget (docs/budget.md)
export { setPlatform, platform, type Platform, type TextStream, type IncrementalHash } from './platform.ts'; // docs/platform.md
export { Sha256, sha256 } from './io/sha256.ts';
export { loadFlowDecoder, type FlowDecoderSource } from './task/decoder-source.ts'; // a flow decoder from a checkpoint or network directory
export * from './datasets/flow/node.ts'; // MPI Sintel on disk, the --dataset spec helper
export * from './task/index.ts'; // flyvis's flow decoder (DecoderGAVP, conv2dHex, batchNorm2d) and objectives (docs/flow.md)
export * from './datasets/index.ts'; // flow datasets: procedural scenes, MultiTaskSintel semantics, augmentations (docs/flow-datasets.md)
export {
  makeFlowSolver, defaultSolverConfig, flowTrainStep, flowTrainStepAsync, initialTrainState, validateFlow, validateFlowAsync, SolverConfigError,
  flyvisCheckpointDict,
  type FlowSolver, type FlowSolverConfig, type FlowTrainState, type FlowStepResult, type FlowValidationSet, type FlowValidationResult,
} from './task/solver.ts'; // flyvis's solver for the flow task (docs/training.md)
export { activityPenalty, type ActivityPenaltyConfig } from './task/train-penalty.ts';
export { buildSchedules, scheduledAt, ScheduleConfigError } from './task/train-schedule.ts';
export { trainFlow, type FlowTrainLoopOptions, type FlowTrainResult } from './task/train-loop.ts';
export { optimalStimulus, type OptimalStimulusOptions, type OptimalStimulusLoss, type OptimalStimulusResult } from './analysis/optimal-stimulus.ts'; // flyvis's artificial optimal stimuli
export {
  naturalOptimalStimulus, regularizedOptimalStimulus, regularizedOptimalStimulusLoss, naturalisticMovies,
  type NaturalMovies, type NaturalOptimalStimulusOptions, type NaturalOptimalStimulusResult, type RegularizedOptimalStimulusOptions,
  type RegularizedOptimalStimulusLoss, type RegularizedOptimalStimulusResult, type RegularizedLossOptions, type NaturalisticMovies, type NaturalisticMoviesOptions,
} from './analysis/optimal-stimulus-natural.ts'; // flyvis's naturalistic and regularised optimal stimuli
export { optimalStimulusFigureSpec, stimResponseFrames, type StimulusResponseRow, type OptimalStimulusFigureOptions } from './analysis/optimal-stimulus-plot.ts';
