// The built-in demo connectome (data/demo-connectome.json): a small SYNTHETIC description in
// flyvis's schema (photoreceptors R1..R8, a few intermediate and output types) so that
// everything runs on a fresh clone without external files. It is not biological data.
// Platform-neutral: the description is looked up by name in the bundled data/ folder (Node) or
// among registered descriptions (`registerConnectomeDescription('demo-connectome.json', json)`).
import { compileConnectome, type CompileOptions } from './compile.ts';
import { loadConnectomeSpec } from './load.ts';
import type { Connectome } from './types.ts';

/** The demo connectome's file name in data/. */
export const DEMO_CONNECTOME_FILE = 'demo-connectome.json';

/** The demo connectome compiled at `extent` (default 15) with `nSynFill` (default 1). */
export function demoConnectome(extent?: number, nSynFill?: number): Connectome;
export function demoConnectome(options: CompileOptions): Connectome;
export function demoConnectome(extentOrOptions?: number | CompileOptions, nSynFill?: number): Connectome {
  const options: CompileOptions = typeof extentOrOptions === 'object' ? extentOrOptions : { extent: extentOrOptions, nSynFill };
  return compileConnectome(loadConnectomeSpec(DEMO_CONNECTOME_FILE, { bundled: true }), options);
}
