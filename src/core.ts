// flyvis-ts's platform-neutral core ('flyvis-ts/core'): everything that runs in any JavaScript
// engine with WebAssembly (Node, browsers, workers) and imports no Node module. It does not
// install the Node platform (src/platform-node.ts): APIs that take file paths ask the platform's
// hooks (src/platform.ts) and, without them, say what to pass instead. In a browser:
//   registerConnectomeDescription('fib25-fib19_v2.2.json', await (await fetch(url)).json());
//   await loadWasmKernel(wasmUrl);  // dist/flyvis-kernels.wasm
//   const net = Network.fromConnectome(ConnectomeFromAvgFilters('fib25-fib19_v2.2.json', 15));
// The package root ('flyvis-ts', src/index.ts) is this plus the Node parts (files, CLI helpers,
// results directories, plots, worker threads). docs/platform.md describes the split;
// tests/platform/core-imports.test.ts checks that nothing here reaches a Node module.
export * from './graph/index.ts'; // connectomes: decode, compile, registry, digests, the demo
export * from './init/index.ts'; // parameters: distributions, types, clamp, symmetry, checkpoints
export { requireNumericColumn } from './graph/index.ts';
export { requireNumericColumn as requireParameterColumn } from './init/index.ts';
export * from './autograd/index.ts';
export * as autograd from './autograd/index.ts';
export * from './dynamics/types.ts';
export { PPNeuronIGRSynapses } from './dynamics/ppneuron.ts';
export { activationOp } from './dynamics/activation-op.ts';
export { initDynamics, registerDynamics, registeredDynamics, type DynamicsConfig, type DynamicsFactory } from './dynamics/registry.ts';
export * from './network/network.ts';
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
export {
  TorchDict, TorchFileError, TorchSet, TorchTensor, TorchTuple, type TorchDtype, type TorchTensorData, type TorchValue, type TorchWritable,
} from './io/torch/values.ts';
export { ALLOWED_GLOBALS, readTorchFile } from './io/torch/reader.ts';
export { writeTorchFile, type WriteTorchOptions } from './io/torch/writer.ts';
export { stateDictFromTorch } from './io/torch/state-dict.ts';
export { type Schedule, ScheduleError, constant, stepDecay, exponentialDecay, cosineDecay, stepwise, warmup, parseSchedule } from './train/schedules.ts';
export {
  type Optimizer, type OptimizerState, type Params, type AdamOptions, type SgdOptions, OptimizerError, adam, sgd, optimizerStateToJSON,
  optimizerStateFromJSON,
} from './train/optimizers.ts';
export {
  type Projection, type LossFn, type LossFnAsync, type StepResult, type TrainStep, type TrainStepAsync, type TrainStepOptions,
  type TrainStepAsyncOptions, TrainError, clampProjection, networkProjection, makeTrainStep, makeTrainStepAsync, gradientNorm,
} from './train/step.ts';
export {
  type Recording, type SimulateOptions, countRecorded, maskedMSE, simulateActivity, simulateActivityAsync, simulateStates, simulateStatesAsync,
  simulationPlan, edgeCurrents,
} from './train/losses.ts';
export {
  type Plan, type PlanCall, runPlan, runPlanAsync, planSimulate, planSteadyState, planResponses, planValueAndGrad, planPause, yieldToEventLoop,
} from './train/plan.ts';
export { type ProgressOptions, type ProgressStream, Progress, formatDuration } from './train/progress.ts';
export { BoxEye, type ImageStack } from './stimuli/box-eye.ts';
export { HexEye, LED_DEG, OMMATIDIUM_DEG, type BarSpec, type GratingSpec } from './stimuli/hex-eye.ts';
export { hexLattice, hexDistance, discIndices, hexalIndex, extentOfHexals, type HexLattice } from './stimuli/hex.ts';
export { resample, resampleIndices, pad, constantFrames, concatFrames, stackMovies, frames, type Frames, type Movie, type PadMode } from './stimuli/movie.ts';
export {
  Flashes, MovingBar, MovingEdge, Gratings, Dots, CentralImpulses, SpatialImpulses, UserMovies, type StimulusDataset, type ItemParams,
  type FlashesOptions, type MovingBarOptions, type MovingEdgeOptions, type GratingsOptions, type DotsOptions, type UserMoviesOptions,
} from './stimuli/datasets.ts';
export { StimulusParamError } from './stimuli/errors.ts';
export {
  computeResponses, computeResponsesAsync, planBatches, selectNeurons, trace, workOf, assertFiniteResponses, ResponsesInterrupted,
  type Responses, type Neuron, type CellSelection, type ResponseOptions,
} from './analysis/responses.ts';
export { AnalysisError, describeItem } from './analysis/errors.ts';
export { flashResponseIndex, frameWindow, type FriRow, type FriOptions } from './analysis/fri.ts';
export { DSI_THRESHOLD, directionSelectivityIndex, peakResponses, timeWindow, type DsiRow, type DsiOptions, type TuningRow, type PeakOptions } from './analysis/dsi.ts';
export { temporalReceptiveFields, spatialReceptiveFields, type TemporalRf, type SpatialRf } from './analysis/receptive-fields.ts';
export { tableOf, toCsv, toJson, parseCsv, type ResultTable, type Cell } from './analysis/table.ts';
export { progressBar, silentProgress, type Progress as AnalysisProgress } from './analysis/progress.ts';
export {
  POLARITY, KNOWN_POLARITY, PREFERRED_DIRECTIONS, ON_MOTION_TUNING, OFF_MOTION_TUNING, polarityOf, knownDirectionIntensity, sortOnOffUnknown,
  angularDistance, type Polarity,
} from './analysis/groundtruth.ts';
export {
  BudgetError, setBudget, resolveBudget, checkMemory, checkSteps, checkSimulation, type Budget, type BudgetOptions,
} from './budget.ts';
export { setPlatform, platform, type Platform, type TextStream, type IncrementalHash } from './platform.ts';
export { Sha256, sha256 } from './io/sha256.ts';
export * from './task/index.ts'; // flyvis's flow decoder (DecoderGAVP, conv2dHex, batchNorm2d) and objectives (docs/flow.md)
export * from './datasets/index.ts'; // flow datasets: procedural scenes, MultiTaskSintel semantics, augmentations (docs/flow-datasets.md)
export { optimalStimulus, type OptimalStimulusOptions, type OptimalStimulusLoss, type OptimalStimulusResult } from './analysis/optimal-stimulus.ts'; // flyvis's artificial optimal stimuli
export {
  naturalOptimalStimulus, regularizedOptimalStimulus, regularizedOptimalStimulusLoss, naturalisticMovies,
  type NaturalMovies, type NaturalOptimalStimulusOptions, type NaturalOptimalStimulusResult, type RegularizedOptimalStimulusOptions,
  type RegularizedOptimalStimulusLoss, type RegularizedOptimalStimulusResult, type RegularizedLossOptions, type NaturalisticMovies, type NaturalisticMoviesOptions,
} from './analysis/optimal-stimulus-natural.ts'; // flyvis's naturalistic and regularised optimal stimuli
export { optimalStimulusFigureSpec, stimResponseFrames, type StimulusResponseRow, type OptimalStimulusFigureOptions } from './analysis/optimal-stimulus-plot.ts';
