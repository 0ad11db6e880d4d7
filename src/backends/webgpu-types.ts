// The part of the WebGPU API the 'webgpu' backend uses, declared here so that the core needs no
// DOM or @webgpu/types declarations (browsers' navigator.gpu and the Node `webgpu` package, Dawn,
// both provide it).

export interface WGpu {
  requestAdapter(options?: Record<string, unknown>): Promise<WAdapter | null>;
}

export interface WAdapter {
  readonly limits: Readonly<Record<string, number>>;
  readonly info?: { readonly vendor?: string; readonly architecture?: string; readonly device?: string; readonly description?: string };
  requestDevice(descriptor?: { requiredLimits?: Record<string, number>; label?: string }): Promise<WDevice>;
}

export interface WDevice {
  readonly limits: Readonly<Record<string, number>>;
  readonly queue: WQueue;
  readonly lost: Promise<{ readonly message: string; readonly reason?: string }>;
  createBuffer(descriptor: { size: number; usage: number; mappedAtCreation?: boolean; label?: string }): WBuffer;
  createShaderModule(descriptor: { code: string; label?: string }): WShaderModule;
  createComputePipeline(descriptor: { layout: 'auto'; compute: { module: WShaderModule; entryPoint: string }; label?: string }): WPipeline;
  createBindGroup(descriptor: { layout: unknown; entries: { binding: number; resource: { buffer: WBuffer; offset?: number; size?: number } }[] }): unknown;
  createCommandEncoder(): WEncoder;
  pushErrorScope(filter: 'validation' | 'out-of-memory' | 'internal'): void;
  popErrorScope(): Promise<{ readonly message: string } | null>;
  destroy(): void;
}

export interface WShaderModule {
  getCompilationInfo?(): Promise<{ readonly messages: readonly { readonly type: string; readonly message: string; readonly lineNum: number }[] }>;
}

export interface WPipeline {
  getBindGroupLayout(index: number): unknown;
}

export interface WBuffer {
  readonly size: number;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}

export interface WQueue {
  writeBuffer(buffer: WBuffer, offset: number, data: ArrayBufferView): void;
  submit(commands: unknown[]): void;
  onSubmittedWorkDone(): Promise<void>;
}

export interface WEncoder {
  beginComputePass(): WPass;
  copyBufferToBuffer(source: WBuffer, sourceOffset: number, destination: WBuffer, destinationOffset: number, size: number): void;
  clearBuffer(buffer: WBuffer, offset?: number, size?: number): void;
  finish(): unknown;
}

export interface WPass {
  setPipeline(pipeline: WPipeline): void;
  setBindGroup(index: number, group: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}

/** GPUBufferUsage and GPUMapMode flags (fixed by the WebGPU specification). */
export const USAGE = { MAP_READ: 0x0001, COPY_SRC: 0x0004, COPY_DST: 0x0008, UNIFORM: 0x0040, STORAGE: 0x0080 } as const;
export const MAP_READ = 0x0001;
