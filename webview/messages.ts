// Messages between the extension and the dashboard page. Pure types (the page is
// browser code; the extension imports these types too).
import type { ActiveAdapter, AdapterInfo, EvalMetrics } from '../server/protocol';

export interface LossPoint {
  step: number;
  loss: number;
  /** Present on the steps where validation ran. */
  valLoss?: number;
}

/** Dataset statistics of a run, as the trainer records them (codetune.json `dataset`). */
export interface DatasetView {
  files?: { tracked?: number; seen?: number; kept: number; skipped: Record<string, number> };
  examples?: { total: number; byType: Record<string, number>; train?: number; val?: number };
  /** Secrets redacted, by kind. */
  secrets?: Record<string, number>;
  tokens?: { train: number; val: number } | null;
}

export type RunState = 'collecting' | 'training' | 'done' | 'failed' | 'cancelled';

/** One training run as the dashboard shows it. */
export interface RunView {
  jobId: string;
  folder: string;
  state: RunState;
  startedAt: string;
  points: LossPoint[];
  step: number;
  totalSteps: number;
  tokensPerSec: number | null;
  etaSec: number | null;
  backend: string | null;
  /** Set when the run ended. */
  adapterId: string | null;
  adapterName: string | null;
  metrics: { base: Partial<EvalMetrics> | null; adapter: Partial<EvalMetrics> | null } | null;
  error: string | null;
  dataset: DatasetView | null;
}

/** Everything the page draws. */
export interface DashboardSnapshot {
  run: RunView | null;
  adapters: AdapterInfo[];
  /** The active set of the workspace folder the dashboard acts on. */
  folder: string | null;
  active: ActiveAdapter[];
  backend: string | null;
  serverRunning: boolean;
}

/** Extension → page. */
export type ToPage =
  | { type: 'snapshot'; snapshot: DashboardSnapshot }
  | { type: 'run'; run: RunView };

/** Page → extension. */
export type FromPage =
  | { type: 'ready' }
  | { type: 'setEnabled'; id: string; enabled: boolean }
  | { type: 'command'; command: 'train' | 'cancel' | 'chooseAdapters' };
