import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { assertGradientsRegistered } from './kernels/gradients.js';
import { installWasmKernels, registerWasmTrainingKernels, wasmTrainingFallback, withReplacements } from './kernels/index.js';
import { loadNativeAddon, waitPolicyReason, type NativeAddon } from './native/addon.js';
import { convKernels } from './native/conv-kernels.js';
import { elementwiseKernels } from './native/elementwise-kernels.js';
import { nafKernels } from './native/naf-kernels.js';
import { poolKernels } from './native/pool-kernels.js';

export const BACKEND_NAMES = ['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** The backend that is running and a line saying what it runs on. */
export interface BackendChoice {
  name: Exclude<BackendName, 'auto'>;
  detail: string;
}

export type BackendLog = (line: string) => void;

/** A backend that cannot start here, with the reason and what to do about it. */
export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';

  /** @param summary a few words for `auto`'s log of what it passed over (default: taken from the message) */
  constructor(
    message: string,
    readonly summary?: string,
  ) {
    super(message);
  }
}

const TFJS_VERSION = '4.22.0';

export function isBackendName(value: string): value is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(value);
}

const isModuleMissing = (err: unknown, specifier: string): boolean =>
  err instanceof Error &&
  (err as NodeJS.ErrnoException).code !== undefined &&
  ['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'].includes((err as NodeJS.ErrnoException).code ?? '') &&
  err.message.includes(specifier);

// A variable specifier keeps TypeScript from resolving optional packages that are not installed.
async function importOptional(specifier: string): Promise<unknown> {
  return import(specifier);
}

async function activate(name: BackendChoice['name']): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (err) {
    throw new BackendUnavailableError(`backend ${name} failed to start: ${(err as Error).message}`);
  }
  if (!ok) throw new BackendUnavailableError(`backend ${name} failed to start (tfjs reported failure; see the warning above)`);
  await tf.ready();
  assertGradientsRegistered();
}

async function initTensorflow(): Promise<BackendChoice> {
  const failures: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await importOptional(pkg);
    } catch (err) {
      failures.push(isModuleMissing(err, pkg) ? `${pkg}: not installed` : `${pkg}: ${(err as Error).message.split('\n')[0]}`);
      continue;
    }
    await activate('tensorflow');
    return { name: 'tensorflow', detail: `${pkg} (libtensorflow${pkg.endsWith('-gpu') ? ', CUDA' : ', CPU'})` };
  }
  throw new BackendUnavailableError(
    `the tensorflow backend needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, optional packages that are ` +
      `not usable here (${failures.join('; ')}). Install one where the internet is reachable (its install script ` +
      `downloads libtensorflow): \`npm install @tensorflow/tfjs-node-gpu@${TFJS_VERSION}\` for an NVIDIA GPU ` +
      `(needs CUDA 11.2 and cuDNN 8.1 on the library path) or \`npm install @tensorflow/tfjs-node@${TFJS_VERSION}\` ` +
      `for the CPU. Or use --backend webgpu (any GPU through Vulkan/Metal/D3D12, no CUDA) or --backend wasm.`,
  );
}

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}
interface AdapterRequest {
  powerPreference?: string;
  featureLevel?: string;
}
interface GpuLike {
  requestAdapter(options?: AdapterRequest): Promise<GpuAdapterLike | null>;
}
interface WebGpuModule {
  create(options: string[]): GpuLike;
  globals: object;
}

/**
 * Dawn's backend under the webgpu backend: `vulkan` (a GPU on Linux), `opengles` (OpenGL ES at WebGPU's
 * compatibility feature level; with Mesa's llvmpipe it runs on the CPU, which is how CI tests the webgpu
 * backend), or `auto`: Dawn's default (Vulkan on Linux, Metal, D3D12), then OpenGL ES when that finds no adapter.
 */
export const WEBGPU_BACKENDS = ['auto', 'vulkan', 'opengles'] as const;
export type WebGpuBackend = (typeof WEBGPU_BACKENDS)[number];
/** The environment variable that picks Dawn's backend when no option does. */
export const WEBGPU_BACKEND_ENV = 'UIRGEN_WEBGPU_BACKEND';

export function isWebGpuBackend(value: string): value is WebGpuBackend {
  return (WEBGPU_BACKENDS as readonly string[]).includes(value);
}

/** Dawn's backend from the option, else UIRGEN_WEBGPU_BACKEND, else auto; an unknown value is an error. */
export function webgpuBackendFrom(option?: string): WebGpuBackend {
  const value = option ?? process.env[WEBGPU_BACKEND_ENV] ?? 'auto';
  if (!isWebGpuBackend(value)) {
    const where = option === undefined ? `${WEBGPU_BACKEND_ENV}=${value}` : `"${value}"`;
    throw new BackendUnavailableError(`unknown Dawn backend ${where} (expected one of ${WEBGPU_BACKENDS.join(', ')})`);
  }
  return value;
}

/** One way of asking Dawn for an adapter: its create() options and the requestAdapter options. */
interface DawnRoute {
  label: 'vulkan' | 'opengles' | 'default';
  create: string[];
  request: AdapterRequest;
}

const ROUTES: Record<DawnRoute['label'], DawnRoute> = {
  default: { label: 'default', create: [], request: { powerPreference: 'high-performance' } },
  vulkan: { label: 'vulkan', create: ['backend=vulkan'], request: { powerPreference: 'high-performance' } },
  // Dawn's OpenGL ES backend offers only the compatibility feature level (no adapter without it).
  opengles: { label: 'opengles', create: ['backend=opengles'], request: { powerPreference: 'high-performance', featureLevel: 'compatibility' } },
};

/**
 * The routes `backend` tries, in order. Without the Vulkan loader Dawn's default can only fail (noisily).
 * `gpuOnly` (the choice of --backend auto) keeps auto to Dawn's default, as before OpenGL ES was a route:
 * on Linux OpenGL ES without a GPU is llvmpipe, never a reason to pick webgpu.
 */
function routesFor(backend: WebGpuBackend, gpuOnly: boolean): DawnRoute[] {
  if (backend === 'vulkan') return [ROUTES.vulkan];
  if (backend === 'opengles') return [ROUTES.opengles];
  if (process.platform !== 'linux' || gpuOnly) return [ROUTES.default];
  return vulkanLoaderPresent() ? [ROUTES.default, ROUTES.opengles] : [ROUTES.opengles];
}

interface Probe {
  adapter: GpuAdapterLike | null;
  route: DawnRoute;
  /** The routes tried before `route`, which found no adapter. */
  tried: string[];
}

const probes = new Map<string, Probe>();
let dawn: WebGpuModule | undefined;

async function loadDawn(): Promise<WebGpuModule> {
  if (dawn) return dawn;
  try {
    dawn = (await importOptional('webgpu')) as WebGpuModule;
  } catch (err) {
    throw new BackendUnavailableError(
      `the webgpu backend needs the optional package \`webgpu\` (Dawn for Node): ${(err as Error).message.split('\n')[0]}. ` +
        `Install it with \`npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@${TFJS_VERSION}\`.`,
    );
  }
  Object.assign(globalThis, dawn.globals);
  return dawn;
}

/**
 * Dawn (the `webgpu` package) supplies navigator.gpu; it must be in place before
 * @tensorflow/tfjs-backend-webgpu is first imported, because that module registers itself only when it
 * sees navigator.gpu. The navigator.gpu put there hands tfjs the adapter of the route that found one (tfjs
 * asks without a feature level, which Dawn's OpenGL ES backend needs).
 */
async function probeWebGpu(routes: DawnRoute[]): Promise<Probe> {
  const key = routes.map((r) => r.label).join(',');
  const known = probes.get(key);
  if (known) return known;
  const { create } = await loadDawn();
  // Mesa's EGL picks its platform from the environment; without a display only the surfaceless one works.
  if (routes.some((r) => r.label === 'opengles') && !process.env.EGL_PLATFORM && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    process.env.EGL_PLATFORM = 'surfaceless';
  }
  const tried: string[] = [];
  let probe: Probe | undefined;
  for (const route of routes) {
    const gpu = create(route.create);
    const adapter = await gpu.requestAdapter(route.request);
    if (adapter) {
      probe = { adapter, route, tried };
      const g = globalThis as { navigator?: { gpu?: GpuLike } };
      const forTfjs: GpuLike = Object.create(gpu as object, {
        requestAdapter: { value: (options?: AdapterRequest) => gpu.requestAdapter({ ...options, ...route.request }) },
      }) as GpuLike;
      if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: forTfjs, configurable: true, writable: true });
      else g.navigator = { gpu: forTfjs };
      break;
    }
    tried.push(route.label);
  }
  probe ??= { adapter: null, route: routes[routes.length - 1], tried };
  probes.set(key, probe);
  return probe;
}

const describeAdapter = (a: GpuAdapterLike): string =>
  [a.info?.vendor, a.info?.architecture, a.info?.device, a.info?.description].filter((s) => s).join(' ') || 'unnamed adapter';

/**
 * A CPU rasterizer posing as a GPU: Dawn's own fallback flag, or Mesa's llvmpipe/lavapipe/softpipe and
 * SwiftShader by name (Dawn reports llvmpipe under OpenGL ES as an ordinary adapter).
 */
export function isSoftwareAdapter(a: GpuAdapterLike): boolean {
  return Boolean(a.isFallbackAdapter ?? a.info?.isFallbackAdapter) || /llvmpipe|lavapipe|softpipe|swiftshader/i.test(describeAdapter(a));
}

/** The Dawn route the webgpu backend started on: tfjs keeps its first webgpu instance (and device) for the process. */
let webgpuRoute: DawnRoute['label'] | undefined;

async function initWebGpu(requireRealGpu: boolean, backend: WebGpuBackend): Promise<BackendChoice> {
  const { adapter, route, tried } = await probeWebGpu(routesFor(backend, requireRealGpu));
  if (adapter && webgpuRoute && webgpuRoute !== route.label) {
    throw new BackendUnavailableError(`the webgpu backend already runs on Dawn's ${webgpuRoute} route in this process; it cannot switch to ${route.label}`);
  }
  if (!adapter) {
    const routes = tried.join(', ') || route.label;
    throw new BackendUnavailableError(
      `the webgpu backend found no GPU adapter (Dawn tried: ${routes}): Dawn needs a Vulkan (Linux), Metal (macOS) or ` +
        'D3D12 (Windows) driver; on Linux install the Vulkan loader (libvulkan1) and your GPU vendor\'s Vulkan driver ' +
        '(for NVIDIA, the proprietary driver ships its ICD). Without a GPU, ' +
        `${WEBGPU_BACKEND_ENV}=opengles (or --webgpu-backend opengles) runs it on the CPU through Mesa's llvmpipe ` +
        '(Debian: apt-get install libegl1 libegl-dev libgles2 libgl1-mesa-dri), slowly. Use --backend native or wasm on the CPU.',
      'no GPU adapter',
    );
  }
  if (requireRealGpu && isSoftwareAdapter(adapter)) {
    throw new BackendUnavailableError(`the only WebGPU adapter is a software one (${describeAdapter(adapter)})`, `software adapter only (${describeAdapter(adapter)})`);
  }
  try {
    await importOptional('@tensorflow/tfjs-backend-webgpu');
  } catch (err) {
    throw new BackendUnavailableError(
      `the webgpu backend needs the optional package @tensorflow/tfjs-backend-webgpu@${TFJS_VERSION}: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  await activate('webgpu');
  const via = route.label === 'default' ? "Dawn's default backend" : `Dawn's ${route.label === 'opengles' ? 'OpenGL ES (compatibility)' : 'Vulkan'} backend`;
  const detail = `WebGPU over ${via}: ${describeAdapter(adapter)}${isSoftwareAdapter(adapter) ? ' (software, on the CPU)' : ''}`;
  webgpuRoute = route.label;
  return { name: 'webgpu', detail };
}

/** The folder of the wasm binaries inside the installed @tensorflow/tfjs-backend-wasm. */
export function wasmBinaryFolder(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
}

/**
 * The wasm backend with its convolutions (forward and both gradients) run by oneDNN, the library PyTorch's
 * CPU convolutions use, and its busiest memory-bound kernels run natively on all cores, through the addon
 * that `npm run build` compiles where oneDNN is installed. The other kernels stay wasm's.
 */
async function initNative(): Promise<BackendChoice> {
  let addon: NativeAddon;
  try {
    addon = loadNativeAddon();
  } catch (err) {
    const message = (err as Error).message;
    throw new BackendUnavailableError(`the native backend is not usable here: ${message}`, `oneDNN kernels ${message.includes('not built') ? 'not built' : 'failed to load'}`);
  }
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(wasmBinaryFolder());
  installWasmKernels(
    withReplacements([
      ...convKernels(addon, wasmTrainingFallback),
      ...elementwiseKernels(addon, wasmTrainingFallback),
      ...poolKernels(addon, wasmTrainingFallback),
      ...nafKernels(addon),
    ]),
  );
  await activate('wasm');
  const info = addon.info();
  return {
    name: 'native',
    detail: `oneDNN ${info.onednn} convolutions (${info.isa}) and native elementwise kernels on ${info.threads} threads (idle threads: ${info.waitPolicy}, ${waitPolicyReason()}), the rest on WebAssembly`,
  };
}

async function initWasm(): Promise<BackendChoice> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Threads: tfjs reports no multithread support under Node (tfjs issue 3830), because Emscripten would
  // hand worker_threads a blob: URL. Forcing the flag with the worker written to a file does load the
  // threaded binary and its 8 pthread workers here, but XNNPACK's pool still reports 1 thread and no
  // pthread ever starts (tried with tfjs 4.22), so this runs the single-threaded SIMD build.
  wasm.setWasmPaths(wasmBinaryFolder());
  registerWasmTrainingKernels();
  await activate('wasm');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return {
    name: 'wasm',
    detail: `WebAssembly (XNNPACK${simd ? ', SIMD' : ', no SIMD'}, ${wasm.getThreadsCount()} thread: tfjs-backend-wasm has no threads under Node)`,
  };
}

async function initCpu(): Promise<BackendChoice> {
  await import('@tensorflow/tfjs-backend-cpu');
  await activate('cpu');
  return { name: 'cpu', detail: 'pure JavaScript (slow; for checking results)' };
}

/**
 * Start a TensorFlow.js backend. `auto` tries tensorflow (libtensorflow through tfjs-node), then webgpu
 * on a real (non-fallback) GPU adapter, then native (oneDNN), then wasm, and logs what it chose and why the
 * others were passed over.
 */
export async function initBackend(name: BackendName, log: BackendLog = () => {}, options: InitOptions = {}): Promise<BackendChoice> {
  const choice = await chooseBackend(name, log, webgpuBackendFrom(options.webgpuBackend));
  lastChoice = choice;
  return choice;
}

export interface InitOptions {
  /** Dawn's backend for webgpu (default: UIRGEN_WEBGPU_BACKEND, else auto). */
  webgpuBackend?: string;
}

let lastChoice: BackendChoice | undefined;

/**
 * The running backend by uirgen's name: tf.getBackend() says "wasm" for the native backend too, since native
 * is the wasm backend with kernels replaced.
 */
export function activeBackendName(): string {
  const tfjsName = tf.getBackend();
  return lastChoice?.name === 'native' && tfjsName === 'wasm' ? 'native' : tfjsName;
}

async function chooseBackend(name: BackendName, log: BackendLog, webgpuBackend: WebGpuBackend): Promise<BackendChoice> {
  if (!isBackendName(name)) throw new BackendUnavailableError(`unknown backend "${String(name)}" (expected one of ${BACKEND_NAMES.join(', ')})`);
  switch (name) {
    case 'tensorflow':
      return initTensorflow();
    case 'webgpu':
      return initWebGpu(false, webgpuBackend);
    case 'native':
      return initNative();
    case 'wasm':
      return initWasm();
    case 'cpu':
      return initCpu();
    case 'auto':
      break;
  }
  const skipped: string[] = [];
  for (const [label, start] of [
    ['tensorflow', initTensorflow],
    ['webgpu', () => startWebGpuForAuto(webgpuBackend)],
    ['native', initNative],
  ] as const) {
    try {
      const choice = await start();
      log(`backend: ${choice.name} (${choice.detail})${skipped.length ? `; passed over ${skipped.join('; ')}` : ''}`);
      return choice;
    } catch (err) {
      if (!(err instanceof BackendUnavailableError)) throw err;
      skipped.push(`${label}: ${err.summary ?? shortReason(err.message)}`);
    }
  }
  const choice = await initWasm();
  log(`backend: ${choice.name} (${choice.detail}); passed over ${skipped.join('; ')}`);
  return choice;
}

/**
 * `auto` takes webgpu only on a real GPU. On Linux that means Vulkan: without its loader Dawn cannot reach a
 * GPU, and OpenGL ES there is llvmpipe, so it is not even probed unless asked for by name.
 */
function startWebGpuForAuto(backend: WebGpuBackend): Promise<BackendChoice> {
  if (process.platform === 'linux' && backend !== 'opengles' && !vulkanLoaderPresent()) {
    return Promise.reject(new BackendUnavailableError('the webgpu backend is not usable here (no Vulkan loader libvulkan.so.1)'));
  }
  return initWebGpu(true, backend);
}

/**
 * On Linux Dawn reaches the GPU through the Vulkan loader; without libvulkan.so.1 it can only fail,
 * and it prints a warning while doing so, so `auto` does not try it. Other systems use Metal/D3D12.
 */
export function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d);
  if (dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')))) return true;
  try {
    return readFileSync('/etc/ld.so.cache').includes('libvulkan.so.1');
  } catch {
    return true; // no cache to read: let Dawn decide
  }
}

function shortReason(message: string): string {
  const m = /not usable here \(([^)]*)\)/.exec(message);
  if (m) return m[1];
  return message.replace(/^the \w+ backend /, '').split(':')[0];
}
