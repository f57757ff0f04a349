// The dashboard page alone in headless Chromium, fed the progress of a recorded
// training run (test/webview/fixtures: `codetune train --json` on a 4-file repo with
// the tiny base, and the adapter's codetune.json) through the extension's own run
// reducer. Checks: no CSP violation under `default-src 'none'`, the chart draws both
// series, stats and dataset show, adapter toggles post the right messages (mouse and
// keyboard, found by their accessible names), state survives a reload.
import assert from 'node:assert/strict';
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { addProgress, datasetFromMeta, finishRun, newRun } from '../../extension/runs';
import type { ProgressParams, TrainProgress } from '../../server/protocol';
import type { DashboardSnapshot, RunView } from '../../webview/messages';
import { ensureE2E } from '../e2e/setup';
import { CHROMIUM, DashboardPage, TRAIN_RGB, VAL_RGB } from './page';

const FIX = join(__dirname, 'fixtures');
const lines = readFileSync(join(FIX, 'run.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; progress?: TrainProgress; metrics?: Record<string, unknown> });
const progress: ProgressParams[] = lines.filter((l) => l.type === 'progress').map((l) => ({ jobId: 'job-1', ...(l.progress as TrainProgress) }));
const summary = lines.find((l) => l.type === 'summary');
const meta: unknown = JSON.parse(readFileSync(join(FIX, 'codetune.json'), 'utf8'));

const A = { id: 'ad-mk1-0000aaaa', name: 'fixture-repo', repo: '/work/fixture-repo', commit: 'c83ae98', created: '2026-11-30T11:23:02Z', base: '/work/tiny', metrics: summary?.metrics ?? null, sizeBytes: 160_000 };
const B = { id: 'ad-mk2-0000bbbb', name: 'other-repo', repo: 'https://example.invalid/o/other.git', commit: null, created: '2026-11-29T09:00:00Z', base: '/work/tiny', metrics: null, sizeBytes: 160_000 };

function snapshot(run: RunView | null, active: Array<{ id: string; weight: number }>): DashboardSnapshot {
  return { run, adapters: [A, B], folder: 'ws', active, backend: 'wasm (@tensorflow/tfjs-backend-wasm)', serverRunning: true };
}

describe('dashboard page in Chromium', { timeout: 5 * 60_000 }, () => {
  let p: DashboardPage | undefined;
  let skip: string | undefined;

  before(async () => {
    try {
      accessSync(CHROMIUM, constants.X_OK);
    } catch {
      const ready = await ensureE2E();
      if (!ready.ok) {
        skip = ready.reason;
        return;
      }
    }
    p = await DashboardPage.start();
  });

  after(async () => {
    await p?.close();
  });

  function page(t: TestContext): DashboardPage | undefined {
    if (skip) {
      t.skip(skip);
      return undefined;
    }
    assert.ok(p, 'the page did not start');
    return p;
  }

  it('loads under the strict CSP and says it is ready', async (t) => {
    const d = page(t);
    if (!d) {
      return;
    }
    const csp = await d.page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    assert.match(csp ?? '', /^default-src 'none'; script-src 'nonce-[A-Za-z0-9]{32}'; style-src http:\/\/127\.0\.0\.1:\d+;/);
    assert.deepEqual(await d.posted(), [{ type: 'ready' }]);
    assert.equal(await d.page.locator('#run-status').innerText(), 'No training run yet.');
  });

  it('draws the recorded run live: chart, speed, ETA, backend, then the dataset', async (t) => {
    const d = page(t);
    if (!d) {
      return;
    }
    assert.ok(progress.length >= 20 && progress.some((x) => x.valLoss !== undefined), 'the fixture has a run with validation');
    await d.send({ type: 'snapshot', snapshot: snapshot(null, [{ id: A.id, weight: 1 }]) });
    // Before any point, only the legend swatches have the series colours.
    const before = await d.pixels(TRAIN_RGB);
    const beforeVal = await d.pixels(VAL_RGB);
    let run = newRun('job-1', 'file:///work/fixture-repo');
    await d.send({ type: 'run', run });
    assert.equal(await d.page.locator('#run-status').innerText(), 'Collecting training data…');
    for (const ev of progress.slice(0, 10)) {
      run = addProgress(run, ev);
      await d.send({ type: 'run', run });
    }
    assert.equal(await d.page.locator('#run-status').innerText(), `Training: step 10 of ${progress[0].totalSteps}.`);
    assert.ok(await d.page.locator('#cancel').isVisible(), 'cancel shows while training');
    const stats = await d.page.locator('#speed').innerText();
    assert.match(stats, new RegExp(`Tokens/s\\s+${Math.round(progress[9].tokensPerSec)}`));
    assert.match(stats, /ETA\s+\d+ s/);
    assert.match(stats, /Backend\s+wasm/);
    for (const ev of progress.slice(10)) {
      run = addProgress(run, ev);
      await d.send({ type: 'run', run });
    }
    run = finishRun(run, { jobId: 'job-1', adapter: A, metrics: summary?.metrics as never, error: null }, datasetFromMeta(meta));
    await d.send({ type: 'run', run });
    assert.equal(await d.page.locator('#run-status').innerText(), `Finished: ${progress.length} steps, adapter "fixture-repo".`);

    const train = await d.pixels(TRAIN_RGB);
    const val = await d.pixels(VAL_RGB);
    assert.ok(train > before + 500, `training-loss pixels: ${before} before, ${train} after`);
    assert.ok(val > beforeVal + 50, `validation-loss pixels: ${beforeVal} before, ${val} after`);
    const vals = progress.filter((x) => x.valLoss !== undefined).length;
    assert.equal(await d.page.locator('#loss-table tbody tr').count(), progress.length);
    assert.match(await d.page.locator('#loss-chart').getAttribute('aria-label') ?? '', new RegExp(`^Loss chart: ${progress.length} steps, training loss`));
    assert.equal(await d.page.locator('#loss-table tbody tr td:nth-child(3):not(:empty)').count(), vals);
    const dataset = await d.page.locator('#dataset').innerText();
    assert.match(dataset, /Files\s+kept\s+4/);
    assert.match(dataset, /Examples\s+total\s+15/);
    assert.match(dataset, /pair\s+9/);
    assert.match(dataset, /Tokens\s+train\s+3,758/);
    assert.deepEqual(await d.violations(), []);
    assert.deepEqual(d.errors, []);
    await d.page.screenshot({ path: join(__dirname, '../e2e/artifacts/webview-dashboard.png'), fullPage: true });
  });

  it('adapter switches post setEnabled for the right adapter, by mouse and keyboard', async (t) => {
    const d = page(t);
    if (!d) {
      return;
    }
    await d.send({ type: 'snapshot', snapshot: snapshot(null, [{ id: A.id, weight: 1 }]) });
    const on = d.page.getByRole('checkbox', { name: 'Use adapter fixture-repo in ws' });
    const off = d.page.getByRole('checkbox', { name: 'Use adapter other-repo in ws' });
    assert.equal(await on.isChecked(), true);
    assert.equal(await off.isChecked(), false);
    const row = await d.page.locator('#adapters tbody tr').first().innerText();
    assert.match(row, /fixture-repo\s+fixture-repo\s+2026-11-30 11:23\s+9\.04 → 8\.94/);
    const n = (await d.posted()).length;
    await off.click();
    await on.focus();
    await d.page.keyboard.press('Space');
    const sent = (await d.posted()).slice(n);
    assert.deepEqual(sent, [{ type: 'setEnabled', id: B.id, enabled: true }, { type: 'setEnabled', id: A.id, enabled: false }]);
    // A switch is off (and says why) while the server is down.
    await d.send({ type: 'snapshot', snapshot: { ...snapshot(null, []), serverRunning: false } });
    assert.equal(await off.isDisabled(), true);
  });

  it('the buttons post commands', async (t) => {
    const d = page(t);
    if (!d) {
      return;
    }
    await d.send({ type: 'snapshot', snapshot: snapshot(null, []) });
    const n = (await d.posted()).length;
    await d.page.getByRole('button', { name: 'Train on this repo' }).click();
    assert.deepEqual((await d.posted()).slice(n), [{ type: 'command', command: 'train' }]);
  });

  it('restores its state after a reload, before the extension answers', async (t) => {
    const d = page(t);
    if (!d) {
      return;
    }
    let run = newRun('job-2', 'f');
    for (const ev of progress) {
      run = addProgress(run, { ...ev, jobId: 'job-2' });
    }
    await d.send({ type: 'snapshot', snapshot: snapshot(run, [{ id: B.id, weight: 0.5 }]) });
    await d.load();
    assert.deepEqual(await d.posted(), [{ type: 'ready' }]);
    assert.equal(await d.page.locator('#loss-table tbody tr').count(), progress.length);
    assert.ok((await d.pixels(TRAIN_RGB)) > 200, 'the chart is drawn from the saved state');
    assert.equal(await d.page.getByRole('checkbox', { name: 'Use adapter other-repo in ws' }).isChecked(), true);
    assert.match(await d.page.locator('#adapters').innerText(), /other-repo ×0\.5/);
    assert.deepEqual(await d.violations(), []);
  });
});
