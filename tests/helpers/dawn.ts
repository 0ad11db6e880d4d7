// Whether the 'webgpu' backend can run in Node here: the `webgpu` package's prebuilt Dawn module
// (linux-x64) and the EGL library its OpenGL ES backend loads (.ci/run installs libegl-dev,
// libegl-mesa0 and libgl1-mesa-dri). Tests that need it skip, printing `dawnMissing`, otherwise.
import { existsSync } from 'node:fs';

const DAWN = new URL('../../node_modules/webgpu/dist/linux-x64/dawn.node', import.meta.url);
const EGL = ['/usr/lib/x86_64-linux-gnu/libEGL.so', '/usr/lib64/libEGL.so', '/usr/lib/libEGL.so'];

/** Why Dawn cannot run here, or null when it can. */
export const dawnMissing: string | null = process.platform !== 'linux' || process.arch !== 'x64'
  ? `the webgpu package's prebuilt Dawn module is for linux-x64 here (this is ${process.platform}-${process.arch})`
  : !existsSync(DAWN) ? 'the webgpu package is not installed (npm ci installs it)'
    : !EGL.some((f) => existsSync(f)) ? 'no libEGL.so (apt-get install libegl-dev libegl-mesa0 libgl1-mesa-dri; .ci/run does)' : null;
