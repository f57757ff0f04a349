// The status bar is drawn from one state value, after rust-analyzer's status item:
// `idle | collecting | training | serving | error`. Events go through `reduce`, the
// phase is derived from the state, and `render` turns it into text and tooltip.
// No `vscode` import, so every transition is unit-tested.

export type Phase = 'idle' | 'collecting' | 'training' | 'serving' | 'error';
export type ServerState = 'off' | 'starting' | 'running' | 'stopped';

export interface TrainingView {
  folder: string;
  step: number;
  totalSteps: number;
  loss: number | null;
  etaSec: number | null;
}

export interface StatusState {
  server: ServerState;
  /** Why the server stopped, or why the model failed to load. */
  error: string | null;
  /** Names of the adapters active in the current editor's workspace folder. */
  adapters: string[];
  /** Set from the train request until its `trainingDone`; no progress yet means collecting data. */
  training: TrainingView | null;
  /** Base model as configured (a folder or hub id), for the tooltip. */
  model: string | null;
  backend: string | null;
}

export type StatusEvent =
  | { type: 'disabled' }
  | { type: 'serverStarting' }
  | { type: 'serverRunning' }
  | { type: 'serverStopped'; reason: string }
  | { type: 'modelError'; message: string }
  | { type: 'modelReady'; model: string; backend?: string | null }
  | { type: 'adapters'; names: string[] }
  | { type: 'trainStarted'; folder: string }
  | { type: 'progress'; step: number; totalSteps: number; loss: number; etaSec: number }
  | { type: 'trainEnded' };

export const INITIAL: StatusState = { server: 'off', error: null, adapters: [], training: null, model: null, backend: null };

export function reduce(s: StatusState, e: StatusEvent): StatusState {
  switch (e.type) {
    case 'disabled':
      return { ...s, server: 'off', error: null, training: null };
    case 'serverStarting':
      return { ...s, server: 'starting', error: null };
    case 'serverRunning':
      return { ...s, server: 'running', error: null };
    case 'serverStopped':
      // A stopped server ends whatever it was training.
      return { ...s, server: 'stopped', error: e.reason, training: null };
    case 'modelError':
      return { ...s, error: e.message };
    case 'modelReady':
      return { ...s, error: s.server === 'stopped' ? s.error : null, model: e.model, backend: e.backend ?? s.backend };
    case 'adapters':
      return { ...s, adapters: [...e.names] };
    case 'trainStarted':
      return { ...s, training: { folder: e.folder, step: 0, totalSteps: 0, loss: null, etaSec: null } };
    case 'progress':
      return s.training ? { ...s, training: { ...s.training, step: e.step, totalSteps: e.totalSteps, loss: e.loss, etaSec: e.etaSec } } : s;
    case 'trainEnded':
      return { ...s, training: null };
  }
}

export function phaseOf(s: StatusState): Phase {
  if (s.server === 'stopped' || (s.server === 'running' && s.error !== null)) {
    return 'error';
  }
  if (s.training) {
    return s.training.totalSteps > 0 ? 'training' : 'collecting';
  }
  return s.adapters.length > 0 && s.server !== 'off' ? 'serving' : 'idle';
}

export interface Rendered {
  phase: Phase;
  text: string;
  tooltip: string;
  /** Which theme colour the item gets. */
  severity: 'normal' | 'warning' | 'error';
}

function eta(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec)) {
    return '';
  }
  return sec >= 90 ? ` · ${Math.round(sec / 60)} min left` : ` · ${Math.max(0, Math.round(sec))} s left`;
}

function names(list: string[]): string {
  return list.length <= 2 ? list.join(' + ') : `${list[0]} + ${list.length - 1} more`;
}

/** Text for the status bar item (`$(icon)` codicons), its tooltip and colour. */
export function render(s: StatusState): Rendered {
  const phase = phaseOf(s);
  const model = `Base model: ${s.model ?? 'not set'}${s.backend ? ` (backend ${s.backend})` : ''}`;
  const click = 'Click to choose adapters.';
  switch (phase) {
    case 'error':
      return {
        phase,
        text: s.server === 'stopped' ? '$(error) Codetune: server stopped' : '$(warning) Codetune: error',
        tooltip: `${s.error ?? 'unknown error'}\n${model}\nSee "Codetune: Show logs".`,
        severity: s.server === 'stopped' ? 'error' : 'warning',
      };
    case 'collecting':
      return { phase, text: '$(sync~spin) Codetune: collecting data', tooltip: `Collecting training data from ${s.training?.folder ?? 'the workspace'}.\n${model}`, severity: 'normal' };
    case 'training': {
      const t = s.training as TrainingView;
      const loss = t.loss === null ? '' : ` · loss ${t.loss.toFixed(3)}`;
      return { phase, text: `$(sync~spin) Codetune: step ${t.step}/${t.totalSteps}${loss}`, tooltip: `Training on ${t.folder}${eta(t.etaSec)}.\n${model}\nRun "Codetune: Cancel training" to stop.`, severity: 'normal' };
    }
    case 'serving':
      return { phase, text: `$(sparkle) Codetune: ${names(s.adapters)}`, tooltip: `Completions use ${s.adapters.join(', ')}.\n${model}\n${click}`, severity: 'normal' };
    case 'idle': {
      if (s.server === 'off') {
        return { phase, text: '$(circle-slash) Codetune: off', tooltip: 'Codetune is turned off (codetune.enable).', severity: 'normal' };
      }
      const what = s.server === 'starting' ? 'starting' : 'base model';
      return { phase, text: `$(circle-outline) Codetune: ${what}`, tooltip: `No adapter is active in this workspace.\n${model}\n${click}`, severity: 'normal' };
    }
  }
}
