// Dashboard page (browser code, bundled to dist/webview.js, styles to dist/webview.css).
// One snapshot of state, folded from the extension's messages and saved with
// vscode.setState so that a reload draws at once; every element is built with
// textContent (never innerHTML), and every control has a label.
import { LossChart } from './chart';
import type { DashboardSnapshot, FromPage } from './messages';
import { EMPTY, adapterRows, apply, chartLabel, datasetRows, runStats, runStatus, series } from './model';
import './style.css';

interface VsCodeApi {
  postMessage(message: FromPage): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) {
    e.textContent = text;
  }
  if (cls) {
    e.className = cls;
  }
  return e;
}

const chart = new LossChart($<HTMLCanvasElement>('loss-chart'));
let state: DashboardSnapshot = apply(EMPTY, { type: 'snapshot', snapshot: vscode.getState() });

function drawLossTable(s: DashboardSnapshot): void {
  const body = $('loss-table').querySelector('tbody') as HTMLTableSectionElement;
  // The last 100 steps: enough to read the trend without flooding a screen reader.
  const rows = (s.run?.points ?? []).slice(-100).map((p) => {
    const tr = el('tr');
    tr.append(el('td', String(p.step)), el('td', p.loss.toFixed(4)), el('td', p.valLoss !== undefined ? p.valLoss.toFixed(4) : ''));
    return tr;
  });
  body.replaceChildren(...rows);
}

function drawStats(s: DashboardSnapshot): void {
  const dl = $('speed');
  dl.replaceChildren(...runStats(s).flatMap(([k, v]) => {
    const div = el('div', undefined, 'stat');
    div.append(el('dt', k), el('dd', v));
    return [div];
  }));
}

function drawDataset(s: DashboardSnapshot): void {
  const box = $('dataset');
  const rows = datasetRows(s.run?.dataset ?? null);
  if (rows.length === 0) {
    box.replaceChildren(el('p', s.run?.state === 'done' ? 'This run recorded no dataset statistics.' : 'Dataset statistics appear when a run finishes.', 'muted'));
    return;
  }
  const table = el('table');
  table.setAttribute('aria-label', 'Dataset statistics');
  const head = el('thead');
  const hr = el('tr');
  for (const h of ['', 'Kind', 'Count']) {
    const th = el('th', h);
    th.scope = 'col';
    hr.append(th);
  }
  head.append(hr);
  const body = el('tbody');
  let section = '';
  for (const [sec, label, n] of rows) {
    const tr = el('tr');
    const th = el('th', sec === section ? '' : sec);
    th.scope = 'row';
    section = sec;
    tr.append(th, el('td', label), el('td', n.toLocaleString('en-US'), 'num'));
    body.append(tr);
  }
  table.append(head, body);
  box.replaceChildren(table);
}

function drawAdapters(s: DashboardSnapshot): void {
  $('adapters-folder').textContent = s.folder ? `Switches act on the workspace folder ${s.folder}.` : 'Open a folder to switch adapters on for it.';
  const body = $('adapters').querySelector('tbody') as HTMLTableSectionElement;
  const rows = adapterRows(s);
  if (rows.length === 0) {
    const tr = el('tr');
    const td = el('td', 'No adapters yet: train one, or import a PEFT folder.', 'muted');
    td.colSpan = 7;
    tr.append(td);
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(...rows.map((r) => {
    const tr = el('tr');
    const box = el('input');
    box.type = 'checkbox';
    box.checked = r.enabled;
    box.disabled = !s.serverRunning || !s.folder;
    box.dataset.adapter = r.id;
    box.setAttribute('aria-label', `Use adapter ${r.name}${s.folder ? ` in ${s.folder}` : ''}`);
    box.addEventListener('change', () => vscode.postMessage({ type: 'setEnabled', id: r.id, enabled: box.checked }));
    const on = el('td');
    on.append(box);
    const name = el('th', r.weight !== null && r.weight !== 1 ? `${r.name} ×${r.weight}` : r.name);
    name.scope = 'row';
    name.title = r.id;
    tr.append(on, name, el('td', r.repo), el('td', r.created), el('td', r.loss, 'num'), el('td', r.exactMatch, 'num'), el('td', r.editSimilarity, 'num'));
    return tr;
  }));
}

function draw(s: DashboardSnapshot): void {
  const run = s.run;
  $('run-status').textContent = runStatus(run);
  const training = run?.state === 'training' || run?.state === 'collecting';
  $('cancel').hidden = !training;
  ($('train') as HTMLButtonElement).disabled = training || !s.serverRunning;
  chart.update(series(run?.points ?? []));
  $('loss-chart').setAttribute('aria-label', chartLabel(run));
  drawLossTable(s);
  drawStats(s);
  drawDataset(s);
  drawAdapters(s);
  $('app').setAttribute('aria-busy', 'false');
}

$('train').addEventListener('click', () => vscode.postMessage({ type: 'command', command: 'train' }));
$('cancel').addEventListener('click', () => vscode.postMessage({ type: 'command', command: 'cancel' }));

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  const next = apply(state, e.data);
  if (next !== state) {
    state = next;
    vscode.setState(state);
    draw(state);
  }
});

draw(state);
vscode.postMessage({ type: 'ready' });
