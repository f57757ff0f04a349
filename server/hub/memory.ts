// Memory check before loading a model: the float32 weights (tfjs has no half
// types), the KV cache for the context, and the largest shard read at once.
// Compared with the memory available now; over it is refused, close to it warned.
import * as os from 'node:os';
import { CodetuneError } from '../errors';
import { parameterCount, type ModelConfig } from '../model/config';

export type MemoryVerdict = 'ok' | 'warn' | 'refuse';

export interface MemoryEstimate {
  parameters: number;
  /** parameters x 4 bytes. */
  weightsBytes: number;
  /** K and V, float32, for every layer over `contextLength` tokens. */
  kvCacheBytes: number;
  /** Raw bytes of the largest shard, held while it is converted. */
  loadBufferBytes: number;
  totalBytes: number;
  availableBytes: number;
  verdict: MemoryVerdict;
  /** One line with the numbers, for a warning or an error. */
  message: string;
}

export interface MemoryOptions {
  /** Bytes available; default: what the OS (and any cgroup limit) says is available now. */
  availableBytes?: number;
  /** Sequences decoded at once (default 1). */
  batch?: number;
  /** Size in bytes of the largest weights file; default 0. */
  largestShardBytes?: number;
  /** Warn when the estimate exceeds this fraction of what is available (default 0.8). */
  warnFraction?: number;
}

/** Memory the process can still use: the cgroup-aware figure where Node has it, else MemAvailable. */
export function availableMemory(): number {
  const p = process as NodeJS.Process & { availableMemory?: () => number };
  const fromOs = os.freemem();
  const fromProcess = typeof p.availableMemory === 'function' ? p.availableMemory() : Infinity;
  return Math.min(fromOs, fromProcess > 0 ? fromProcess : Infinity);
}

export function kvCacheBytes(config: ModelConfig, contextLength: number, batch = 1): number {
  // K and V: [batch, numKvHeads, contextLength, headDim] per layer, float32.
  return 2 * config.numLayers * batch * config.numKvHeads * contextLength * config.headDim * 4;
}

export function formatGiB(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(bytes < 2 ** 30 ? 3 : 1)} GiB`;
}

/** Estimate what loading `config` with a `contextLength`-token KV cache needs, and whether it fits. */
export function checkMemory(config: ModelConfig, contextLength: number, opts: MemoryOptions = {}): MemoryEstimate {
  const parameters = parameterCount(config);
  const weightsBytes = parameters * 4;
  const kv = kvCacheBytes(config, contextLength, opts.batch ?? 1);
  const loadBufferBytes = opts.largestShardBytes ?? 0;
  const totalBytes = weightsBytes + kv + loadBufferBytes;
  const availableBytes = opts.availableBytes ?? availableMemory();
  const warnFraction = opts.warnFraction ?? 0.8;
  const verdict: MemoryVerdict = totalBytes > availableBytes ? 'refuse' : totalBytes > warnFraction * availableBytes ? 'warn' : 'ok';
  const parts = `${formatGiB(weightsBytes)} float32 weights (${(parameters / 1e6).toFixed(1)}M parameters) + ${formatGiB(kv)} KV cache for ${contextLength} tokens${loadBufferBytes > 0 ? ` + ${formatGiB(loadBufferBytes)} for the largest shard` : ''}`;
  const need = `needs about ${formatGiB(totalBytes)} (${parts}); ${formatGiB(availableBytes)} is available`;
  const message =
    verdict === 'refuse'
      ? `the model does not fit in memory: it ${need}. Use a smaller model, a shorter context, or free memory`
      : verdict === 'warn'
        ? `the model ${need}; the machine may start swapping`
        : `the model ${need}`;
  return { parameters, weightsBytes, kvCacheBytes: kv, loadBufferBytes, totalBytes, availableBytes, verdict, message };
}

/** checkMemory, then throw OUT_OF_MEMORY on `refuse`; `warn` is returned for the caller to show. */
export function requireMemory(config: ModelConfig, contextLength: number, opts: MemoryOptions = {}): MemoryEstimate {
  const m = checkMemory(config, contextLength, opts);
  if (m.verdict === 'refuse') {
    throw new CodetuneError('OUT_OF_MEMORY', m.message);
  }
  return m;
}
