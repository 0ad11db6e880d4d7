// Run by neutral.test.ts in a fresh Node process that imports only the platform-neutral core
// (no Node platform installed: what a browser gets). Prints one JSON line of observations.
import {
  ConnectomeError, ConnectomeFromAvgFilters, Network, edgesDigest, listKernels, loadConnectomeSpec, loadWasmKernel, nodesDigest, platform,
  readNetworkConfig, registerConnectomeDescription, type Tensor,
} from '../../src/core.ts';

const [connectomeText, wasmBytesBase64] = await new Promise<string[]>((ok) => {
  let input = '';
  process.stdin.on('data', (d) => (input += String(d)));
  process.stdin.on('end', () => ok(JSON.parse(input) as string[]));
});

const caught = (f: () => unknown): string => {
  try {
    f();
    return 'no error';
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
};
const warnings: string[] = [];
console.warn = (...a: unknown[]) => void warnings.push(a.join(' '));

const out: Record<string, unknown> = { platform: platform().name };
out.loadByName = caught(() => loadConnectomeSpec('demo-connectome.json'));
out.loadIsConnectomeError = (() => {
  try {
    loadConnectomeSpec('demo-connectome.json');
  } catch (e) {
    return e instanceof ConnectomeError;
  }
  return false;
})();
out.config = caught(() => readNetworkConfig('network.yaml'));
out.kernelsBefore = listKernels().filter((k) => k.name.startsWith('wasm'));
registerConnectomeDescription('demo-connectome.json', connectomeText);
const connectome = ConnectomeFromAvgFilters('demo-connectome.json', 3);
out.digests = [nodesDigest(connectome), edgesDigest(connectome)];
const net = Network.fromConnectome(connectome, {}, { kernel: 'runs' });
out.save = caught(() => net.saveCheckpoint('params.json'));
const H = net.stimulus.nInputElements;
const movie = { data: new Float32Array(3 * H).fill(1), shape: [1, 3, 1, H] };
const runs = net.simulate(movie, 1 / 40, { initialState: null }) as Tensor; // dt > 1/50 warns
out.warnings = warnings;
await loadWasmKernel(new Uint8Array(Buffer.from(wasmBytesBase64!, 'base64')));
out.kernelsAfter = listKernels().filter((k) => k.name.startsWith('wasm'));
const wasm = Network.fromConnectome(connectome, {}, { kernel: 'wasm' }).simulate(movie, 1 / 50, { initialState: null }) as Tensor;
const runs50 = net.simulate(movie, 1 / 50, { initialState: null }) as Tensor;
out.wasmVsRuns = Math.max(...wasm.data.map((x, i) => Math.abs(x - runs50.data[i]!)));
out.finite = runs.data.every(Number.isFinite);
console.log(JSON.stringify(out));
