// The built-in demo connectome (Node): its path in the bundled data/ folder, and `demoConnectome`
// (platform-neutral, src/graph/bundled.ts).
import { join } from 'node:path';
import { DEMO_CONNECTOME_FILE } from './bundled.ts';
import { connectomeDataDir } from './paths.ts';

export { demoConnectome } from './bundled.ts';

/** Absolute path of the demo connectome description. */
export const demoConnectomePath: string = join(connectomeDataDir, DEMO_CONNECTOME_FILE);
