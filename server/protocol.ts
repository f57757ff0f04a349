// Every custom request/notification between the extension, the webview and the server:
// typed method constants and param/result types. Pure types, no Node imports.

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
