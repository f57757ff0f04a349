// `codetune dataset` through the built CLI: secrets planted everywhere never reach
// the JSONL, the stats or the terminal; usage and runtime errors exit 2 and 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../helpers';
import { placeholder, type SecretKind } from '../../server/data/secrets';
import { plantedSecrets } from './fakes';
import { makeRepo, rm, tmpDir } from './helpers';

test('every secret kind, planted in code, config, .env and a JS string, is redacted everywhere', () => {
  const planted = plantedSecrets();
  const files: Record<string, string> = {};
  // In code (one file per kind), in a config file, in a .env, and inside a JS string.
  planted.forEach(([kind, , text], i) => {
    files[`src/mod${i}.ts`] = `// Module ${kind} for the service.\nexport function handler${i}(req: Request): string {\n  const a = req.url;\n  const b = a.length;\n  ${text.trimEnd()}\n  return String(b);\n}\n`;
  });
  files['config/app.yaml'] = planted.map(([, , text]) => `# entry\n${text}`).join('');
  files['.env'] = planted.map(([, secret], i) => `VALUE_${i}=${secret}`).join('\n') + '\n';
  const filler = Array.from({ length: 40 }, (_, i) => `let v${i} = ${i};\n`).join('');
  files['web/strings.js'] = planted.map(([, , text], i) => `export const s${i} = ${JSON.stringify(text)};\n`).join('') + filler;
  const repo = makeRepo(files);
  const out = tmpDir();
  try {
    const jsonl = path.join(out, 'data.jsonl');
    const statsFile = path.join(out, 'stats.json');
    // With the incremental cache on, in a folder of the test's: its files are outputs too.
    const cacheHome = path.join(out, 'cache-home');
    const r = runCli(['dataset', '--repo', repo, '--out', jsonl, '--stats', statsFile], { env: { XDG_CACHE_HOME: cacheHome } });
    assert.equal(r.status, 0, r.stderr);
    const cacheFiles = (fs.readdirSync(cacheHome, { recursive: true }) as string[]).map((f) => path.join(cacheHome, f)).filter((f) => fs.statSync(f).isFile());
    assert.ok(cacheFiles.some((f) => /records-[0-9a-f]+\.bin$/.test(f)), 'the cache was written');
    // Shard strings are latin-1 or UTF-16: read each file both ways.
    const cached = cacheFiles.flatMap((f) => [fs.readFileSync(f).toString('latin1'), fs.readFileSync(f).toString('utf16le'), fs.readFileSync(f).subarray(1).toString('utf16le')]);
    assert.ok(cached.some((c) => c.includes(placeholder(planted[0][0]))), 'the cache holds the redacted text');
    const outputs = [fs.readFileSync(jsonl, 'utf8'), fs.readFileSync(statsFile, 'utf8'), r.stdout, r.stderr, ...cached];
    for (const [kind, secret] of planted) {
      for (const o of outputs) {
        assert.ok(!o.includes(secret), `a ${kind} value leaked`);
      }
    }
    const data = outputs[0];
    for (const [kind] of planted) {
      assert.ok(data.includes(placeholder(kind)), `no ${placeholder(kind)} in the JSONL`);
    }
    const stats = JSON.parse(outputs[1]) as { secrets: Record<SecretKind, number>; files: { skipped: Record<string, number> } };
    assert.equal(stats.files.skipped.env_file, 1);
    for (const [kind] of planted) {
      // In its own module, in the YAML and in the JS string.
      assert.equal(stats.secrets[kind], 3, kind);
    }
    assert.match(r.stdout, /secrets redacted: .*private_key 3/);
  } finally {
    rm(repo);
    rm(out);
  }
});

test('--json prints the stats; --include/--exclude apply', () => {
  const repo = makeRepo({ 'src/a.ts': 'export const a = 1;\n', 'src/b.ts': 'export const b = 2;\n', 'docs/c.md': '# Title\n\nSome text here.\n' });
  const out = tmpDir();
  try {
    const r = runCli(['dataset', '--repo', repo, '--out', path.join(out, 'x.jsonl'), '--include', 'src/**', '--exclude', '**/b.ts', '--json', '--no-cache']);
    assert.equal(r.status, 0, r.stderr);
    const stats = JSON.parse(r.stdout) as { files: { kept: number; skipped: Record<string, number> } };
    assert.equal(stats.files.kept, 1);
    assert.deepEqual(stats.files.skipped, { not_included: 1, excluded: 1 });
    const lines = fs.readFileSync(path.join(out, 'x.jsonl'), 'utf8').trim().split('\n');
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { path: string }).path), ['src/a.ts']);
  } finally {
    rm(repo);
    rm(out);
  }
});

test('exit codes: usage errors 2, a non-repo 1 with one line and no stack trace', () => {
  const dir = tmpDir();
  try {
    const missing = runCli(['dataset', '--repo', dir]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /missing --out/);
    const bad = runCli(['dataset', '--repo', dir, '--out', path.join(dir, 'o.jsonl'), '--val-fraction', '2']);
    assert.equal(bad.status, 2);
    const notRepo = runCli(['dataset', '--repo', dir, '--out', path.join(dir, 'o.jsonl'), '--no-cache']);
    assert.equal(notRepo.status, 1);
    assert.equal(notRepo.stderr.trim().split('\n').length, 1);
    assert.match(notRepo.stderr, /not inside a git repository/);
    assert.doesNotMatch(notRepo.stderr, /\n\s+at /);
    assert.ok(!fs.existsSync(path.join(dir, 'o.jsonl')));
  } finally {
    rm(dir);
  }
});

test('a cache folder that cannot be written costs a warning, not the build', () => {
  const repo = makeRepo({ 'src/a.ts': '/** Add two numbers and return the sum. */\nexport function add(a: number, b: number): number {\n  const s = a + b;\n  const t = s;\n  return t;\n}\n' });
  const out = tmpDir();
  try {
    const notAFolder = path.join(out, 'cache-is-a-file');
    fs.writeFileSync(notAFolder, 'x');
    const r = runCli(['dataset', '--repo', repo, '--out', path.join(out, 'x.jsonl'), '--stats', path.join(out, 's.json'), '--cache-dir', notAFolder]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /warning: the incremental cache was not saved \([A-Z_]+: .*cache-is-a-file/);
    assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, 'no stack trace');
    const stats = JSON.parse(fs.readFileSync(path.join(out, 's.json'), 'utf8')) as { cache: { saveError: { code: string } | null }; examples: { total: number } };
    assert.ok(stats.cache.saveError && stats.examples.total > 0);
    assert.ok(fs.readFileSync(path.join(out, 'x.jsonl'), 'utf8').includes('function add'));
    assert.equal(fs.readFileSync(notAFolder, 'utf8'), 'x', 'the file is left as it was');
  } finally {
    rm(repo);
    rm(out);
  }
});
