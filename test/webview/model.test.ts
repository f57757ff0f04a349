// The dashboard's plain state (no DOM): folding messages, chart series, the text a
// screen reader hears, the stats, dataset and adapter rows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addProgress, newRun } from '../../extension/runs';
import type { AdapterInfo } from '../../server/protocol';
import { EMPTY, adapterRows, apply, chartLabel, datasetRows, runStats, runStatus, series } from '../../webview/model';

const prog = (step: number, valLoss?: number) => ({ jobId: 'j', step, totalSteps: 4, epoch: 0, loss: 3 - step * 0.5, lr: 0, tokensPerSec: 512.4, etaSec: 4 - step, memoryBytes: 0, ...(valLoss === undefined ? {} : { valLoss }) });
const adapter = (id: string, metrics: AdapterInfo['metrics']): AdapterInfo => ({ id, name: id, repo: `/src/${id}.git`, commit: null, created: '2026-11-30T10:00:00.000Z', base: null, metrics, sizeBytes: 1 });

describe('dashboard model', () => {
  it('folds snapshot and run messages; ignores anything else', () => {
    const run = newRun('j', 'f');
    const s1 = apply(EMPTY, { type: 'snapshot', snapshot: { adapters: [], active: [], folder: 'ws', run: null, backend: 'wasm', serverRunning: true } });
    assert.equal(s1.folder, 'ws');
    const s2 = apply(s1, { type: 'run', run });
    assert.equal(s2.run, run);
    for (const junk of [null, 3, 'x', { type: 'run' }, { type: 'run', run: { points: 'no' } }, { type: 'other' }]) {
      assert.equal(apply(s2, junk), s2, JSON.stringify(junk));
    }
    // A saved state of null (first load) gives the empty snapshot.
    assert.deepEqual(apply(EMPTY, { type: 'snapshot', snapshot: null }), EMPTY);
  });

  it('splits loss points into train and validation series and describes them', () => {
    let run = newRun('j', 'f');
    assert.equal(chartLabel(run), 'Loss chart: no data yet');
    for (const [s, v] of [[1], [2, 2.4], [3], [4, 1.9]] as Array<[number, number?]>) {
      run = addProgress(run, prog(s, v));
    }
    assert.deepEqual(series(run.points), { train: [{ x: 1, y: 2.5 }, { x: 2, y: 2 }, { x: 3, y: 1.5 }, { x: 4, y: 1 }], val: [{ x: 2, y: 2.4 }, { x: 4, y: 1.9 }] });
    assert.equal(chartLabel(run), 'Loss chart: 4 steps, training loss 2.500 at step 1 to 1.000 at step 4, last validation loss 1.900 at step 4');
    assert.equal(runStatus(run), 'Training: step 4 of 4.');
    assert.deepEqual(runStats({ ...EMPTY, run, backend: 'wasm' }), [
      ['Step', '4 / 4'], ['Training loss', '1.000'], ['Validation loss', '1.900'], ['Tokens/s', '512'], ['ETA', '0 s'], ['Backend', 'wasm'],
    ]);
    assert.equal(runStatus({ ...run, state: 'failed', error: 'out of memory' }), 'Failed: out of memory');
    assert.equal(runStatus(null), 'No training run yet.');
  });

  it('lists dataset rows, skipped reasons by count', () => {
    assert.deepEqual(datasetRows({ files: { kept: 5, skipped: { binary: 1, 'too-large': 3 } }, examples: { total: 2, byType: { pair: 2 } }, secrets: { 'aws-key': 2, token: 1 } }), [
      ['Files', 'kept', 5], ['Files', 'skipped: too-large', 3], ['Files', 'skipped: binary', 1],
      ['Examples', 'total', 2], ['Examples', 'pair', 2],
      ['Secrets', 'redacted', 3], ['Secrets', 'aws-key', 2], ['Secrets', 'token', 1],
    ]);
    assert.deepEqual(datasetRows(null), []);
  });

  it('builds adapter rows with base → adapter metrics and the switch state', () => {
    const a = adapter('a', { base: { valLoss: 4, exactMatch: 0, editSimilarity: 0.2 }, adapter: { valLoss: 1.234, exactMatch: 0.5, editSimilarity: 0.9 } });
    const b = adapter('b', null);
    const rows = adapterRows({ ...EMPTY, adapters: [a, b], active: [{ id: 'b', weight: 0.5 }] });
    assert.deepEqual(rows.map((r) => [r.id, r.repo, r.created, r.enabled, r.weight, r.loss, r.exactMatch, r.editSimilarity]), [
      ['a', 'a', '2026-11-30 10:00', false, null, '4.00 → 1.23', '0% → 50%', '0.20 → 0.90'],
      ['b', 'b', '2026-11-30 10:00', true, 0.5, '—', '—', '—'],
    ]);
  });
});
