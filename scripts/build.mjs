// Builds the package's JavaScript into dist/ (npm run build). `postprepare` runs it on npm ci /
// npm install in a clone, `prepack` on npm pack / npm publish. Not `prepare`: npm 11 lists a
// tarball's `prepare` script as an install script awaiting approval in every project that
// installs the tarball (and, approved, would run it without the sources it builds from);
// `postprepare` and `prepack` are no install scripts for a consumer, so installs stay quiet.
//   dist/**/*.js, *.d.ts   ES modules and declarations, tsc -p tsconfig.build.json (src/ mirrored,
//                          .ts import specifiers rewritten to .js);
//   dist/cjs/index.js      the same library as one CommonJS file (esbuild), for require('flyvis-ts'),
//                          with the declarations copied beside it under {"type": "commonjs"};
//   dist/flyvis-kernels.wasm  the 'wasm' kernel's module, compiled ahead of use from
//                          src/kernels/wasm-source.ts by the pinned assemblyscript (devDependency):
//                          what dist/ reads in Node and what browsers fetch (loadWasmKernel); the same
//                          bytes go to node_modules/.cache/flyvis-ts/synapse-<key>.wasm, which a
//                          clone's src/ reads (src/kernels/wasm-build.ts).
// Why a CommonJS build rather than Node's require(esm) of dist/index.js: require(esm) refuses any
// module graph with a top-level await (ERR_REQUIRE_ASYNC_MODULE), as vega's has, and Node 22.12
// (inside "engines") prints "ExperimentalWarning: ... Support for loading ES Module in require()
// is an experimental feature" for it (20.19.0 and 20.20 print nothing). The bundle keeps
// import() of dependencies as import(), so ESM-only ones (vega, vega-lite) must be loaded lazily
// with import() inside functions, never imported at top level. dist/cjs sits two folders below the package
// root, like src/graph and dist/graph, so the paths found from a module's own location (data/,
// the wasm kernel's cache) are the same in all three.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
// Built beside dist/ and swapped in at the end, so a failed build leaves the previous dist/ and a
// concurrent reader sees it missing only for the moment of the swap.
const out = join(root, `.dist-build-${process.pid}`);
const require = createRequire(import.meta.url);

function fail(message) {
  rmSync(out, { recursive: true, force: true });
  console.error(`build: ${message}; dist/ not changed`);
  process.exit(1);
}

rmSync(out, { recursive: true, force: true });
try {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' });
} catch {
  fail('tsc -p tsconfig.build.json failed (above)');
}

// The wasm kernel, built ahead of use with the module that loads it (the build's own copy).
try {
  const { buildWasmKernel } = await import(pathToFileURL(join(out, 'kernels', 'wasm-build.js')).href);
  const { WASM_ASSET_NAME } = await import(pathToFileURL(join(out, 'kernels', 'wasm-module.js')).href);
  buildWasmKernel([join(out, WASM_ASSET_NAME)]);
} catch (e) {
  fail(`building the wasm kernel failed: ${e.message}`);
}

const cjs = join(out, 'cjs');
try {
  const { buildSync } = await import('esbuild');
  buildSync({
    entryPoints: [join(out, 'index.js')],
    outfile: join(cjs, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node20.19',
    format: 'cjs',
    packages: 'external', // dependencies stay require()s (vega / vega-lite stay dynamic import()s)
    define: { 'import.meta.url': '__flyvis_module_url' },
    banner: { js: "'use strict';\nconst __flyvis_module_url = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
  });
} catch (e) {
  fail(`esbuild failed: ${e.message}`);
}
writeFileSync(join(cjs, 'package.json'), '{ "type": "commonjs" }\n');
// The declarations again, read as CommonJS declarations for require() consumers.
for (const entry of readdirSync(out, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
  const from = join(entry.parentPath, entry.name);
  const rel = relative(out, from);
  if (rel.startsWith('cjs/') || rel.startsWith('cli/')) continue; // the bundle has no command line
  const to = join(cjs, rel);
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, to);
}
rmSync(dist, { recursive: true, force: true });
renameSync(out, dist);
