import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  activeBackendName,
  BackendUnavailableError,
  initBackend,
  isBackendName,
  isSoftwareAdapter,
  vulkanLoaderPresent,
  wasmBinaryFolder,
  webgpuBackendFrom,
} from '../../src/train/backend.js';
import { loadNativeAddon } from '../../src/train/native/addon.js';
import { runNative } from '../support/native.js';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const installed = (pkg: string): boolean => {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
};
const hasTfjsNode = installed('@tensorflow/tfjs-node-gpu') || installed('@tensorflow/tfjs-node');

describe('initBackend', () => {
  it('starts wasm with SIMD from the installed binaries and the training kernels registered', async () => {
    expect(existsSync(`${wasmBinaryFolder()}tfjs-backend-wasm-simd.wasm`)).toBe(true);
    const choice = await initBackend('wasm');
    expect(choice.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.detail).toMatch(/SIMD/);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    // gradients are registered: a conv gradient runs on wasm
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.conv2d(x as tf.Tensor4D, tf.ones([3, 3, 1, 2]) as tf.Tensor4D, 1, 'same')))(tf.ones([1, 4, 4, 1]));
    expect(Array.from(g.dataSync()).slice(0, 4)).toEqual([8, 12, 12, 8]);
  });

  it('starts cpu', async () => {
    expect((await initBackend('cpu')).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it.skipIf(hasTfjsNode)('explains how to get the tensorflow backend when tfjs-node is absent', async () => {
    const err = await initBackend('tensorflow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    const message = (err as Error).message;
    expect(message).toContain('npm install @tensorflow/tfjs-node-gpu@4.22.0');
    expect(message).toContain('CUDA 11.2');
    expect(message).toContain('cuDNN 8.1');
    expect(message).toContain('not installed');
  });

  it('auto falls back along tensorflow -> webgpu -> native -> wasm and logs its choice', async () => {
    const lines: string[] = [];
    const choice = await initBackend('auto', (l) => lines.push(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`backend: ${choice.name}`);
    expect(activeBackendName()).toBe(choice.name);
    if (!hasTfjsNode) {
      expect(choice.name).not.toBe('tensorflow');
      if (runNative && choice.name !== 'webgpu') expect(choice.name).toBe('native');
      if (choice.name === 'native') expect(lines[0]).toMatch(/passed over tensorflow: .*not installed.*webgpu: /);
      if (choice.name === 'wasm') expect(lines[0]).toMatch(/passed over tensorflow: .*not installed.*webgpu: .*native: oneDNN kernels not built/);
    }
  });

  it.runIf(runNative)('native runs convolutions on oneDNN; wasm afterwards gets the stock kernels back', async () => {
    const choice = await initBackend('native');
    expect(choice.name).toBe('native');
    expect(choice.detail).toMatch(/oneDNN \d+\.\d+/);
    expect(tf.getBackend()).toBe('wasm');
    expect(activeBackendName()).toBe('native');
    const nativeConv = tf.getKernel('Conv2D', 'wasm')?.kernelFunc;
    const x = tf.ones([1, 4, 4, 2]);
    const w = tf.ones([3, 3, 2, 1]);
    const g = tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')))(w);
    // the 3x3 filter over a 4x4 all-ones image with zero padding: corners see 9 pixels, edges 12, the middle 16
    expect(Array.from(g.dataSync())).toEqual([9, 9, 12, 12, 9, 9, 12, 12, 16, 16, 12, 12, 9, 9, 12, 12, 9, 9]);
    tf.dispose([x, w, g]);

    await initBackend('wasm');
    expect(activeBackendName()).toBe('wasm');
    const stockConv = tf.getKernel('Conv2D', 'wasm')?.kernelFunc;
    expect(stockConv).toBeDefined();
    expect(stockConv).not.toBe(nativeConv);
    expect(tf.getKernel('UirgenReluGrad', 'wasm')).toBeUndefined();
  });

  it('native says how to build its kernels when they are missing', () => {
    expect(() => loadNativeAddon('/nonexistent/uirgen_native.node')).toThrow(/apt-get install libdnnl-dev g\+\+.*npm run build/);
  });

  it('webgpu either runs on an adapter or says why not', async () => {
    const result = await initBackend('webgpu').catch((e: unknown) => e);
    if (result instanceof Error) {
      expect(result).toBeInstanceOf(BackendUnavailableError);
      expect(result.message).toMatch(/adapter|webgpu/);
    } else {
      expect((result as { name: string }).name).toBe('webgpu');
    }
  });

  it('rejects an unknown name', async () => {
    expect(isBackendName('wasm')).toBe(true);
    expect(isBackendName('gpu')).toBe(false);
    await expect(initBackend('gpu' as 'wasm')).rejects.toThrow(/unknown backend "gpu"/);
  });
});

describe('vulkanLoaderPresent', () => {
  it('finds libvulkan.so.1 on LD_LIBRARY_PATH', () => {
    const dir = mkdtempSync(join(tmpdir(), 'uirgen-vk-'));
    const saved = process.env.LD_LIBRARY_PATH;
    try {
      process.env.LD_LIBRARY_PATH = `/nonexistent:${dir}`;
      const before = vulkanLoaderPresent();
      writeFileSync(join(dir, 'libvulkan.so.1'), '');
      expect(vulkanLoaderPresent()).toBe(true);
      // without the file, the answer is the system's (ld.so.cache), which the file above must not be needed for
      if (process.platform === 'linux' && !readFileSync('/etc/ld.so.cache').includes('libvulkan.so.1')) expect(before).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.LD_LIBRARY_PATH;
      else process.env.LD_LIBRARY_PATH = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("Dawn's backend for webgpu", () => {
  it('comes from the option, else UIRGEN_WEBGPU_BACKEND, else auto; an unknown value names where it came from', () => {
    const saved = process.env.UIRGEN_WEBGPU_BACKEND;
    try {
      delete process.env.UIRGEN_WEBGPU_BACKEND;
      expect(webgpuBackendFrom()).toBe('auto');
      process.env.UIRGEN_WEBGPU_BACKEND = 'opengles';
      expect(webgpuBackendFrom()).toBe('opengles');
      expect(webgpuBackendFrom('vulkan')).toBe('vulkan');
      process.env.UIRGEN_WEBGPU_BACKEND = 'gl';
      expect(() => webgpuBackendFrom()).toThrow(/UIRGEN_WEBGPU_BACKEND=gl .*auto, vulkan, opengles/);
      expect(() => webgpuBackendFrom('metal')).toThrow(BackendUnavailableError);
    } finally {
      if (saved === undefined) delete process.env.UIRGEN_WEBGPU_BACKEND;
      else process.env.UIRGEN_WEBGPU_BACKEND = saved;
    }
  });

  it('counts Dawn fallbacks and Mesa/SwiftShader rasterizers as software adapters, GPUs not', () => {
    expect(isSoftwareAdapter({ info: { device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL ES 3.2 Mesa 22.3.6' } })).toBe(true);
    expect(isSoftwareAdapter({ info: { vendor: 'mesa', device: 'llvmpipe (LLVM 15.0.6, 256 bits)' } })).toBe(true);
    expect(isSoftwareAdapter({ info: { description: 'SwiftShader Device (Subzero)' } })).toBe(true);
    expect(isSoftwareAdapter({ isFallbackAdapter: true, info: { vendor: 'google' } })).toBe(true);
    expect(isSoftwareAdapter({ info: { vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H200' } })).toBe(false);
  });
});
