// The per-workspace adapter sets in workspaceState: normalisation, toggles, the new
// adapter after training, pruning deleted ids, weights typed by a user.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdapterSetStore, STATE_KEY, normalise, parseWeight, type MementoLike } from '../../extension/adapterSet';

class Memento implements MementoLike {
  readonly data = new Map<string, unknown>();
  writes = 0;
  get<T>(key: string): T | undefined {
    // A real Memento hands back a copy (JSON round-trip); so does this one.
    const v = this.data.get(key);
    return v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as T);
  }
  async update(key: string, value: unknown): Promise<void> {
    this.writes++;
    this.data.set(key, JSON.parse(JSON.stringify(value)));
  }
}

const A = 'ad-abc123-0000aaaa';
const B = 'ad-abc123-0000bbbb';
const C = 'ad-abc123-0000cccc';

describe('adapter sets', () => {
  it('normalises stored values', () => {
    const cases: Array<[unknown, unknown]> = [
      [undefined, []],
      ['x', []],
      [[{ id: A, weight: 1 }, { id: A, weight: 2 }], [{ id: A, weight: 1 }]],
      [[{ id: A }, { id: B, weight: 0.5 }], [{ id: A, weight: 1 }, { id: B, weight: 0.5 }]],
      [[{ id: '../etc', weight: 1 }, { id: A, weight: Number.NaN }, null, 7], [{ id: A, weight: 1 }]],
      [[{ id: A, weight: 11 }], [{ id: A, weight: 1 }]],
    ];
    for (const [input, expected] of cases) {
      assert.deepEqual(normalise(input), expected, JSON.stringify(input));
    }
  });

  it('keeps a set per folder, and survives a new store over the same memento (a reload)', async () => {
    const m = new Memento();
    const s = new AdapterSetStore(m);
    await s.set('file:///ws1', [{ id: A, weight: 1 }]);
    await s.set('file:///ws2', []);
    const after = new AdapterSetStore(m);
    assert.deepEqual(after.get('file:///ws1'), [{ id: A, weight: 1 }]);
    assert.deepEqual(after.get('file:///ws2'), []);
    assert.deepEqual(after.get('file:///other'), []);
    assert.deepEqual(after.folders().sort(), ['file:///ws1', 'file:///ws2']);
  });

  it('toggles adapters on and off', async () => {
    const s = new AdapterSetStore(new Memento());
    assert.deepEqual(await s.toggle('f', A, true), [{ id: A, weight: 1 }]);
    assert.deepEqual(await s.toggle('f', B, true), [{ id: A, weight: 1 }, { id: B, weight: 1 }]);
    assert.deepEqual(await s.toggle('f', A, false), [{ id: B, weight: 1 }]);
    assert.deepEqual(await s.toggle('f', C, false), [{ id: B, weight: 1 }]);
  });

  it('turns a new adapter on in place of older ones from the same repo', async () => {
    const s = new AdapterSetStore(new Memento());
    await s.set('f', [{ id: A, weight: 1 }, { id: B, weight: 0.5 }]);
    assert.deepEqual(await s.activateNew('f', C, [A]), [{ id: B, weight: 0.5 }, { id: C, weight: 1 }]);
  });

  it('prunes deleted adapters from every folder and reports which changed', async () => {
    const m = new Memento();
    const s = new AdapterSetStore(m);
    await s.set('f1', [{ id: A, weight: 1 }, { id: B, weight: 1 }]);
    await s.set('f2', [{ id: B, weight: 1 }]);
    const writes = m.writes;
    assert.deepEqual(await s.prune([B, C]), ['f1']);
    assert.deepEqual(s.get('f1'), [{ id: B, weight: 1 }]);
    assert.deepEqual(await s.prune([B, C]), []);
    assert.equal(m.writes, writes + 1);
  });

  it('ignores a corrupt stored value', () => {
    const m = new Memento();
    m.data.set(STATE_KEY, [1, 2, 3]);
    assert.deepEqual(new AdapterSetStore(m).get('f'), []);
  });

  it('parses weights typed by a user', () => {
    const cases: Array<[string, number | null]> = [['1', 1], [' 0.5 ', 0.5], ['-1', -1], ['.25', 0.25], ['1e-1', 0.1], ['10', 10], ['11', null], ['', null], ['abc', null], ['1/2', null], ['Infinity', null]];
    for (const [text, w] of cases) {
      assert.equal(parseWeight(text), w, text);
    }
  });
});
