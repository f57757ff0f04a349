// The dashboard's run record, the crash-restart policy, messages the user reads,
// and the download CLI's JSON lines.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineSplitter, cliError, isHubId, parseDownloadLine, percent, type DownloadProgressLine } from '../../extension/download';
import { adapterRow, doneMessage, metricsLine, progressMessage } from '../../extension/format';
import { MAX_POINTS, RestartPolicy, addProgress, datasetFromMeta, finishRun, newRun } from '../../extension/runs';
import type { ProgressParams } from '../../server/protocol';

const prog = (step: number, extra: Partial<ProgressParams> = {}): ProgressParams => ({
  jobId: 'j1', step, totalSteps: 10, epoch: 0, loss: 5 - step * 0.1, lr: 1e-3, tokensPerSec: 1000, etaSec: 10 - step, memoryBytes: 0, ...extra,
});
const base = { valLoss: 5.2, perplexity: 181, exactMatch: 0, editSimilarity: 0.21, pairs: 4 };
const adapter = { valLoss: 0.4, perplexity: 1.5, exactMatch: 0.75, editSimilarity: 0.93, pairs: 4 };

describe('training run record', () => {
  it('collects loss points, merges a validation report for the same step, ignores other jobs', () => {
    let r = newRun('j1', 'file:///ws');
    assert.equal(r.state, 'collecting');
    r = addProgress(r, prog(1));
    r = addProgress(r, prog(2));
    r = addProgress(r, prog(2, { valLoss: 4.4 }));
    r = addProgress(r, prog(3, { jobId: 'other' }));
    r = addProgress(r, prog(3, { loss: Number.NaN }));
    assert.equal(r.state, 'training');
    assert.deepEqual(r.points, [{ step: 1, loss: 4.9 }, { step: 2, loss: 4.8, valLoss: 4.4 }]);
    assert.equal(r.step, 3);
    assert.equal(r.tokensPerSec, 1000);
  });

  it('thins long runs but keeps validation points and the last point', () => {
    let r = newRun('j1', '');
    for (let i = 1; i <= MAX_POINTS + 1; i++) {
      r = addProgress(r, prog(i, i % 100 === 0 ? { valLoss: 1 } : {}));
    }
    assert.ok(r.points.length <= MAX_POINTS, String(r.points.length));
    assert.equal(r.points.filter((p) => p.valLoss !== undefined).length, MAX_POINTS / 100);
    assert.equal(r.points.at(-1)?.step, MAX_POINTS + 1);
  });

  it('finishes with the adapter, metrics and dataset; a cancel or failure says so', () => {
    const r = addProgress(newRun('j1', 'f'), prog(1));
    const info = { id: 'ad-x-00000000', name: 'ws', repo: '/ws', commit: 'abc', created: '2026-11-30T12:00:00Z', base: '/m', metrics: null, sizeBytes: 10 };
    const done = finishRun(r, { jobId: 'j1', adapter: info, metrics: { base, adapter, backend: 'wasm' }, error: null }, { files: { kept: 3, skipped: { binary: 1 } } });
    assert.equal(done.state, 'done');
    assert.equal(done.adapterName, 'ws');
    assert.equal(done.backend, 'wasm');
    assert.deepEqual(done.metrics?.adapter, adapter);
    assert.equal(done.dataset?.files?.kept, 3);
    assert.equal(finishRun(r, { jobId: 'j1', adapter: null, metrics: null, error: { code: 'CANCELLED', message: 'x' } }, null).state, 'cancelled');
    const failed = finishRun(r, { jobId: 'j1', adapter: null, metrics: null, error: { code: 'NO_DATA', message: 'no files' } }, null);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.error, 'no files');
    assert.equal(finishRun(r, { jobId: 'j2', adapter: null, metrics: null, error: null }, null), r);
    // A finished run takes no more progress.
    assert.equal(addProgress(done, prog(5)), done);
  });

  it('reads dataset statistics from codetune.json', () => {
    const meta = { dataset: { files: { tracked: 9, seen: 8, kept: 5, skipped: { binary: 2, 'too-large': 1, bad: 'x' } }, examples: { total: 12, byType: { 'nl2code': 4, fim: 8 }, train: 10, val: 2 }, secrets: { 'aws-key': 1 }, tokens: { train: 900, val: 100 }, seed: 0 } };
    assert.deepEqual(datasetFromMeta(meta), {
      files: { kept: 5, skipped: { binary: 2, 'too-large': 1 }, tracked: 9, seen: 8 },
      examples: { total: 12, byType: { nl2code: 4, fim: 8 }, train: 10, val: 2 },
      secrets: { 'aws-key': 1 },
      tokens: { train: 900, val: 100 },
    });
    assert.equal(datasetFromMeta({}), null);
    assert.equal(datasetFromMeta(null), null);
    assert.equal(datasetFromMeta({ dataset: 'x' }), null);
  });
});

describe('restart policy', () => {
  it('restarts up to 4 times in 3 minutes, then stops and says why', () => {
    const p = new RestartPolicy(4, 180_000);
    const got = [0, 1000, 2000, 3000, 4000].map((t) => p.record(t));
    assert.deepEqual(got.map((g) => g.restart), [true, true, true, true, false]);
    assert.match(got[0].message, /restarting it \(1 of 4\)/);
    assert.match(got[4].message, /5 times in 3 minutes.*Restart server/);
    // Old crashes age out of the window.
    assert.equal(p.record(400_000).restart, true);
    p.reset();
    assert.match(p.record(400_001).message, /1 of 4/);
  });
});

describe('messages', () => {
  it('formats held-out metrics base → adapter', () => {
    assert.equal(metricsLine({ base, adapter }), 'loss 5.20 → 0.40, exact match 0% → 75%, edit similarity 0.21 → 0.93');
    assert.equal(metricsLine({ base: null, adapter: { valLoss: 1 } }), 'loss 1.00');
    assert.equal(metricsLine(null), '');
  });

  it('says what training did', () => {
    const info = { id: 'ad-x-00000000', name: 'repo', repo: null, commit: null, created: '', base: null, metrics: null, sizeBytes: 0 };
    assert.deepEqual(doneMessage({ jobId: 'j', adapter: info, metrics: { base, adapter }, error: null }), {
      ok: true, text: 'Codetune: training done; adapter "repo" is on for this workspace. Held-out (base → adapter): loss 5.20 → 0.40, exact match 0% → 75%, edit similarity 0.21 → 0.93.',
    });
    assert.match(doneMessage({ jobId: 'j', adapter: info, metrics: null, error: null }).text, /No held-out pairs/);
    assert.deepEqual(doneMessage({ jobId: 'j', adapter: null, metrics: null, error: { code: 'CANCELLED', message: '' } }), { ok: false, text: 'Codetune: training was cancelled.' });
    assert.match(doneMessage({ jobId: 'j', adapter: null, metrics: null, error: { code: 'OOM', message: 'out of memory' } }).text, /failed: out of memory/);
    assert.equal(progressMessage(prog(4, { valLoss: 3.25 })), 'step 4/10 · loss 4.600, val 3.250 · 1000 tok/s · 6 s left');
  });

  it('describes an adapter in a quick pick', () => {
    const r = adapterRow({ id: 'ad-x-00000000', name: 'myrepo', repo: 'https://github.com/o/myrepo.git', commit: '0123456789', created: '2026-11-30T12:34:56Z', base: null, metrics: { base, adapter }, sizeBytes: 1_500_000 });
    assert.deepEqual(r, { label: 'myrepo', description: 'myrepo@0123456 · 2026-11-30 12:34', detail: 'loss 5.20 → 0.40, exact match 0% → 75%, edit similarity 0.21 → 0.93 · 1.5 MB · ad-x-00000000' });
  });
});

describe('model references and download lines', () => {
  it('tells hub ids from folders', () => {
    const cases: Array<[string, boolean]> = [
      ['Qwen/Qwen2.5-Coder-0.5B', true], ['HuggingFaceTB/SmolLM2-135M@main', true], ['org/name@0123abcd', true],
      ['/models/tiny', false], ['./tiny', false], ['~/models/x', false], ['C:\\models', false], ['a/b/c', false], ['tiny', false], ['', false],
    ];
    for (const [text, hub] of cases) {
      assert.equal(isHubId(text), hub, text);
    }
  });

  it('parses progress and done lines, skipping anything else', () => {
    const p = parseDownloadLine('{"event":"progress","state":"progress","file":"model.safetensors","fileBytes":50,"fileSize":100,"bytes":60,"total":120,"rate":10,"etaSeconds":6}') as DownloadProgressLine;
    assert.equal(p.event, 'progress');
    assert.equal(percent(p), 50);
    assert.deepEqual(parseDownloadLine('{"event":"done","repo":"o/n","revision":"main","commit":"c","snapshot":"/cache/s","files":[],"fetched":0,"from_cache":true}'),
      { event: 'done', repo: 'o/n', revision: 'main', commit: 'c', snapshot: '/cache/s', from_cache: true });
    for (const bad of ['', 'not json', '[]', '{"event":"progress"}', '{"event":"done"}']) {
      assert.equal(parseDownloadLine(bad), null, bad);
    }
  });

  it('splits chunks into lines and reads the CLI error line', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push('{"a":1}\n{"b"'), ['{"a":1}']);
    assert.deepEqual(s.push(':2}\r\n\n'), ['{"b":2}']);
    assert.deepEqual(s.push('tail'), []);
    assert.deepEqual(s.end(), ['tail']);
    assert.equal(cliError('codetune: model o/n was not found on the hub\n', 1), 'model o/n was not found on the hub');
    assert.equal(cliError('', 137), 'the download stopped (exit code 137)');
  });
});
