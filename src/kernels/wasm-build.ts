// Building and finding the 'wasm' kernel's WebAssembly module (Node). The module is built ahead
// of use: scripts/build.mjs (run by `npm ci` via postprepare, by `npm pack` via prepack, and by
// `npm run build`) compiles wasm-source.ts with the pinned `assemblyscript` devDependency into
//   dist/flyvis-kernels.wasm                             the asset: what dist/ (the installed
//                                                        package) reads, and what browsers fetch;
//   node_modules/.cache/flyvis-ts/synapse-<key>.wasm     the copy a clone's src/ (run through tsx)
//                                                        reads, keyed by a hash of the source, the
//                                                        compiler version and flags, so an edited
//                                                        source never runs a stale module.
// `nodeWasmBytes` (the Node platform's `wasmBytes` hook) reads the one that belongs to the running
// code. Fallback: a clone whose keyed copy is missing (wasm-source.ts edited since the last build)
// compiles it from source on first use (about 2 s) with a warning saying so, and caches it; the
// installed package never compiles (its dist/ always holds the asset; assemblyscript is not
// installed with it). `npm run build:wasm` (tsx src/kernels/wasm-build.ts) builds the clone's copy.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emitWarning } from '../platform.ts';
import { KernelError } from './synapse.ts';
import { WASM_ASSET_NAME, WASM_MAX_PAGES } from './wasm-module.ts';
import { WASM_SOURCE } from './wasm-source.ts';

export const ASC_FLAGS: readonly string[] = [
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

// This module's file: src/kernels/wasm-build.ts in a clone, dist/kernels/wasm-build.js (or
// dist/cjs/index.js, the CommonJS bundle) in a build; the project is two folders up in all three.
const here = fileURLToPath(import.meta.url);
const projectDir = resolve(dirname(here), '..', '..');
/** Running the TypeScript sources (a clone through tsx or vitest), not a build. */
const fromSource = here.endsWith('.ts');

/** The pinned AssemblyScript compiler, if installed (a clone's devDependency; not in an installed package). */
export function ascCompiler(): { bin: string; version: string } | null {
  const require = createRequire(import.meta.url);
  let pkgPath: string;
  try {
    pkgPath = require.resolve('assemblyscript/package.json');
  } catch {
    return null;
  }
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string };
  return { bin: join(dirname(pkgPath), 'bin', 'asc.js'), version: pkg.version };
}

/** The cache key of a module: a hash of the source, the compiler version and the flags. */
export function wasmKey(ascVersion: string): string {
  return createHash('sha256').update(WASM_SOURCE).update(ascVersion).update(ASC_FLAGS.join(' ')).digest('hex').slice(0, 16);
}

/** The clone's cache folder: its node_modules/.cache/flyvis-ts (else the temp folder's). */
export function wasmCacheDir(): string {
  const nm = join(projectDir, 'node_modules');
  return existsSync(nm) ? join(nm, '.cache', 'flyvis-ts') : join(tmpdir(), 'flyvis-ts-cache');
}

/** The package's asset (dist/flyvis-kernels.wasm). */
export const wasmAssetPath: string = join(projectDir, 'dist', WASM_ASSET_NAME);

/** Writes `bytes` to `file` through a temporary file (concurrent readers never see half of it). */
function writeAtomically(file: string, bytes: Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}

/** Compiles wasm-source.ts with the pinned AssemblyScript; the module's bytes. */
export function compileWasmKernel(): Uint8Array {
  const asc = ascCompiler();
  if (!asc) throw new KernelError("compiling the 'wasm' kernel needs the assemblyscript compiler (a devDependency of flyvis-ts): run npm ci");
  const work = mkdtempSync(join(tmpdir(), 'flyvis-asc-'));
  try {
    const src = join(work, 'synapse.ts');
    const out = join(work, 'synapse.wasm');
    writeFileSync(src, WASM_SOURCE);
    try {
      execFileSync(process.execPath, [asc.bin, src, '-o', out, ...ASC_FLAGS], { stdio: 'pipe' });
    } catch (err) {
      const e = err as { stderr?: Uint8Array; stdout?: Uint8Array };
      throw new KernelError(`assemblyscript ${asc.version} failed to compile the wasm kernel: ${String(e.stderr ?? '')}${String(e.stdout ?? '')}`);
    }
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Builds the module ahead of use (scripts/build.mjs): compiles it once and writes it to each of
 * `assets` (e.g. the build's dist/flyvis-kernels.wasm) and to the clone's keyed cache copy.
 * Returns the bytes and the cache copy's path.
 */
export function buildWasmKernel(assets: readonly string[] = []): { bytes: Uint8Array; cached: string } {
  const asc = ascCompiler();
  if (!asc) throw new KernelError("building the 'wasm' kernel needs the assemblyscript compiler (a devDependency of flyvis-ts): run npm ci");
  const cached = join(wasmCacheDir(), `synapse-${wasmKey(asc.version)}.wasm`);
  const bytes = existsSync(cached) ? new Uint8Array(readFileSync(cached)) : compileWasmKernel();
  if (!existsSync(cached)) writeAtomically(cached, bytes);
  for (const file of assets) writeAtomically(file, bytes);
  return { bytes, cached };
}

let loaded: Uint8Array | null = null;

/**
 * The module's bytes for the running code (the Node platform's `wasmBytes` hook): a build reads
 * its dist/ asset; a clone's src/ reads the keyed cache copy, compiling it (with a warning) when
 * missing.
 */
export function nodeWasmBytes(): Uint8Array {
  if (loaded) return loaded;
  if (!fromSource) {
    if (existsSync(wasmAssetPath)) return (loaded = new Uint8Array(readFileSync(wasmAssetPath)));
    throw new KernelError(`the wasm kernel's module ${wasmAssetPath} is missing: rebuild (npm run build) or reinstall flyvis-ts`);
  }
  const asc = ascCompiler();
  if (!asc) throw new KernelError("the 'wasm' kernel run from src/ needs the assemblyscript compiler (a devDependency): run npm ci");
  const cached = join(wasmCacheDir(), `synapse-${wasmKey(asc.version)}.wasm`);
  if (!existsSync(cached)) {
    emitWarning(
      `no prebuilt wasm kernel for this src/kernels/wasm-source.ts (${basename(cached)}): compiling it now with assemblyscript ${asc.version}; npm run build (or build:wasm) builds it ahead of use`,
      'WasmKernelWarning',
    );
    writeAtomically(cached, compileWasmKernel());
  }
  return (loaded = new Uint8Array(readFileSync(cached)));
}

if (process.argv[1] && resolve(process.argv[1]) === here) {
  const t = performance.now();
  const { bytes, cached } = buildWasmKernel();
  console.log(`wasm kernel module: ${bytes.length} bytes, ${cached} (${(performance.now() - t).toFixed(0)} ms)`);
}
