// The dashboard's state and the plain data its views draw: no DOM here, so this is
// unit-tested in Node. The page keeps one DashboardSnapshot (also saved with
// vscode.setState, so a reload redraws at once) and folds messages into it.
import type { AdapterInfo } from '../server/protocol';
import type { DashboardSnapshot, DatasetView, LossPoint, RunView, ToPage } from './messages';

export const EMPTY: DashboardSnapshot = { run: null, adapters: [], folder: null, active: [], backend: null, serverRunning: false };

/** Fold one message from the extension into the snapshot; unknown messages leave it as it is. */
export function apply(s: DashboardSnapshot, m: unknown): DashboardSnapshot {
  if (!m || typeof m !== 'object') {
    return s;
  }
  const msg = m as ToPage;
  if (msg.type === 'snapshot' && msg.snapshot && typeof msg.snapshot === 'object') {
    return { ...EMPTY, ...msg.snapshot };
  }
  if (msg.type === 'run' && msg.run && typeof msg.run === 'object' && Array.isArray(msg.run.points)) {
    return { ...s, run: msg.run };
  }
  return s;
}

export interface Series {
  train: Array<{ x: number; y: number }>;
  val: Array<{ x: number; y: number }>;
}

export function series(points: LossPoint[]): Series {
  return {
    train: points.filter((p) => Number.isFinite(p.loss)).map((p) => ({ x: p.step, y: p.loss })),
    val: points.filter((p) => p.valLoss !== undefined && Number.isFinite(p.valLoss)).map((p) => ({ x: p.step, y: p.valLoss as number })),
  };
}

const f3 = (x: number): string => x.toFixed(3);

/** What a screen reader hears for the chart. */
export function chartLabel(run: RunView | null): string {
  if (!run || run.points.length === 0) {
    return 'Loss chart: no data yet';
  }
  const s = series(run.points);
  const first = s.train[0];
  const last = s.train.at(-1);
  const val = s.val.at(-1);
  const parts = [`Loss chart: ${s.train.length} steps`];
  if (first && last) {
    parts.push(`training loss ${f3(first.y)} at step ${first.x} to ${f3(last.y)} at step ${last.x}`);
  }
  if (val) {
    parts.push(`last validation loss ${f3(val.y)} at step ${val.x}`);
  }
  return parts.join(', ');
}

export function duration(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec) || sec < 0) {
    return '—';
  }
  if (sec < 90) {
    return `${Math.round(sec)} s`;
  }
  return sec < 5400 ? `${Math.round(sec / 60)} min` : `${(sec / 3600).toFixed(1)} h`;
}

export function runStatus(run: RunView | null): string {
  if (!run) {
    return 'No training run yet.';
  }
  switch (run.state) {
    case 'collecting':
      return 'Collecting training data…';
    case 'training':
      return `Training: step ${run.step} of ${run.totalSteps}.`;
    case 'done':
      return `Finished: ${run.totalSteps || run.step} steps${run.adapterName ? `, adapter "${run.adapterName}"` : ''}.`;
    case 'cancelled':
      return `Cancelled at step ${run.step}.`;
    case 'failed':
      return `Failed: ${run.error ?? 'unknown error'}`;
  }
}

/** Label/value rows of the run panel. */
export function runStats(s: DashboardSnapshot): Array<[string, string]> {
  const r = s.run;
  const last = r?.points.at(-1);
  const val = r ? series(r.points).val.at(-1) : undefined;
  return [
    ['Step', r ? `${r.step} / ${r.totalSteps || '—'}` : '—'],
    ['Training loss', last ? f3(last.loss) : '—'],
    ['Validation loss', val ? f3(val.y) : '—'],
    ['Tokens/s', r?.tokensPerSec !== null && r?.tokensPerSec !== undefined ? String(Math.round(r.tokensPerSec)) : '—'],
    ['ETA', r && (r.state === 'training' || r.state === 'collecting') ? duration(r.etaSec) : '—'],
    ['Backend', s.backend ?? r?.backend ?? '—'],
  ];
}

/** Rows of the dataset panel: [section, label, count]. */
export function datasetRows(d: DatasetView | null): Array<[string, string, number]> {
  if (!d) {
    return [];
  }
  const rows: Array<[string, string, number]> = [];
  if (d.files) {
    rows.push(['Files', 'kept', d.files.kept]);
    for (const [reason, n] of Object.entries(d.files.skipped).sort((a, b) => b[1] - a[1])) {
      rows.push(['Files', `skipped: ${reason}`, n]);
    }
  }
  if (d.examples) {
    rows.push(['Examples', 'total', d.examples.total]);
    for (const [type, n] of Object.entries(d.examples.byType)) {
      rows.push(['Examples', type, n]);
    }
  }
  if (d.secrets) {
    const total = Object.values(d.secrets).reduce((a, b) => a + b, 0);
    rows.push(['Secrets', 'redacted', total]);
    for (const [kind, n] of Object.entries(d.secrets)) {
      rows.push(['Secrets', kind, n]);
    }
  }
  if (d.tokens) {
    rows.push(['Tokens', 'train', d.tokens.train], ['Tokens', 'validation', d.tokens.val]);
  }
  return rows;
}

function metric(a: AdapterInfo, side: 'base' | 'adapter', key: string): number | null {
  const m = a.metrics?.[side];
  const v = m && typeof m === 'object' ? (m as Record<string, unknown>)[key] : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export interface AdapterRowView {
  id: string;
  name: string;
  repo: string;
  created: string;
  enabled: boolean;
  weight: number | null;
  loss: string;
  exactMatch: string;
  editSimilarity: string;
}

function pair(b: number | null, a: number | null, f: (x: number) => string): string {
  if (a === null) {
    return '—';
  }
  return b === null ? f(a) : `${f(b)} → ${f(a)}`;
}

export function adapterRows(s: DashboardSnapshot): AdapterRowView[] {
  const pct = (x: number) => `${Math.round(100 * x)}%`;
  return s.adapters.map((a) => {
    const on = s.active.find((x) => x.id === a.id);
    return {
      id: a.id,
      name: a.name,
      repo: a.repo ? a.repo.replace(/^.*[\\/]/, '').replace(/\.git$/, '') : '—',
      created: a.created.slice(0, 16).replace('T', ' '),
      enabled: on !== undefined,
      weight: on ? on.weight : null,
      loss: pair(metric(a, 'base', 'valLoss'), metric(a, 'adapter', 'valLoss'), (x) => x.toFixed(2)),
      exactMatch: pair(metric(a, 'base', 'exactMatch'), metric(a, 'adapter', 'exactMatch'), pct),
      editSimilarity: pair(metric(a, 'base', 'editSimilarity'), metric(a, 'adapter', 'editSimilarity'), (x) => x.toFixed(2)),
    };
  });
}
