// The platform-neutral core without the Node platform, as a browser has it, in a fresh Node
// process that imports only src/core.ts (neutral-script.ts): file paths are refused with a
// message saying what to pass instead, in the caller's error types; a connectome registered by
// name compiles and simulates; digests (pure SHA-256) equal Node's; warnings go to
// console.warn; the wasm kernel is unavailable until loadWasmKernel gets its bytes, and then
// matches the 'runs' kernel; 'wasm-threads' stays unavailable (no worker threads).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { demoConnectome } from '../../src/graph/bundled.ts';
import { edgesDigest, nodesDigest } from '../../src/graph/digest.ts';
import { buildWasmKernel } from '../../src/kernels/wasm-build.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const TSX = pathToFileURL(createRequire(join(ROOT, 'package.json')).resolve('tsx')).href;

describe('the core without a Node platform', () => {
  it('refuses paths helpfully, runs registered connectomes, hashes, warns and loads wasm from bytes', () => {
    const input = JSON.stringify([readFileSync(join(ROOT, 'data', 'demo-connectome.json'), 'utf8'), Buffer.from(buildWasmKernel().bytes).toString('base64')]);
    const stdout = execFileSync(process.execPath, ['--import', TSX, join(ROOT, 'tests', 'platform', 'neutral-script.ts')], { input, encoding: 'utf8', cwd: ROOT });
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(out.platform).toBe('neutral');
    expect(out.loadByName).toMatch(/^ConnectomeError: connectome file demo-connectome\.json: not registered \(registerConnectomeDescription\(name, json\)/);
    expect(out.loadByName).toContain("needs a file system, which this environment (neutral) does not provide: in Node import 'flyvis-ts'");
    expect(out.loadIsConnectomeError).toBe(true);
    expect(out.config).toMatch(/^NetworkConfigError: network\.yaml: cannot read: reading a file needs a file system/);
    expect(out.save).toMatch(/^Error: params\.json: cannot write: writing a file needs a file system.*checkpointToJSON/);
    const c = demoConnectome(3); // the same description, read from data/ by the Node platform here
    expect(out.digests).toEqual([nodesDigest(c), edgesDigest(c)]);
    expect(out.warnings).toEqual([expect.stringMatching(/^IntegrationWarning: dt=0.025 is very large/)]);
    const before = out.kernelsBefore as { name: string; available: boolean; note?: string }[];
    expect(before.map((k) => k.available)).toEqual([false, false]);
    expect(before[0]!.note).toMatch(/not loaded: in a browser, await loadWasmKernel\(url\) first/);
    expect(before[1]!.note).toMatch(/'wasm-threads' needs a worker thread/);
    expect((out.kernelsAfter as { available: boolean }[]).map((k) => k.available)).toEqual([true, false]);
    expect(out.wasmVsRuns).toBeLessThanOrEqual(1e-5);
    expect(out.finite).toBe(true);
  });
});
