// The server's state without the LSP plumbing: settings, the lazily loaded model and its
// engine, the adapter store, the active adapter set of each workspace folder with the
// merged-weights cache, completion scheduling (supersede, debounce, counters) and status.
// server.ts maps requests onto it; every expected failure is a CodetuneError.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadAdapter } from '../adapters/peft';
import { CodetuneError, describeError } from '../errors';
import { initBackend } from '../model/backend';
import { resolveModelCached } from '../hub/resolve';
import { parseModelRef } from '../hub/ref';
import { loadModel } from '../model/checkpoint';
import type { LoraAdapter } from '../model/lora';
import { mergeAdapters } from '../model/merge';
import { CodeTokenizer } from '../model/tokenizer';
import type { ActiveAdapter, AdapterInfo, BackendReport, CompletionCounters, LoadModelResult, SetActiveResult, StatusResult } from '../protocol';
import { writeFileAtomic } from '../util/atomic';
import { completeAt, offsetOf, type CompletionOutcome, type Position } from './completion';
import type { ResolvedSettings } from './config';
import { CompletionEngine, StaleRequest } from './engine';
import { AdapterStore } from './store';
import { TrainingManager, uriToPath, type TrainingHost } from './training';
import { MergedWeightsCache, combinationKey } from './weights';

export interface ServiceHost extends TrainingHost {
  log(message: string): void;
  showError(message: string): void;
}

export interface CancelToken {
  readonly isCancellationRequested: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class CodetuneService {
  readonly counters: CompletionCounters = { requested: 0, computed: 0, cancelled: 0 };
  readonly store: AdapterStore;
  readonly merged: MergedWeightsCache;
  readonly training: TrainingManager;
  workspaceFolders: string[] = [];
  private engine: CompletionEngine | null = null;
  private loading: Promise<CompletionEngine> | null = null;
  private modelDir: string | null;
  private modelError: string | null = null;
  private backend: BackendReport | null = null;
  private readonly active = new Map<string, ActiveAdapter[]>();
  private readonly latest = new Map<string, number>();
  private seq = 0;

  constructor(readonly settings: ResolvedSettings, private readonly host: ServiceHost) {
    this.store = new AdapterStore(settings.storagePath);
    this.merged = new MergedWeightsCache(settings.completions.mergedCacheSize);
    this.modelDir = settings.baseModel ? modelFolder(settings.baseModel) : null;
    this.training = new TrainingManager(host, this.store, settings, () => this.modelDir, (dir) => this.validateAdapter(dir));
    this.loadActiveSets();
  }

  // ---- model ----

  /** The engine, loading the model on first use. A failure is reported and retried next time. */
  async ensureModel(): Promise<CompletionEngine> {
    if (this.engine) {
      return this.engine;
    }
    if (!this.loading) {
      this.loading = this.load(this.modelDir)
        .then((engine) => (this.engine = engine))
        .finally(() => {
          this.loading = null;
        });
    }
    return this.loading;
  }

  private async load(dir: string | null): Promise<CompletionEngine> {
    try {
      if (!dir) {
        throw new CodetuneError('CHECKPOINT_MISSING', 'no base model is configured; set `baseModel` in the initialization options (or pass --model) and try again');
      }
      this.backend = await initBackend(this.settings.backend);
      if (!fs.existsSync(dir)) {
        if (parseModelRef(dir).kind === 'hub') {
          resolveModelCached(dir); // not in the cache: throws, saying to download it first
        }
        throw new CodetuneError('CHECKPOINT_MISSING', `the base model folder ${dir} does not exist; download a model or fix the baseModel setting`, { file: dir });
      }
      const model = loadModel(dir);
      let tokenizer: CodeTokenizer;
      try {
        tokenizer = CodeTokenizer.fromDir(dir);
      } catch (e) {
        model.dispose();
        throw e;
      }
      const engine = new CompletionEngine(model, tokenizer, this.settings.completions.kvReuse);
      this.modelError = null;
      const skipped = this.backend.skipped.map((b) => `${b.name}: ${b.reason}`).join('; ');
      this.host.log(`model ${dir} loaded (${model.config.modelType}, backend ${this.backend.backend} from ${this.backend.provider}${skipped ? `; skipped ${skipped}` : ''})`);
      return engine;
    } catch (e) {
      this.modelError = describeError(e);
      this.host.log(`model load failed: ${this.modelError}`);
      this.host.showError(`Codetune: cannot load the base model: ${this.modelError}`);
      throw e;
    }
  }

  /** `codetune/loadModel`: load now, or switch to another model folder (the old one serves until the new one is loaded). */
  async loadModel(dir?: string): Promise<LoadModelResult> {
    const target = dir ? modelFolder(dir) : this.modelDir;
    const t0 = performance.now();
    if (this.loading) {
      await this.loading.catch(() => undefined);
    }
    if (this.engine && target !== this.modelDir) {
      const next = await this.load(target); // throws: the current model stays
      const old = this.engine;
      await old.exclusive(() => {
        this.merged.clear();
        old.dispose();
      });
      this.engine = next;
      this.modelDir = target;
    } else {
      this.modelDir = target;
      await this.ensureModel();
    }
    return { model: target ?? '', backend: this.backend!, loadMs: performance.now() - t0 };
  }

  // ---- completions ----

  /** The workspace folder (URI) holding `uri`: the longest match; "" when none does. */
  folderOf(uri: string): string {
    let best = '';
    for (const f of new Set([...this.workspaceFolders, ...this.active.keys()])) {
      const base = f.endsWith('/') ? f : `${f}/`;
      if (f !== '' && uri.startsWith(base) && f.length > best.length) {
        best = f;
      }
    }
    return best;
  }

  private filePathOf(uri: string, folder: string): string | null {
    try {
      if (folder !== '') {
        return path.relative(uriToPath(folder), uriToPath(uri)).split(path.sep).join('/');
      }
      return path.basename(uriToPath(uri));
    } catch {
      return null;
    }
  }

  /**
   * Complete at `pos`. A newer request for the same document, or a cancelled token, makes
   * this one throw StaleRequest (before the decode, or between decode steps).
   */
  async complete(uri: string, text: string, pos: Position, token: CancelToken): Promise<CompletionOutcome> {
    this.counters.requested += 1;
    const seq = ++this.seq;
    this.latest.set(uri, seq);
    const isStale = () => token.isCancellationRequested || this.latest.get(uri) !== seq;
    try {
      const offset = offsetOf(text, pos);
      if (this.settings.completions.debounceMs > 0) {
        await sleep(this.settings.completions.debounceMs);
      }
      if (isStale()) {
        throw new StaleRequest();
      }
      const engine = await this.ensureModel();
      const folder = this.folderOf(uri);
      const out = await completeAt(engine, this.settings.completions, { text, offset, filePath: this.filePathOf(uri, folder) }, { isStale, activate: () => this.activate(engine, this.active.get(folder) ?? []) });
      this.counters.computed += 1;
      return out;
    } catch (e) {
      if (e instanceof StaleRequest) {
        this.counters.cancelled += 1;
      }
      throw e;
    } finally {
      if (this.latest.get(uri) === seq) {
        this.latest.delete(uri);
      }
    }
  }

  /** Serve with the merged weights of `set` (inside the engine's turn); returns their key. */
  private activate(engine: CompletionEngine, set: ActiveAdapter[]): string {
    const key = combinationKey(set);
    engine.model.setMergedWeights(key === '' ? new Map() : this.merged.get(key, () => this.merge(engine, set)));
    return key;
  }

  private merge(engine: CompletionEngine, set: ActiveAdapter[]): Map<string, tf.Tensor> {
    const loaded: Array<{ adapter: LoraAdapter; weight: number }> = [];
    try {
      for (const a of set.filter((x) => x.weight !== 0)) {
        loaded.push({ adapter: loadAdapter(this.store.dir(a.id), engine.model), weight: a.weight });
      }
      return mergeAdapters(engine.model, loaded);
    } finally {
      loaded.forEach((l) => l.adapter.dispose());
    }
  }

  // ---- adapters ----

  /** Check that an adapter folder loads and fits the serving base (loading the model if needed). */
  private async validateAdapter(dir: string): Promise<void> {
    const engine = await this.ensureModel();
    loadAdapter(dir, engine.model).dispose();
  }

  listAdapters(): AdapterInfo[] {
    return this.store.list();
  }

  async importAdapter(src: string, name?: string): Promise<AdapterInfo> {
    if (typeof src !== 'string' || src === '') {
      throw new CodetuneError('USAGE', 'import needs "path": a PEFT adapter folder');
    }
    const engine = await this.ensureModel(); // the base it must fit
    return this.store.import(src, { name, validate: (dir) => loadAdapter(dir, engine.model).dispose() });
  }

  exportAdapter(id: string, dest: string): string {
    if (typeof dest !== 'string' || dest === '') {
      throw new CodetuneError('USAGE', 'export needs "path": the folder to write');
    }
    return this.store.export(id, dest);
  }

  async deleteAdapter(id: string): Promise<void> {
    this.store.dir(id); // NOT_FOUND first
    const drop = () => {
      this.merged.evictAdapter(id);
      this.engine?.model.setMergedWeights(new Map());
      this.engine?.resetCache();
      this.store.delete(id);
      for (const [folder, set] of this.active) {
        if (set.some((a) => a.id === id)) {
          this.active.set(folder, set.filter((a) => a.id !== id));
        }
      }
      this.saveActiveSets();
    };
    await (this.engine ? this.engine.exclusive(drop) : drop());
  }

  async setActive(folder: string | undefined, adapters: ActiveAdapter[]): Promise<SetActiveResult> {
    const key = typeof folder === 'string' ? folder.replace(/\/+$/, '') : '';
    if (!Array.isArray(adapters) || adapters.some((a) => !a || typeof a.id !== 'string' || typeof a.weight !== 'number' || !Number.isFinite(a.weight))) {
      throw new CodetuneError('USAGE', 'adapters must be a list of {id, weight} with a finite numeric weight');
    }
    const set = adapters.map((a) => ({ id: a.id, weight: a.weight }));
    set.forEach((a) => this.store.dir(a.id)); // unknown ids are refused before anything changes
    if (combinationKey(set) !== '') {
      // Merge now, so a broken adapter fails here and the first completion is fast.
      const engine = await this.ensureModel();
      await engine.exclusive(() => this.activate(engine, set));
    }
    this.active.set(key, set);
    this.saveActiveSets();
    return { workspaceFolder: key, adapters: set };
  }

  private activeFile(): string {
    return path.join(this.settings.storagePath, 'active.json');
  }

  private loadActiveSets(): void {
    try {
      const json: unknown = JSON.parse(fs.readFileSync(this.activeFile(), 'utf8'));
      if (json && typeof json === 'object') {
        for (const [k, v] of Object.entries(json)) {
          if (Array.isArray(v)) {
            this.active.set(k, v.filter((a): a is ActiveAdapter => a && typeof a.id === 'string' && typeof a.weight === 'number'));
          }
        }
      }
    } catch {
      // No saved sets yet (or unreadable): start with the base everywhere.
    }
  }

  private saveActiveSets(): void {
    try {
      writeFileAtomic(this.activeFile(), JSON.stringify(Object.fromEntries(this.active), null, 2) + '\n');
    } catch (e) {
      this.host.log(`could not save the active adapter sets: ${describeError(e)}`);
    }
  }

  // ---- status ----

  status(): StatusResult {
    // tf.memory() before the backend is ready would throw (wasm initialises asynchronously).
    const m = this.backend ? tf.memory() : { numTensors: 0, numBytes: 0 };
    const mem = process.memoryUsage();
    const e = this.engine;
    return {
      backend: this.backend,
      model: {
        dir: this.modelDir,
        state: e ? 'loaded' : this.loading ? 'loading' : this.modelError ? 'error' : 'unloaded',
        error: this.modelError,
        modelType: e?.model.config.modelType ?? null,
        vocabSize: e?.model.config.vocabSize ?? null,
        fim: e?.tokenizer.fim?.style ?? null,
      },
      activeAdapters: Object.fromEntries(this.active),
      training: this.training.state(),
      memory: { numTensors: m.numTensors, numBytes: m.numBytes, rssBytes: mem.rss, heapUsedBytes: mem.heapUsed },
      counters: { ...this.counters },
      mergedCache: { size: this.merged.size, capacity: this.merged.capacity, hits: this.merged.hits, misses: this.merged.misses },
      kvCache: { reusedTokens: e?.stats.reusedTokens ?? 0, prefilledTokens: e?.stats.prefilledTokens ?? 0 },
    };
  }

  dispose(): void {
    this.training.cancel();
    void this.training.finished.then(() => this.training.close()); // after the cancel keeps its checkpoint
    this.merged.clear();
    this.engine?.dispose();
    this.engine = null;
  }
}

/** A model folder: a path as is, or a hub id resolved to its cached snapshot (the extension downloads first, with progress). */
function modelFolder(ref: string): string {
  const r = parseModelRef(ref);
  if (r.kind === 'local') {
    return r.path;
  }
  try {
    return resolveModelCached(ref).dir;
  } catch {
    return ref; // loading reports that it is not downloaded yet
  }
}
