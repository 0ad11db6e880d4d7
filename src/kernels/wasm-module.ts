// The 'wasm' kernel's WebAssembly module, platform-neutral. The module is compiled ahead of use
// from wasm-source.ts by the pinned AssemblyScript (scripts/build.mjs: dist/flyvis-kernels.wasm,
// and a keyed copy in node_modules/.cache/flyvis-ts for a clone's src/; src/kernels/wasm-build.ts).
// In Node the platform hook `wasmBytes` reads it from disk (src/platform-node.ts); a browser
// loads it once, asynchronously, with `await loadWasmKernel(url or bytes)` before creating wasm
// kernels. Either way `wasmModule()` then returns it synchronously.
import { missingHook, platform, platformChanged } from '../platform.ts';
import { KernelError } from './synapse.ts';

// The tsconfig's lib (ES2022, no DOM) declares no WebAssembly values: type what is used here.
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}
export type WasmModule = object;
interface ResponseLike {
  readonly ok: boolean;
  readonly status: number;
  readonly url: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (m: WasmModule, imports: object) => { exports: Record<string, unknown> };
  compile(bytes: Uint8Array): Promise<WasmModule>;
  compileStreaming?(response: ResponseLike | Promise<ResponseLike>): Promise<WasmModule>;
}
export const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Pages of 64 KiB: the shared memory's maximum (1 GiB of address space, reserved lazily). */
export const WASM_MAX_PAGES = 16384;

/** The asset's file name in dist/ (what a browser fetches; `loadWasmKernel`'s default URL). */
export const WASM_ASSET_NAME = 'flyvis-kernels.wasm';

let compiled: WasmModule | null = null;

/** The compiled module: the one `loadWasmKernel` loaded, else compiled from the platform's bytes. */
export function wasmModule(): WasmModule {
  if (compiled) return compiled;
  const bytes = platform().wasmBytes;
  if (!bytes) {
    throw new KernelError(
      `the wasm kernel's module is not loaded: in a browser, await loadWasmKernel(url) first (the package's dist/${WASM_ASSET_NAME}); ` +
        missingHook('reading it from disk', 'pass its bytes or URL to loadWasmKernel'),
    );
  }
  compiled = new WA.Module(bytes());
  return compiled;
}

/** What `loadWasmKernel` takes: a URL of the asset, its bytes, a fetch Response, or a compiled WebAssembly.Module. */
export type WasmKernelSource = string | URL | Uint8Array | ArrayBuffer | ResponseLike | WasmModule;

const isResponse = (x: unknown): x is ResponseLike => typeof x === 'object' && x !== null && typeof (x as ResponseLike).arrayBuffer === 'function';

/**
 * Loads the wasm kernel's module for this process or page (browsers: before creating 'wasm'
 * kernels; Node reads it from disk by itself). `source` defaults to the asset beside the
 * package's dist/ modules, `new URL('../flyvis-kernels.wasm', import.meta.url)`; a URL is fetched
 * and compiled with `WebAssembly.compileStreaming` (the server must send `application/wasm`; other
 * types fall back to compiling the bytes). Resolves when the module is compiled; the kernels'
 * availability (`listKernels`) is probed again.
 */
export async function loadWasmKernel(source?: WasmKernelSource): Promise<void> {
  const src = source ?? new URL(`../${WASM_ASSET_NAME}`, import.meta.url);
  let module: WasmModule;
  if (typeof src === 'string' || src instanceof URL) {
    const fetchFn = (globalThis as unknown as { fetch?: (u: string) => Promise<ResponseLike> }).fetch;
    if (!fetchFn) throw new KernelError(`loadWasmKernel: cannot fetch ${String(src)} here (no fetch); pass the bytes`);
    const response = await fetchFn(String(src));
    if (!response.ok) throw new KernelError(`loadWasmKernel: fetching ${String(src)} failed (HTTP ${response.status})`);
    module = await compileResponse(response);
  } else if (src instanceof Uint8Array) {
    module = await WA.compile(src);
  } else if (src instanceof ArrayBuffer) {
    module = await WA.compile(new Uint8Array(src));
  } else if (isResponse(src)) {
    module = await compileResponse(src);
  } else {
    module = src;
  }
  compiled = module;
  platformChanged();
}

async function compileResponse(response: ResponseLike): Promise<WasmModule> {
  const streaming = WA.compileStreaming;
  const type = (response as { headers?: { get(name: string): string | null } }).headers?.get('content-type') ?? '';
  if (streaming && /^application\/wasm\b/i.test(type)) return streaming.call(WA, response);
  return WA.compile(new Uint8Array(await response.arrayBuffer()));
}

/** Forgets the loaded module (tests). */
export function resetWasmModule(): void {
  compiled = null;
  platformChanged();
}
