// Tensor backend selection. The model code is written once against tfjs-core ops;
// this module picks the fastest backend the machine offers and reports why others
// were skipped:  auto = tfjs-node-gpu → tfjs-node → wasm → cpu.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { CodetuneError } from '../errors';
import { BACKEND_CHOICES, type BackendChoice, type BackendReport, type BackendSkip } from '../protocol';

export { BACKEND_CHOICES, type BackendChoice } from '../protocol';

const NATIVE_PROVIDERS = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

// Quiet tfjs's console hints (e.g. the cpu backend's "install tfjs-node" banner): the
// chosen backend and the reasons are reported through BackendReport instead.
tf.env().set('PROD', true);

let current: BackendReport | null = null;

/** Folder holding the wasm backend's .wasm files: next to the bundle, else the npm package. */
export function wasmDir(): string {
  if (fs.existsSync(path.join(__dirname, 'tfjs-backend-wasm-simd.wasm'))) {
    return __dirname + path.sep;
  }
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
}

function reasonOf(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const first = msg.split('\n')[0];
  return /Cannot find module/.test(first) ? 'not installed' : first;
}

async function tryNative(skipped: BackendSkip[]): Promise<string | null> {
  for (const pkg of NATIVE_PROVIDERS) {
    try {
      // Loaded at run time: optional dependencies whose install needs libtensorflow.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(pkg);
      if (await tf.setBackend('tensorflow')) {
        return pkg;
      }
      skipped.push({ name: pkg, reason: 'loaded, but its backend failed to initialise' });
    } catch (e) {
      skipped.push({ name: pkg, reason: reasonOf(e) });
    }
  }
  return null;
}

/**
 * The wasm backend's Identity kernel copies its input, and tfjs clones (Identity) every
 * tensor it saves for a gradient, so training on wasm held a full copy of each saved
 * activation. tfjs tensors are immutable and the wasm backend reference-counts its data
 * (its Reshape shares data the same way), so Identity can share instead of copy, as the
 * cpu backend's does.
 */
let identityShared = false;

function shareIdentityOnWasm(): void {
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      (backend as unknown as { incRef(id: tf.DataId): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
}

async function tryWasm(skipped: BackendSkip[]): Promise<boolean> {
  try {
    setWasmPaths(wasmDir());
    if (await tf.setBackend('wasm')) {
      await tf.ready();
      if (!identityShared) {
        shareIdentityOnWasm();
        identityShared = true;
      }
      return true;
    }
    skipped.push({ name: 'wasm', reason: 'failed to initialise' });
  } catch (e) {
    skipped.push({ name: 'wasm', reason: reasonOf(e) });
  }
  return false;
}

/**
 * Select and initialise a backend. Idempotent: a second call with the same choice
 * returns the first report. Throws BACKEND_UNAVAILABLE when an explicit choice fails.
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendReport> {
  if (current && (choice === 'auto' || choice === current.backend)) {
    return current;
  }
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new CodetuneError('USAGE', `unknown backend "${choice}"; choose one of ${BACKEND_CHOICES.join(', ')}`);
  }
  const skipped: BackendSkip[] = [];
  let report: BackendReport | null = null;
  if (choice === 'auto' || choice === 'tensorflow') {
    const pkg = await tryNative(skipped);
    if (pkg) {
      report = { backend: 'tensorflow', provider: pkg, skipped };
    }
  }
  if (!report && (choice === 'auto' || choice === 'wasm')) {
    if (await tryWasm(skipped)) {
      report = { backend: 'wasm', provider: '@tensorflow/tfjs-backend-wasm', skipped };
    }
  }
  if (!report && (choice === 'auto' || choice === 'cpu')) {
    if (await tf.setBackend('cpu')) {
      report = { backend: 'cpu', provider: '@tensorflow/tfjs-backend-cpu', skipped };
    }
  }
  if (!report) {
    const why = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
    throw new CodetuneError('BACKEND_UNAVAILABLE', `backend "${choice}" is not available here (${why}); try --backend auto`);
  }
  current = report;
  return report;
}

export function backendReport(): BackendReport | null {
  return current;
}
