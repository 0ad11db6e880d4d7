// Builds the 'wasm' kernel's WebAssembly module from wasm-source.ts with the pinned
// `assemblyscript` compiler, synchronously, and caches it in node_modules/.cache/flyvis-ts
// (keyed by a hash of the source, compiler version and flags), so a fresh checkout needs
// nothing but `npm ci`: the first use compiles it (about 2 s), later uses read the cache.
// `npm run build:wasm` (tsx src/kernels/wasm-build.ts) builds it ahead of time.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KernelError } from './synapse.ts';
import { WASM_SOURCE } from './wasm-source.ts';

// The tsconfig's lib (ES2022, no DOM) declares no WebAssembly values: type what is used here.
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}
export type WasmModule = object;
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (m: WasmModule, imports: object) => { exports: Record<string, unknown> };
}
export const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Pages of 64 KiB: the shared memory's maximum (1 GiB of address space, reserved lazily). */
export const WASM_MAX_PAGES = 16384;

const ASC_FLAGS = [
  '-O3',
  '--runtime', 'stub',
  '--noAssert',
  '--enable', 'simd',
  '--enable', 'threads',
  '--importMemory',
  '--sharedMemory',
  '--initialMemory', '1',
  '--maximumMemory', String(WASM_MAX_PAGES),
];

const projectDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function ascCompiler(): { bin: string; version: string } {
  const require = createRequire(import.meta.url);
  let pkgPath: string;
  try {
    pkgPath = require.resolve('assemblyscript/package.json');
  } catch {
    throw new KernelError("the 'wasm' kernel needs the assemblyscript compiler (a dependency of flyvis-ts): run npm ci");
  }
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string };
  return { bin: join(dirname(pkgPath), 'bin', 'asc.js'), version: pkg.version };
}

// projectDir is the clone (this file in src/kernels) or the installed package (dist/kernels, or
// dist/cjs for the CommonJS bundle: the same depth). The cache goes in the clone's node_modules,
// or in the node_modules folder that holds the installed package, else in the temp folder.
function cacheDir(): string {
  const parent = dirname(projectDir);
  const nm = basename(parent) === 'node_modules' ? parent : join(projectDir, 'node_modules');
  return existsSync(nm) ? join(nm, '.cache', 'flyvis-ts') : join(tmpdir(), 'flyvis-ts-cache');
}

let cached: Uint8Array | null = null;

/** The compiled module's bytes (compiling and caching it on first use). */
export function wasmBytes(): Uint8Array {
  if (cached) return cached;
  const asc = ascCompiler();
  const key = createHash('sha256').update(WASM_SOURCE).update(asc.version).update(ASC_FLAGS.join(' ')).digest('hex').slice(0, 16);
  const dir = cacheDir();
  const file = join(dir, `synapse-${key}.wasm`);
  if (!existsSync(file)) {
    const work = mkdtempSync(join(tmpdir(), 'flyvis-asc-'));
    try {
      const src = join(work, 'synapse.ts');
      const out = join(work, 'synapse.wasm');
      writeFileSync(src, WASM_SOURCE);
      try {
        execFileSync(process.execPath, [asc.bin, src, '-o', out, ...ASC_FLAGS], { stdio: 'pipe' });
      } catch (err) {
        const e = err as { stderr?: Buffer; stdout?: Buffer };
        throw new KernelError(`assemblyscript ${asc.version} failed to compile the wasm kernel: ${String(e.stderr ?? '')}${String(e.stdout ?? '')}`);
      }
      mkdirSync(dir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, readFileSync(out));
      renameSync(tmp, file);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  cached = new Uint8Array(readFileSync(file));
  return cached;
}

let compiled: WasmModule | null = null;
export function wasmModule(): WasmModule {
  return (compiled ??= new WA.Module(wasmBytes()));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t = performance.now();
  const bytes = wasmBytes();
  console.log(`wasm kernel module: ${bytes.length} bytes in ${cacheDir()} (${(performance.now() - t).toFixed(0)} ms)`);
}
