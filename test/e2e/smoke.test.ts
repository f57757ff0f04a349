// End-to-end smoke test in a real VS Code (code-server 4.99.4, headless Chromium):
// the packaged .vsix installs, and "Codetune: Show logs" from the palette shows the
// "Codetune" output channel. A second extension (test/e2e/fixture-ext) with known
// behaviour checks the harness helpers themselves.
// Skips only when code-server or Chromium cannot be installed (the reason is printed).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { ARTIFACTS, Harness } from './harness';
import { ensureE2E, makeGitRepo } from './setup';
import { codetuneVsix, fixtureVsix, listZip, readZipEntry } from './vsix';

describe('e2e smoke: Codetune in code-server', { timeout: 10 * 60_000 }, () => {
  const started = Date.now();
  let skipReason: string | undefined;
  let vsix = '';
  let workspace = '';
  let h: Harness | undefined;

  before(async () => {
    vsix = await codetuneVsix();
    const ready = await ensureE2E();
    if (!ready.ok) {
      skipReason = ready.reason;
      return;
    }
    workspace = await makeGitRepo(mkdtempSync(join(tmpdir(), 'codetune-e2e-ws-')), {
      'src/math.ts': '/** Adds two numbers. */\nexport function add(a: number, b: number): number {\n  return a + b;\n}\n',
      'notes.txt': 'scratch\n',
    });
    h = await Harness.start({ vsix: [vsix, await fixtureVsix()], workspace, name: 'smoke' });
  });

  after(async () => {
    await h?.close();
    if (workspace) {
      rmSync(workspace, { recursive: true, force: true });
    }
    console.log(`# e2e smoke: ${((Date.now() - started) / 1000).toFixed(1)} s in all (setup, packaging, code-server, browser)`);
  });

  function harness(t: TestContext): Harness | undefined {
    if (skipReason) {
      t.skip(skipReason);
      return undefined;
    }
    assert.ok(h, 'harness did not start');
    return h;
  }

  test('the .vsix holds minified bundles and the wasm binaries, and nothing else', () => {
    const files = listZip(vsix).filter((f) => f.startsWith('extension/'));
    for (const f of ['extension/package.json', 'extension/dist/extension.js', 'extension/dist/cli.js', 'extension/dist/webview.js']) {
      assert.ok(files.includes(f), `${f} missing from ${files.join(', ')}`);
    }
    assert.ok(files.some((f) => /^extension\/dist\/.*\.wasm$/.test(f)), 'no wasm binaries');
    const stray = files.filter((f) => /\.(ts|map)$|node_modules\/|^extension\/(server|test|bench|webview|extension|scripts|docs)\//.test(f));
    assert.deepEqual(stray, []);
    for (const f of ['extension/dist/extension.js', 'extension/dist/cli.js']) {
      const js = readZipEntry(vsix, f).toString('utf8');
      assert.doesNotMatch(js, /sourceMappingURL/, `${f} points at a source map`);
      const lines = js.split('\n').length;
      assert.ok(js.length / lines > 200, `${f} does not look minified: ${js.length} chars on ${lines} lines`);
    }
    const manifest = JSON.parse(readZipEntry(vsix, 'extension/package.json').toString('utf8')) as { name: string; version: string };
    assert.match(vsix, new RegExp(`${manifest.name}-${manifest.version}\\.vsix$`));
  });

  test('"Codetune: Show logs" shows the Codetune output channel', async (t) => {
    const ui = harness(t);
    if (!ui) {
      return;
    }
    // Another channel first, so that the assertion sees the command switch the view.
    await ui.showOutputChannel('Window');
    assert.equal(await ui.activeOutputChannel('Window'), 'Window');
    await ui.runCommand('Codetune: Show logs');
    assert.equal(await ui.activeOutputChannel('Codetune'), 'Codetune');
    t.diagnostic(`screenshot: ${await ui.screenshot(join(ARTIFACTS, 'smoke-show-logs.png'))}`);
  });

  test('harness helpers: notification, status bar, typing, ghost text (fixture extension)', async (t) => {
    const ui = harness(t);
    if (!ui) {
      return;
    }
    assert.equal(await ui.statusBarText(/fixture-status/), 'fixture-status idle');
    await ui.runCommand('Harness Fixture: Notify');
    assert.equal(await ui.waitForNotification(/fixture notification \d+/), 'fixture notification 42');
    assert.equal(await ui.statusBarText(/fixture-status notified/), 'fixture-status notified');
    assert.match(await ui.statusBarText(), /fixture-status notified/);

    await ui.typeInEditor('say ghost:', { file: 'notes.txt', at: 'end' });
    assert.equal(await ui.readGhostText(/second/), ' first ghost line\nsecond ghost line');
    // A failed wait names the step and leaves a screenshot.
    const err = await ui.readGhostText(/never shown/, 1_000).then(() => undefined, (e: Error) => e);
    assert.match(String(err?.message), /e2e step failed: ghost text \/never shown\/: timed out/);
    const shot = /screenshot: (\S+\.png)/.exec(String(err?.message))?.[1];
    assert.ok(shot && existsSync(shot), `no failure screenshot in: ${err?.message}`);
    rmSync(shot);
  });
});
