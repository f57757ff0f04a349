// Every custom request/notification between the extension, the webview and the server:
// typed method constants and param/result types. Pure types, no Node imports: the method
// constants are RequestType/NotificationType from vscode-languageserver-protocol's common
// (browser-safe) entry, the classes vscode-languageclient 11 and vscode-languageserver 11 take.
import { NotificationType, RequestType } from 'vscode-languageserver-protocol';

/** `--backend` / `codetune.backend`: `auto` picks tfjs-node-gpu → tfjs-node → wasm → cpu. */
export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** Where a backend was skipped during `auto` selection, and why. */
export interface BackendSkip {
  name: string;
  reason: string;
}

export interface BackendReport {
  /** The tfjs backend in use: `tensorflow`, `wasm` or `cpu`. */
  backend: string;
  /** The package that provided it (e.g. `@tensorflow/tfjs-node-gpu`). */
  provider: string;
  skipped: BackendSkip[];
}

// ---- Training (worker → server → client) ----

/** One training progress event (worker message `progress`, LSP `codetune/progress`). */
export interface TrainProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  valLoss?: number;
  lr: number;
  tokensPerSec: number;
  etaSec: number;
  memoryBytes: number;
}

/** Held-out metrics of a model (base, or base + adapter). */
export interface EvalMetrics {
  valLoss: number;
  perplexity: number;
  exactMatch: number;
  editSimilarity: number;
  pairs: number;
}

export interface TrainDone {
  adapterDir: string;
  metrics: { base: EvalMetrics | null; adapter: EvalMetrics | null; [k: string]: unknown };
}

export interface TrainErrorEvent {
  code: string;
  message: string;
}

/** Messages a training worker posts to its parent. */
export type TrainWorkerMessage =
  | { type: 'progress'; progress: TrainProgress }
  | { type: 'done'; done: TrainDone }
  | { type: 'error'; error: TrainErrorEvent }
  | { type: 'log'; message: string };

// ---- Language server (custom `codetune/` methods; completions use LSP 3.18 inlineCompletion) ----
// One typed constant per request/notification, as vscode-languageserver-node does. The
// extension's vscode-languageclient (11.x, protocol 3.18.5) accepts these directly.

/** `initializationOptions` of the server; command-line flags fill in what is left out. */
export interface ServerSettings {
  /** Folder for the adapter store, active sets and logs. */
  storagePath?: string;
  /** Base model folder (Hugging Face checkpoint). */
  baseModel?: string;
  backend?: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  completions?: CompletionSettings;
  training?: Record<string, unknown>;
}

export interface CompletionSettings {
  /** Prompt budget in tokens (prefix + suffix + FIM tokens). Default 512. */
  maxPromptTokens?: number;
  /** Share of the budget the suffix may take. Default 0.25. */
  suffixShare?: number;
  /** New-token limit for multi-line completions. Default 64. */
  maxTokens?: number;
  /** New-token limit for single-line completions. Default 24. */
  maxSingleLineTokens?: number;
  /** Server-side debounce before a completion starts. Default 0 (off). */
  debounceMs?: number;
  /** 0 is greedy (the default). */
  temperature?: number;
  /** Fill-in-the-middle layout. Default `psm`. */
  fimMode?: 'psm' | 'spm';
  /** Merged weight sets kept in memory. Default 2. */
  mergedCacheSize?: number;
  /** Reuse the KV cache when a prompt extends the previous one. Default true. */
  kvReuse?: boolean;
}

/** One enabled adapter of a workspace folder. */
export interface ActiveAdapter {
  id: string;
  weight: number;
}

/** One adapter of the store, as `codetune/adapters/list` reports it. */
export interface AdapterInfo {
  id: string;
  name: string;
  repo: string | null;
  commit: string | null;
  created: string;
  base: string | null;
  metrics: Record<string, unknown> | null;
  sizeBytes: number;
}

export interface CompletionCounters {
  /** inlineCompletion requests received. */
  requested: number;
  /** Requests whose completion ran to the end and was answered. */
  computed: number;
  /** Requests dropped: `$/cancelRequest`, or superseded by a newer request for the document. */
  cancelled: number;
}

export interface StatusResult {
  backend: BackendReport | null;
  model: { dir: string | null; state: 'unloaded' | 'loading' | 'loaded' | 'error'; error: string | null; modelType: string | null; vocabSize: number | null; fim: string | null };
  /** Active adapter set per workspace folder URI (`""`: documents outside every folder). */
  activeAdapters: Record<string, ActiveAdapter[]>;
  training: { state: 'idle' | 'running'; jobId: string | null; workspaceFolder: string | null; progress: TrainProgress | null };
  memory: { numTensors: number; numBytes: number; rssBytes: number; heapUsedBytes: number };
  counters: CompletionCounters;
  mergedCache: { size: number; capacity: number; hits: number; misses: number };
  kvCache: { reusedTokens: number; prefilledTokens: number };
}

export interface LoadModelParams {
  /** A model folder; default: the configured base model. */
  model?: string;
}
export interface LoadModelResult {
  model: string;
  backend: BackendReport;
  loadMs: number;
}

export interface TrainParams {
  /** Workspace folder URI (or path) to train on. */
  workspaceFolder: string;
  /** Trainer options (merged over `initializationOptions.training`). */
  options?: Record<string, unknown>;
}
export interface TrainResult {
  jobId: string;
}
export interface CancelTrainingParams {
  jobId?: string;
}
export interface CancelTrainingResult {
  cancelled: boolean;
}
export interface ProgressParams extends TrainProgress {
  jobId: string;
}
export interface TrainingDoneParams {
  jobId: string;
  /** The stored adapter; null when training failed or was cancelled. */
  adapter: AdapterInfo | null;
  metrics: TrainDone['metrics'] | null;
  error: TrainErrorEvent | null;
}

export interface AdapterIdParams {
  id: string;
}
export interface SetActiveParams {
  /** Workspace folder URI; omitted: documents outside every folder. */
  workspaceFolder?: string;
  adapters: ActiveAdapter[];
}
export interface SetActiveResult {
  workspaceFolder: string;
  adapters: ActiveAdapter[];
}
export interface ImportAdapterParams {
  /** A PEFT adapter folder (adapter_config.json + adapter_model.safetensors). */
  path: string;
  name?: string;
}
export interface ExportAdapterParams {
  id: string;
  /** Destination folder (created; must not exist or be empty). */
  path: string;
}

/** `data` of every error a `codetune/` request answers with: the Codetune error code, and where. */
export interface ErrorData {
  code: string;
  file?: string;
  tensor?: string;
}

export const StatusRequest = new RequestType<Record<string, never> | null, StatusResult, ErrorData>('codetune/status');
export const LoadModelRequest = new RequestType<LoadModelParams | null, LoadModelResult, ErrorData>('codetune/loadModel');
export const TrainRequest = new RequestType<TrainParams, TrainResult, ErrorData>('codetune/train');
export const CancelTrainingRequest = new RequestType<CancelTrainingParams | null, CancelTrainingResult, ErrorData>('codetune/cancelTraining');
export const ProgressNotification = new NotificationType<ProgressParams>('codetune/progress');
export const TrainingDoneNotification = new NotificationType<TrainingDoneParams>('codetune/trainingDone');
export const ListAdaptersRequest = new RequestType<Record<string, never> | null, { adapters: AdapterInfo[] }, ErrorData>('codetune/adapters/list');
export const SetActiveAdaptersRequest = new RequestType<SetActiveParams, SetActiveResult, ErrorData>('codetune/adapters/setActive');
export const DeleteAdapterRequest = new RequestType<AdapterIdParams, { deleted: boolean }, ErrorData>('codetune/adapters/delete');
export const ImportAdapterRequest = new RequestType<ImportAdapterParams, AdapterInfo, ErrorData>('codetune/adapters/import');
export const ExportAdapterRequest = new RequestType<ExportAdapterParams, { path: string }, ErrorData>('codetune/adapters/export');

// ---- Model downloads (`codetune download --json` lines; the extension reads them) ----

export type ProgressState = 'start' | 'progress' | 'done' | 'cached';

export interface DownloadProgress {
  state: ProgressState;
  file: string;
  fileBytes: number;
  fileSize: number;
  /** All planned files together. */
  bytes: number;
  total: number;
  /** Bytes per second over the network in this run (resumed bytes do not count). */
  rate: number;
  /** Seconds left at the current rate; null until there is a rate. */
  etaSeconds: number | null;
}
