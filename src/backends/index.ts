// Backends: where simulations run (src/backends/types.ts describes the interface). Importing
// this module registers the built-in ones: 'wasm' (when WebAssembly SIMD works here), 'js', 'gpujs'
// (gpu.js: WebGL2 / headless-gl, else its CPU backends) and 'webgpu' (after `await initWebGpu()`).
import './js.ts';
import './wasm.ts';
import './gpujs.ts';
import './webgpu.ts';

export { createBackend, listBackends, registerBackend, registerFusedModel, resolveBackend, acceptedNames, backendNames, type BackendInfo } from './registry.ts';
export { simulateScan, simulateScanAsync, simulateScanChecked, simulateScanCheckedAsync } from './scan-op.ts';
export { jsBackend, defaultJsKernel } from './js.ts';
export { wasmBackend } from './wasm.ts';
export { paddedLayout, type PaddedLayout } from './wasm-layout.ts';
export { gpujsBackend, gpujsInfo, createGpujsInstance, GPUJS_MODES, type GpujsMode, type GpujsInstance } from './gpujs.ts';
export { webgpuBackend, initWebGpu, closeWebGpu, webgpuInfo, type WebGpuInstance, type WebGpuSimulator } from './webgpu.ts';
export {
  type Backend, type BackendArray, type BackendGraph, type BackendInstance, type BackendOptions, type FusedFactory, type FusedSimulator,
  type HostArray, type HostDType, type ScanForward, type ScanGradients, type ScanNeeds, type ScanRequest, BackendError, hostArray,
} from './types.ts';
