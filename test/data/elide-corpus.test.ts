// Elided parses against whole-file parses on real code: JS/TS from node_modules, the
// system's Python standard library (where there is one) and the bench's generated
// repo in nine languages. Every file must give the same pairs both ways, and most
// files must really have been parsed with elision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { languageOf, pathHeader } from '../../server/data/languages';
import { parseCounts, treeSitterPairs } from '../../server/data/pairs';
import { generateRepo } from '../../bench/data';
import { tmpDir } from './helpers';

/** Up to `max` files under `root` whose names match, in a deterministic order. */
function collect(root: string, match: RegExp, max: number): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = fs.readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const n of names) {
      if (out.length >= max) {
        return;
      }
      const p = path.join(dir, n);
      const st = fs.lstatSync(p);
      if (st.isDirectory()) {
        walk(p);
      } else if (st.isFile() && match.test(n) && !/\.min\.js$|\.d\.ts$/.test(n) && st.size < 200_000) {
        out.push(p);
      }
    }
  };
  walk(root);
  return out;
}

async function compare(files: string[]): Promise<{ files: number; pairs: number; elided: number }> {
  const before = { ...parseCounts };
  let pairs = 0;
  let n = 0;
  for (const f of files) {
    const lang = languageOf(f);
    if (!lang?.grammar) {
      continue;
    }
    const text = fs.readFileSync(f, 'utf8').replace(/\r\n?/g, '\n');
    const header = pathHeader(f, lang);
    const elided = await treeSitterPairs(lang.grammar, text, header);
    const whole = await treeSitterPairs(lang.grammar, text, header, { elide: false });
    assert.deepEqual(elided, whole, `${f}: elided and whole parses give different pairs`);
    pairs += whole?.length ?? 0;
    n++;
  }
  return { files: n, pairs, elided: parseCounts.elided - parseCounts.reparsed - (before.elided - before.reparsed) };
}

test('elided parses give the pairs of whole parses: JS/TS of node_modules', async () => {
  const root = path.join(__dirname, '..', '..', 'node_modules');
  const pick = (pkg: string, max: number): string[] => collect(path.join(root, pkg), /\.(js|cjs|mjs|ts)$/, max);
  const files = [...pick('@tensorflow/tfjs-core', 250), ...pick('vscode-languageclient', 80), ...pick('vscode-jsonrpc', 30), ...pick('vscode-languageserver', 30), ...pick('simple-git', 10), ...pick('picomatch', 10)];
  const r = await compare(files);
  assert.ok(r.files >= 100, `${r.files} files`);
  assert.ok(r.pairs >= 150, `${r.pairs} pairs`);
  assert.ok(r.elided >= r.files * 0.3, `${r.elided} of ${r.files} files parsed with elision`);
});

test('elided parses give the pairs of whole parses: the generated repo (9 languages) and the Python standard library', async () => {
  const dir = tmpDir();
  try {
    generateRepo(dir, 450, 3);
    const gen = collect(dir, /\./, 1000);
    const r = await compare(gen);
    assert.equal(r.files, 450);
    assert.ok(r.elided >= 400, `${r.elided} of ${r.files} generated files parsed with elision`);
    const py = ['/usr/lib/python3', ...fs.readdirSync('/usr/lib').filter((d) => /^python3\.\d+$/.test(d)).map((d) => `/usr/lib/${d}`)];
    const stdlib = py.flatMap((d) => collect(d, /\.py$/, 150)).slice(0, 300);
    const s = await compare(stdlib);
    assert.ok(stdlib.length === 0 || (s.pairs >= 50 && s.elided >= s.files * 0.3), `${s.pairs} pairs; ${s.elided} of ${s.files} stdlib files parsed with elision`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
