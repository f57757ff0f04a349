// The status bar's state machine: events in, one phase and one text out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INITIAL, phaseOf, reduce, render, type Phase, type StatusEvent } from '../../extension/status';

function check(events: StatusEvent[], phase: Phase, text: RegExp): void {
  const s = events.reduce(reduce, INITIAL);
  assert.equal(phaseOf(s), phase, JSON.stringify(events));
  const r = render(s);
  assert.equal(r.phase, phase);
  assert.match(r.text, text);
}

const up: StatusEvent[] = [{ type: 'serverStarting' }, { type: 'serverRunning' }];

describe('status state machine', () => {
  it('draws each phase', () => {
    check([], 'idle', /Codetune: off/);
    check([{ type: 'serverStarting' }], 'idle', /Codetune: starting/);
    check(up, 'idle', /^\$\(circle-outline\) Codetune: base model$/);
    check([...up, { type: 'adapters', names: ['repo-a'] }], 'serving', /^\$\(sparkle\) Codetune: repo-a$/);
    check([...up, { type: 'adapters', names: ['a', 'b', 'c'] }], 'serving', /Codetune: a \+ 2 more/);
    check([...up, { type: 'trainStarted', folder: 'ws' }], 'collecting', /collecting data/);
    check([...up, { type: 'trainStarted', folder: 'ws' }, { type: 'progress', step: 3, totalSteps: 40, loss: 2.5, etaSec: 30 }], 'training', /step 3\/40 · loss 2\.500/);
    check([...up, { type: 'serverStopped', reason: 'crashed' }], 'error', /server stopped/);
    check([...up, { type: 'modelError', message: 'no config.json' }], 'error', /Codetune: error/);
  });

  it('returns to serving or idle when training ends', () => {
    const train: StatusEvent[] = [{ type: 'trainStarted', folder: 'ws' }, { type: 'progress', step: 1, totalSteps: 2, loss: 1, etaSec: 1 }, { type: 'trainEnded' }];
    check([...up, ...train], 'idle', /base model/);
    check([...up, { type: 'adapters', names: ['x'] }, ...train], 'serving', /Codetune: x/);
  });

  it('a crash ends training; a restart clears the error', () => {
    const s = [...up, { type: 'trainStarted', folder: 'ws' }, { type: 'serverStopped', reason: 'gone' }] as StatusEvent[];
    check(s, 'error', /server stopped/);
    assert.equal(s.reduce(reduce, INITIAL).training, null);
    check([...s, { type: 'serverStarting' }, { type: 'serverRunning' }], 'idle', /base model/);
  });

  it('ignores progress when no training was started, and modelReady clears a model error', () => {
    check([...up, { type: 'progress', step: 1, totalSteps: 2, loss: 1, etaSec: 1 }], 'idle', /base model/);
    check([...up, { type: 'modelError', message: 'x' }, { type: 'modelReady', model: 'm' }], 'idle', /base model/);
  });

  it('puts the reason, model and backend in the tooltip', () => {
    const events: StatusEvent[] = [...up, { type: 'modelReady', model: 'Qwen/Qwen2.5-Coder-0.5B', backend: 'wasm' }, { type: 'serverStopped', reason: 'exit code 1' }];
    const s = events.reduce(reduce, INITIAL);
    const r = render(s);
    assert.equal(r.severity, 'error');
    assert.match(r.tooltip, /exit code 1/);
    assert.match(r.tooltip, /Qwen\/Qwen2\.5-Coder-0\.5B \(backend wasm\)/);
  });
});
