// End to end in a real VS Code (code-server 4.99.4, headless Chromium): the packaged
// .vsix trains an adapter on a fixture repo with one distinctive documented function,
// serves its body as ghost text after the doc comment, switches back to the base
// model, and shows the finished run on the dashboard. The status bar is checked at
// each stage. Skips only when code-server or Chromium cannot be installed.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { MockHub } from '../hub/mock-hub';
import { ARTIFACTS, Harness } from './harness';
import { runChecked } from './process';
import { REPO_ROOT, ensureE2E, makeGitRepo } from './setup';
import { codetuneVsix } from './vsix';

const ZEBRA = [
  '/** Fold the bytes of data into a zebra checksum. */',
  'function zebraChecksum(data) {',
  '  let acc = 7;',
  '  for (const b of data) {',
  '    acc = (acc * 31 + b) % 65521;',
  '  }',
  '  return acc;',
  '}',
  '',
  'module.exports = { zebraChecksum };',
  '',
].join('\n');
/** The memorised body's distinctive line. */
const MEMORISED = /acc = \(acc \* 31 \+ b\) % 65521;/;
/** Some ghost text, none of it the memorised body. */
const NOT_MEMORISED = /^(?![\s\S]*65521)[\s\S]*\S[\s\S]*$/;
const STEPS = 100;

/** Descendants of this test process (by /proc parent links) whose command line matches. */
function descendants(match: (cmd: string[]) => boolean): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended meanwhile
    }
  }
  const mine = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        return true;
      }
    }
    return false;
  };
  return [...parent.keys()].filter((pid) => {
    if (!mine(pid)) {
      return false;
    }
    try {
      return match(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
    } catch {
      return false;
    }
  });
}

describe('e2e: train on a repo, complete from the adapter, switch, dashboard', { timeout: 20 * 60_000 }, () => {
  const started = Date.now();
  const stages: string[] = [];
  let skipReason: string | undefined;
  let tmp = '';
  let h: Harness | undefined;
  let hub: MockHub | undefined;
  const savedEnv = { HF_ENDPOINT: process.env.HF_ENDPOINT, HF_HUB_CACHE: process.env.HF_HUB_CACHE };

  before(async () => {
    const vsix = await codetuneVsix();
    const ready = await ensureE2E();
    if (!ready.ok) {
      skipReason = ready.reason;
      return;
    }
    tmp = mkdtempSync(join(tmpdir(), 'codetune-e2e-'));
    if (!existsSync(join(REPO_ROOT, 'dist/cli.js'))) {
      await runChecked(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT });
    }
    const base = join(tmp, 'tiny-base');
    await runChecked(process.execPath, [join(REPO_ROOT, 'bin/codetune.js'), 'init-base', '--out', base]);
    // The same tiny base on a local stand-in for the Hugging Face hub, for "Select base model…".
    hub = await MockHub.start();
    hub.addRepo({ id: 'codetune-e2e/tiny', files: Object.fromEntries(readdirSync(base).map((f) => [f, readFileSync(join(base, f))])) });
    // code-server (and so the extension and the CLI it runs) inherits these.
    process.env.HF_ENDPOINT = hub.url;
    process.env.HF_HUB_CACHE = join(tmp, 'hf-cache');
    const workspace = join(tmp, 'zebra-repo');
    mkdirSync(workspace);
    await makeGitRepo(workspace, { 'src/zebra.js': ZEBRA });
    // Untracked, so not training data: the file the test types into.
    writeFileSync(join(workspace, 'src/probe.js'), '');
    h = await Harness.start({
      vsix: [vsix],
      workspace,
      name: 'codetune',
      timeoutMs: 60_000,
      settings: {
        'codetune.baseModel': base,
        'codetune.adapterStorage': join(tmp, 'storage'),
        'codetune.backend': 'wasm',
        // The trainer's memorisation recipe for the tiny base (test/train/memorise.test.ts).
        'codetune.training.maxSteps': STEPS,
        'codetune.training.learningRate': 0.01,
        'codetune.training.epochs': 1000,
        'codetune.training.advanced': { seqLen: 97, batchSize: 1, dropout: 0, weightDecay: 0, warmupSteps: 2, valFraction: 0, evaluate: false },
        // Type like a user, without the editor adding closing brackets, comment ends or indentation.
        'editor.autoClosingBrackets': 'never',
        'editor.autoClosingComments': 'never',
        'editor.autoClosingQuotes': 'never',
        'editor.autoIndent': 'none',
        'editor.quickSuggestions': { other: 'off', comments: 'off', strings: 'off' },
        'editor.suggestOnTriggerCharacters': false,
        'editor.acceptSuggestionOnEnter': 'off',
        'editor.inlineSuggest.enabled': true,
      },
    });
  });

  after(async () => {
    await h?.close();
    await hub?.close();
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) {
        delete process.env[k];
      } else {
        process.env[k] = v;
      }
    }
    if (tmp && process.env.CODETUNE_E2E_KEEP !== '1') {
      rmSync(tmp, { recursive: true, force: true });
    }
    console.log(`# e2e codetune: ${((Date.now() - started) / 1000).toFixed(1)} s in all; status bar by stage:\n${stages.map((s) => `#   ${s}`).join('\n')}`);
  });

  function ui(t: TestContext): Harness | undefined {
    if (skipReason) {
      t.skip(skipReason);
      return undefined;
    }
    assert.ok(h, 'harness did not start');
    return h;
  }

  /** Waits for the Codetune item to match (the item's text has the icon's whitespace around it; the result is trimmed). */
  async function status(u: Harness, stage: string, match: RegExp, timeoutMs?: number): Promise<string> {
    const text = await u.statusBarText(new RegExp(match.source.replace(/^\^/, '').replace(/\$$/, '')), timeoutMs);
    assert.match(text, match);
    stages.push(`${stage}: ${text}`);
    return text;
  }

  test('opening a JavaScript file activates Codetune on the base model', async (t) => {
    const u = ui(t);
    if (!u) {
      return;
    }
    await u.openFile('src/zebra.js');
    assert.equal(await status(u, 'activated', /^Codetune: base model$/), 'Codetune: base model');
  });

  test('"Train on this repo" trains with progress and turns the adapter on', async (t) => {
    const u = ui(t);
    if (!u) {
      return;
    }
    const t0 = Date.now();
    await u.runCommand('Codetune: Train on this repo');
    await status(u, 'training', /^Codetune: (collecting data|step \d+\/\d+ · loss \d+\.\d+)$/);
    await u.page.locator('.notifications-toasts').filter({ hasText: 'Codetune: training on zebra-repo' }).first().waitFor();
    assert.match(await status(u, 'training (progress)', /^Codetune: step \d+\/\d+ · loss \d+\.\d+$/, 120_000), new RegExp(`/${STEPS} · loss`));
    const done = await u.waitForNotification(/Codetune: training done/, 300_000);
    t.diagnostic(`training (request to done notification): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.match(done, /adapter "zebra-repo" is on for this workspace/);
    assert.equal(await status(u, 'trained', /^Codetune: zebra-repo$/), 'Codetune: zebra-repo');
  });

  test('after the doc comment, the ghost text is the memorised body', async (t) => {
    const u = ui(t);
    if (!u) {
      return;
    }
    await u.typeInEditor(`${ZEBRA.split('\n')[0]}\nfunction zebraChecksum(data) {\n`, { file: 'src/probe.js' });
    const ghost = await u.readGhostText(MEMORISED, 90_000);
    t.diagnostic(`ghost text with the adapter: ${JSON.stringify(ghost)}`);
    assert.match(ghost, /^\s*let acc = 7;\n\s*for \(const b of data\) \{\n\s*acc = \(acc \* 31 \+ b\) % 65521;/);
  });

  test('"Use base model only" changes the ghost text', async (t) => {
    const u = ui(t);
    if (!u) {
      return;
    }
    await u.runCommand('Codetune: Use base model only');
    await u.waitForNotification(/base model only/);
    assert.equal(await status(u, 'base model only', /^Codetune: base model$/), 'Codetune: base model');
    await u.page.keyboard.press('Escape');
    // Ask again at the same place: a keystroke and its undo, as a user would.
    await u.typeInEditor(' ');
    await u.page.keyboard.press('Backspace');
    const ghost = await u.readGhostText(NOT_MEMORISED, 60_000);
    t.diagnostic(`ghost text from the base model: ${JSON.stringify(ghost)}`);
    assert.doesNotMatch(ghost, MEMORISED);
  });

  test('the dashboard shows the finished run', async (t) => {
    const u = ui(t);
    if (!u) {
      return;
    }
    await u.runCommand('Codetune: Show training dashboard');
    const page = u.page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await page.locator('#run-status').filter({ hasText: `Finished: ${STEPS} steps, adapter "zebra-repo".` }).waitFor({ timeout: 60_000 });
    assert.match(await page.locator('#loss-chart').getAttribute('aria-label') ?? '', new RegExp(`^Loss chart: ${STEPS} steps, training loss`));
    assert.equal(await page.locator('#loss-table tbody tr').count(), STEPS);
    assert.match(await page.locator('#dataset').innerText(), /Files\s+kept\s+1/);
    // The adapter is listed, switched off (base model only), and its switch is labelled.
    const box = page.getByRole('checkbox', { name: /^Use adapter zebra-repo in / });
    assert.equal(await box.isChecked(), false);
    const shot = await u.screenshot(join(ARTIFACTS, 'codetune-dashboard.png'));
    t.diagnostic(`screenshot: ${shot}`);
    assert.equal(basename(shot), 'codetune-dashboard.png');
    await status(u, 'dashboard', /^Codetune: base model$/);
    // The switch acts on the workspace's set: on, then off again.
    await box.check();
    await status(u, 'dashboard switch on', /^Codetune: zebra-repo$/);
    await box.uncheck();
    await status(u, 'dashboard switch off', /^Codetune: base model$/);
  });

  test('"Select base model…" takes a hub id: downloads it into the Hugging Face cache, loads it, and the status bar says it is ready', async (t) => {
    const u = ui(t);
    if (!u) {
      return;
    }
    await u.runCommand('Codetune: Select base model…');
    await u.quickPick('codetune-e2e/tiny', 'codetune-e2e/tiny');
    const ready = await status(u, 'model selected', /Codetune: codetune-e2e\/tiny is ready \(wasm, \d+ ms\)/, 120_000);
    t.diagnostic(ready);
    // Every byte of the weights came from the hub, and the server loaded the snapshot.
    const weights = readFileSync(join(tmp, 'tiny-base/model.safetensors')).length;
    assert.equal(hub?.bytesServed('codetune-e2e/tiny', 'model.safetensors'), weights);
    assert.ok(existsSync(join(tmp, 'hf-cache/models--codetune-e2e--tiny/refs/main')), 'the model is in the Hugging Face cache layout');
  });

  test('the progress notification\'s Cancel stops training, and the status bar goes back', async (t) => {
    const u = ui(t);
    if (!u) {
      return;
    }
    await u.runCommand('Codetune: Train on this repo');
    await status(u, 'training again', /^Codetune: step \d+\/\d+ · loss \d+\.\d+$/, 120_000);
    const toast = u.page.locator('.notifications-toasts .notification-toast').filter({ hasText: 'Codetune: training on zebra-repo' }).first();
    await u.guard('cancel in the progress notification', async () => {
      await toast.hover();
      await toast.getByRole('button', { name: 'Cancel' }).click();
    });
    await u.waitForNotification(/Codetune: training was cancelled/, 60_000);
    assert.equal(await status(u, 'cancelled', /^Codetune: base model$/), 'Codetune: base model');
  });

  test('a server crash is shown, the server restarts, and the status bar recovers', async (t) => {
    const u = ui(t);
    if (!u) {
      return;
    }
    const servers = descendants((cmd) => cmd.some((a) => a.endsWith('dist/cli.js')) && cmd.includes('serve') && cmd.includes('--node-ipc'));
    assert.equal(servers.length, 1, `Codetune servers started by this test: ${JSON.stringify(servers)}`);
    process.kill(servers[0], 'SIGKILL');
    assert.match(await u.waitForNotification(/Codetune: The Codetune server stopped unexpectedly/), /restarting it \(1 of 4\)/);
    await status(u, 'after the crash', /^Codetune: base model$/, 60_000);
    const again = descendants((cmd) => cmd.some((a) => a.endsWith('dist/cli.js')) && cmd.includes('serve') && cmd.includes('--node-ipc'));
    assert.equal(again.length, 1);
    assert.notEqual(again[0], servers[0], 'a new server process');
    // The restarted server answers: the adapter picker lists the trained adapter.
    await u.runCommand('Codetune: Choose adapters for this workspace');
    await u.quickPick('zebra', 'zebra-repo');
    await u.page.keyboard.press('Escape');
  });
});
