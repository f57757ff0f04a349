// Words and numbers the extension shows: metrics (base vs adapter), adapter rows
// for quick picks, progress messages. No `vscode` import.
import type { AdapterInfo, EvalMetrics, ProgressParams, TrainingDoneParams } from '../server/protocol';

export function pct(x: number): string {
  return `${(100 * x).toFixed(0)}%`;
}

function num(x: unknown): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

/** Read base/adapter EvalMetrics out of an adapter's free-form `metrics` (codetune.json). */
export function evalPair(metrics: Record<string, unknown> | null | undefined): { base: Partial<EvalMetrics> | null; adapter: Partial<EvalMetrics> | null } {
  const pick = (v: unknown): Partial<EvalMetrics> | null => {
    if (!v || typeof v !== 'object') {
      return null;
    }
    const o = v as Record<string, unknown>;
    const out: Partial<EvalMetrics> = {};
    for (const k of ['valLoss', 'perplexity', 'exactMatch', 'editSimilarity', 'pairs'] as const) {
      const n = num(o[k]);
      if (n !== null) {
        out[k] = n;
      }
    }
    return Object.keys(out).length > 0 ? out : null;
  };
  return { base: pick(metrics?.base), adapter: pick(metrics?.adapter) };
}

/** "loss 5.21 → 0.43, exact match 0% → 88%, edit similarity 0.31 → 0.95"; '' when nothing was measured. */
export function metricsLine(metrics: Record<string, unknown> | null | undefined): string {
  const { base, adapter } = evalPair(metrics);
  if (!adapter) {
    return '';
  }
  const parts: string[] = [];
  const pair = (label: string, b: number | undefined, a: number | undefined, f: (x: number) => string) => {
    if (a !== undefined) {
      parts.push(b !== undefined ? `${label} ${f(b)} → ${f(a)}` : `${label} ${f(a)}`);
    }
  };
  pair('loss', base?.valLoss, adapter.valLoss, (x) => x.toFixed(2));
  pair('exact match', base?.exactMatch, adapter.exactMatch, pct);
  pair('edit similarity', base?.editSimilarity, adapter.editSimilarity, (x) => x.toFixed(2));
  return parts.join(', ');
}

/** The notification after a training job ends. */
export function doneMessage(p: TrainingDoneParams): { ok: boolean; text: string } {
  if (p.error) {
    return p.error.code === 'CANCELLED'
      ? { ok: false, text: 'Codetune: training was cancelled.' }
      : { ok: false, text: `Codetune: training failed: ${p.error.message}` };
  }
  const name = p.adapter?.name ?? 'the adapter';
  const line = metricsLine(p.metrics ?? p.adapter?.metrics);
  const held = line ? ` Held-out (base → adapter): ${line}.` : ' No held-out pairs were measured.';
  return { ok: true, text: `Codetune: training done; adapter "${name}" is on for this workspace.${held}` };
}

export function bytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let x = n;
  while (x >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return `${i === 0 ? x : x.toFixed(1)} ${units[i]}`;
}

export function duration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) {
    return '?';
  }
  if (sec < 90) {
    return `${Math.round(sec)} s`;
  }
  if (sec < 5400) {
    return `${Math.round(sec / 60)} min`;
  }
  return `${(sec / 3600).toFixed(1)} h`;
}

/** One line under the progress notification. */
export function progressMessage(p: ProgressParams): string {
  const val = p.valLoss !== undefined && Number.isFinite(p.valLoss) ? `, val ${p.valLoss.toFixed(3)}` : '';
  return `step ${p.step}/${p.totalSteps} · loss ${p.loss.toFixed(3)}${val} · ${Math.round(p.tokensPerSec)} tok/s · ${duration(p.etaSec)} left`;
}

/** A quick-pick row for an adapter: label, description (repo, date) and detail (metrics). */
export function adapterRow(a: AdapterInfo): { label: string; description: string; detail: string } {
  const date = a.created ? a.created.slice(0, 16).replace('T', ' ') : '';
  const repo = a.repo ? a.repo.replace(/^.*[\\/]/, '').replace(/\.git$/, '') : 'unknown repo';
  const commit = a.commit ? `@${a.commit.slice(0, 7)}` : '';
  const m = metricsLine(a.metrics);
  return { label: a.name, description: `${repo}${commit} · ${date}`, detail: `${m || 'no held-out metrics'} · ${bytes(a.sizeBytes)} · ${a.id}` };
}
