// The completion engine: one model, one KV cache, one decode at a time. A prompt that
// shares a prefix with the cached tokens (the previous prompt plus what was generated
// after it) only prefills the tokens after the shared part. Decoding yields to the
// event loop between steps, so `$/cancelRequest` and newer requests are seen, and stops
// at EOS / the FIM end token, the token limit, or a stop rule (stop.ts).
import * as tf from '@tensorflow/tfjs-core';
import { step } from '../model/generate';
import { KVCache } from '../model/kvcache';
import type { CausalLM } from '../model/llama';
import { sampleToken, seededRandom } from '../model/sampling';
import type { CodeTokenizer } from '../model/tokenizer';
import { cutCompletion, finishCompletion, type CursorContext } from './stop';

export interface DecodeRequest {
  prompt: number[];
  ctx: CursorContext;
  maxTokens: number;
  temperature: number;
  seed?: number;
  /** Checked before the prefill and between decode steps; true drops the request. */
  isStale: () => boolean;
  /** false: decode until EOS or maxTokens, ignoring the stop rules (benchmarks of fixed lengths). */
  stopRules?: boolean;
  /** Called inside the engine's turn, before any model work: set the serving weights; returns their key. */
  activate?: () => string;
}

export interface DecodeResult {
  /** The item text, or null when nothing worth showing was generated. */
  text: string | null;
  raw: string;
  tokens: number;
  /** Prompt tokens served from the KV cache, and the ones prefilled. */
  reused: number;
  prefilled: number;
  /** From the start of this request's turn to the first new token. */
  ttftMs: number;
  totalMs: number;
  stop: 'eos' | 'rule' | 'max_tokens';
}

/** Thrown when a request went stale (cancelled or superseded) while waiting or decoding. */
export class StaleRequest extends Error {
  constructor() {
    super('the request was cancelled or superseded');
  }
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function sharedPrefix(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) {
    i++;
  }
  return i;
}

export class CompletionEngine {
  private readonly cache: KVCache;
  /** Token ids whose keys/values the cache holds, in order. */
  private cachedIds: number[] = [];
  private weightsKey: string | null = null;
  private turn: Promise<void> = Promise.resolve();
  private readonly stopIds: Set<number>;
  readonly stats = { reusedTokens: 0, prefilledTokens: 0 };

  constructor(readonly model: CausalLM, readonly tokenizer: CodeTokenizer, public kvReuse = true) {
    this.cache = new KVCache(model.config.numLayers);
    const f = tokenizer.fim;
    this.stopIds = new Set([...tokenizer.eosIds, ...model.config.eosTokenIds, ...(f ? [f.prefix, f.suffix, f.middle] : []), ...(f?.end !== null && f?.end !== undefined ? [f.end] : []), ...(f?.pad !== null && f?.pad !== undefined ? [f.pad] : [])]);
  }

  /** Run `fn` when every earlier turn has finished (one decode, or weight change, at a time). */
  async exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const prev = this.turn;
    let release!: () => void;
    this.turn = new Promise((r) => (release = r));
    try {
      await prev;
      return await fn();
    } finally {
      release();
    }
  }

  /** Forget the cached keys/values (the weights changed). */
  resetCache(): void {
    this.cache.truncate(0);
    this.cachedIds = [];
  }

  async complete(req: DecodeRequest): Promise<DecodeResult> {
    return this.exclusive(async () => {
      if (req.isStale()) {
        throw new StaleRequest();
      }
      const t0 = performance.now();
      const key = req.activate ? req.activate() : '';
      if (key !== this.weightsKey) {
        this.resetCache();
        this.weightsKey = key;
      }
      return this.decode(req, t0);
    });
  }

  private async decode(req: DecodeRequest, t0: number): Promise<DecodeResult> {
    const prompt = req.prompt;
    // Reuse the cached positions the prompt shares; at least one token is fed for logits.
    let keep = this.kvReuse ? Math.min(sharedPrefix(this.cachedIds, prompt), prompt.length - 1) : 0;
    keep = Math.max(0, keep);
    this.cache.truncate(keep);
    this.cachedIds.length = keep;
    let logits = step(this.model, prompt.slice(keep), this.cache);
    this.cachedIds.push(...prompt.slice(keep));
    this.stats.reusedTokens += keep;
    this.stats.prefilledTokens += prompt.length - keep;
    const rand = seededRandom(req.seed ?? 0);
    const out: number[] = [];
    let ttftMs = 0;
    let stop: DecodeResult['stop'] = 'max_tokens';
    let raw = '';
    for (;;) {
      const id = sampleToken(logits, { temperature: req.temperature, topP: 1 }, rand);
      if (out.length === 0) {
        ttftMs = performance.now() - t0;
      }
      if (this.stopIds.has(id)) {
        stop = 'eos';
        break;
      }
      out.push(id);
      raw = this.tokenizer.decode(out);
      if (req.stopRules !== false && cutCompletion(raw, req.ctx).done) {
        stop = 'rule';
        break;
      }
      if (out.length >= req.maxTokens) {
        break;
      }
      await yieldToEventLoop();
      if (req.isStale()) {
        throw new StaleRequest();
      }
      logits = step(this.model, [id], this.cache);
      this.cachedIds.push(id);
    }
    return { text: finishCompletion(raw, req.ctx), raw, tokens: out.length, reused: keep, prefilled: prompt.length - keep, ttftMs, totalMs: performance.now() - t0, stop };
  }

  dispose(): void {
    this.resetCache();
    this.model.dispose();
  }
}

/** Live tensor count and bytes of the tfjs engine. */
export function tensorMemory(): { numTensors: number; numBytes: number } {
  const m = tf.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
}
