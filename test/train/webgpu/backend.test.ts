import { describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/train/backend.js';
import { requireWebGpu } from '../../support/webgpu.js';

describe('auto and a software WebGPU adapter', () => {
  it('auto does not take webgpu on llvmpipe, even when told to use Dawn OpenGL ES, and says why', async () => {
    const lines: string[] = [];
    const choice = await initBackend('auto', (l) => lines.push(l), { webgpuBackend: 'opengles' });
    expect(choice.name).not.toBe('webgpu');
    const passed = /webgpu: ([^;]*)/.exec(lines[0] ?? '')?.[1] ?? '';
    if (requireWebGpu || /software/.test(passed)) {
      // here (CI, a machine without a GPU) Dawn's OpenGL ES backend finds llvmpipe alone
      expect(passed).toMatch(/software adapter only \(.*llvmpipe/);
    } else {
      console.warn(`no OpenGL ES adapter here (${passed}); the software-adapter rule is not exercised`);
    }
  });
});
