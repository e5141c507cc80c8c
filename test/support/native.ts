import { existsSync } from 'node:fs';
import { ADDON_PATH } from '../../src/train/native/addon.js';

/**
 * Whether the native backend's tests run: when its addon is built (oneDNN and a C++ compiler were there at
 * `npm run build`), and always under UIRGEN_NATIVE=required (CI), so that a missing addon fails there
 * instead of skipping.
 */
export const runNative = existsSync(ADDON_PATH) || process.env.UIRGEN_NATIVE === 'required';
