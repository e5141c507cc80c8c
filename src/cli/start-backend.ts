import { BackendUnavailableError, initBackend, type BackendChoice, type BackendName } from '../train/backend.js';
import { UserError } from './errors.js';

/**
 * Start the backend a training command asked for, with auto's choice logged on stderr. A backend that cannot
 * start here is something the user can act on (install, build, pick another): exit 1 with its message.
 */
export async function startBackend(name: BackendName): Promise<BackendChoice> {
  try {
    return await initBackend(name, (line) => process.stderr.write(`${line}\n`));
  } catch (err) {
    if (err instanceof BackendUnavailableError) throw new UserError(err.message);
    throw err;
  }
}
