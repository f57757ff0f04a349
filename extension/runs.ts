// The training run the dashboard shows: built from `codetune/progress` and
// `codetune/trainingDone`, kept (the finished run) in workspaceState so the chart is
// there after a reload. Also the crash-restart policy of the server. No `vscode` import.
import type { ProgressParams, TrainingDoneParams } from '../server/protocol';
import type { DatasetView, LossPoint, RunView } from '../webview/messages';
import { evalPair } from './format';

/** Loss points kept per run; older ones are thinned (every other one) beyond this. */
export const MAX_POINTS = 2000;

export function newRun(jobId: string, folder: string, now = new Date()): RunView {
  return {
    jobId, folder, state: 'collecting', startedAt: now.toISOString(), points: [], step: 0, totalSteps: 0,
    tokensPerSec: null, etaSec: null, backend: null, adapterId: null, adapterName: null, metrics: null, error: null, dataset: null,
  };
}

function thin(points: LossPoint[]): LossPoint[] {
  // Keep validation points and the last point; drop every other training-only point.
  return points.filter((p, i) => p.valLoss !== undefined || i % 2 === 0 || i === points.length - 1);
}

/** A run with one more progress event. Events of another job are ignored. */
export function addProgress(run: RunView, p: ProgressParams): RunView {
  if (p.jobId !== run.jobId || run.state === 'done' || run.state === 'failed' || run.state === 'cancelled') {
    return run;
  }
  let points = run.points;
  if (Number.isFinite(p.loss)) {
    const point: LossPoint = { step: p.step, loss: p.loss, ...(p.valLoss !== undefined && Number.isFinite(p.valLoss) ? { valLoss: p.valLoss } : {}) };
    // The same step twice (a validation report after the training report) merges.
    const last = points.at(-1);
    points = last && last.step === p.step ? [...points.slice(0, -1), { ...last, ...point }] : [...points, point];
    if (points.length > MAX_POINTS) {
      points = thin(points);
    }
  }
  return { ...run, state: 'training', points, step: p.step, totalSteps: p.totalSteps, tokensPerSec: p.tokensPerSec, etaSec: p.etaSec };
}

/** The run after its `trainingDone`. */
export function finishRun(run: RunView, d: TrainingDoneParams, dataset: DatasetView | null): RunView {
  if (d.jobId !== run.jobId) {
    return run;
  }
  const m = d.metrics ?? null;
  const backend = m && typeof m.backend === 'string' ? m.backend : run.backend;
  const state = d.error ? (d.error.code === 'CANCELLED' ? 'cancelled' : 'failed') : 'done';
  return {
    ...run, state, backend, etaSec: d.error ? run.etaSec : 0,
    adapterId: d.adapter?.id ?? null, adapterName: d.adapter?.name ?? null,
    metrics: m ? evalPair(m) : d.adapter ? evalPair(d.adapter.metrics) : null,
    error: d.error ? d.error.message : null,
    dataset,
  };
}

/** Pick the dataset statistics out of an adapter's codetune.json (any JSON). */
export function datasetFromMeta(meta: unknown): DatasetView | null {
  if (!meta || typeof meta !== 'object') {
    return null;
  }
  const d = (meta as { dataset?: unknown }).dataset;
  if (!d || typeof d !== 'object') {
    return null;
  }
  const o = d as Record<string, unknown>;
  const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
  const counts = (v: unknown): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [k, n] of Object.entries(obj(v) ?? {})) {
      if (typeof n === 'number' && Number.isFinite(n)) {
        out[k] = n;
      }
    }
    return out;
  };
  const files = obj(o.files);
  const examples = obj(o.examples);
  const tokens = obj(o.tokens);
  const view: DatasetView = {};
  if (files) {
    view.files = { kept: Number(files.kept ?? 0), skipped: counts(files.skipped), ...(typeof files.tracked === 'number' ? { tracked: files.tracked } : {}), ...(typeof files.seen === 'number' ? { seen: files.seen } : {}) };
  }
  if (examples) {
    view.examples = { total: Number(examples.total ?? 0), byType: counts(examples.byType), ...(typeof examples.train === 'number' ? { train: examples.train } : {}), ...(typeof examples.val === 'number' ? { val: examples.val } : {}) };
  }
  if (o.secrets !== undefined) {
    view.secrets = counts(o.secrets);
  }
  if (tokens && typeof tokens.train === 'number' && typeof tokens.val === 'number') {
    view.tokens = { train: tokens.train, val: tokens.val };
  }
  return Object.keys(view).length > 0 ? view : null;
}

/**
 * When the server process dies: restart it up to `max` times within `windowMs`, then
 * stop and say so. `record` returns what to do and the message to show.
 */
export class RestartPolicy {
  private crashes: number[] = [];

  constructor(private readonly max = 4, private readonly windowMs = 3 * 60_000) {}

  record(now = Date.now()): { restart: boolean; message: string } {
    this.crashes = [...this.crashes.filter((t) => now - t < this.windowMs), now];
    const n = this.crashes.length;
    if (n <= this.max) {
      return { restart: true, message: `The Codetune server stopped unexpectedly; restarting it (${n} of ${this.max}).` };
    }
    return {
      restart: false,
      message: `The Codetune server stopped ${n} times in ${Math.round(this.windowMs / 60_000)} minutes; it will not be restarted. See "Codetune: Show logs", then run "Codetune: Restart server".`,
    };
  }

  reset(): void {
    this.crashes = [];
  }
}
