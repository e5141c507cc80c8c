import { Option } from 'commander';
import { BackendUnavailableError, initBackend, isWebGpuBackend, WEBGPU_BACKEND_ENV, WEBGPU_BACKENDS, type BackendChoice, type BackendName } from '../train/backend.js';
import { UsageError, UserError } from './errors.js';

/** --webgpu-backend: Dawn's backend under --backend webgpu (default: $UIRGEN_WEBGPU_BACKEND, else auto). */
export function webgpuBackendOption(): Option {
  return new Option(
    '--webgpu-backend <B>',
    `Dawn's backend for --backend webgpu: ${WEBGPU_BACKENDS.join(' | ')} (opengles runs on the CPU through Mesa's llvmpipe where there is no GPU; default $${WEBGPU_BACKEND_ENV} or auto)`,
  );
}

/**
 * Start the backend a training command asked for, with auto's choice logged on stderr. A backend that cannot
 * start here is something the user can act on (install, build, pick another): exit 1 with its message.
 */
export async function startBackend(name: BackendName, webgpuBackend?: string): Promise<BackendChoice> {
  if (webgpuBackend !== undefined && !isWebGpuBackend(webgpuBackend)) {
    throw new UsageError(`--webgpu-backend must be one of ${WEBGPU_BACKENDS.join(', ')}, got "${webgpuBackend}"`);
  }
  try {
    return await initBackend(name, (line) => process.stderr.write(`${line}\n`), webgpuBackend === undefined ? {} : { webgpuBackend });
  } catch (err) {
    if (err instanceof BackendUnavailableError) throw new UserError(err.message);
    throw err;
  }
}
