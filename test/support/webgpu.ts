import { BackendUnavailableError, initBackend, type BackendChoice } from '../../src/train/backend.js';

/**
 * Whether the webgpu tests must run: CI (.ci/run) installs Mesa's EGL/GLES and llvmpipe and sets
 * UIRGEN_WEBGPU=required, so a webgpu that cannot start fails there instead of skipping.
 */
export const requireWebGpu = process.env.UIRGEN_WEBGPU === 'required';

/**
 * Start the webgpu backend on Dawn's OpenGL ES backend (on a machine without a GPU: Mesa's llvmpipe, on the
 * CPU). Resolves to the choice, or to the reason it cannot start here (then the tests skip, unless required).
 */
export async function startWebGpuOnOpenGles(): Promise<BackendChoice | string> {
  try {
    return await initBackend('webgpu', () => {}, { webgpuBackend: 'opengles' });
  } catch (err) {
    if (requireWebGpu || !(err instanceof BackendUnavailableError)) throw err;
    const reason = `webgpu tests skipped: ${err.message}`;
    console.warn(reason);
    return reason;
  }
}
