// The explorer's Vite config (npm run explore: dev server; npm run build:web: web-dist/). The
// wasm kernel's module (built ahead of use from src/kernels/wasm-source.ts, as scripts/build.mjs
// does) and flyvis's connectome (data/) are served by the dev server and emitted beside the page,
// under the names the page fetches relative to itself; the build uses relative URLs (base './'),
// so web-dist/ can be served from any folder of any static host.
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { buildWasmKernel } from '../src/kernels/wasm-build.ts';

const here = dirname(fileURLToPath(import.meta.url));
const CONNECTOME = 'fib25-fib19_v2.2.json';

function assets(): Record<string, { bytes: Uint8Array; type: string }> {
  return {
    'flyvis-kernels.wasm': { bytes: buildWasmKernel().bytes, type: 'application/wasm' },
    [CONNECTOME]: { bytes: readFileSync(join(here, '..', 'data', CONNECTOME)), type: 'application/json' },
  };
}

function flyvisAssets(): Plugin {
  return {
    name: 'flyvis-assets',
    configureServer(server) {
      const files = assets();
      server.middlewares.use((req, res: ServerResponse, next) => {
        const name = (req.url ?? '').split('?')[0]!.split('/').pop() ?? '';
        const file = files[name];
        if (file === undefined) return next();
        res.writeHead(200, { 'content-type': file.type }).end(file.bytes);
      });
    },
    generateBundle() {
      for (const [fileName, { bytes }] of Object.entries(assets())) this.emitFile({ type: 'asset', fileName, source: bytes });
    },
  };
}

/**
 * wasm-module.ts's default asset URL, `new URL(\`../${WASM_ASSET_NAME}\`, import.meta.url)`, is a
 * template that Vite would read as a glob of asset files (emitting src/*.ts as assets). The page
 * always passes its own URL, so the default is left as it is, written as a concatenation that
 * Vite does not rewrite (same value).
 */
function keepWasmDefaultUrl(): Plugin {
  const from = 'new URL(`../${WASM_ASSET_NAME}`, import.meta.url)';
  return {
    name: 'flyvis-keep-wasm-default-url',
    enforce: 'pre',
    transform(code, id) {
      if (!id.endsWith('/src/kernels/wasm-module.ts')) return null;
      if (!code.includes(from)) this.error(`${id}: expected ${from} (update web/vite.config.ts)`);
      return { code: code.replace(from, "new URL('../' + WASM_ASSET_NAME, import.meta.url)"), map: null };
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  plugins: [flyvisAssets(), keepWasmDefaultUrl()],
  worker: { format: 'es', plugins: () => [keepWasmDefaultUrl()] },
  build: { outDir: join(here, '..', 'web-dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 },
  server: { host: '127.0.0.1' },
  logLevel: 'info',
});
