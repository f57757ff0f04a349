// End-to-end harness: a real VS Code (code-server, installed by scripts/e2e-setup.sh)
// driven in headless Debian Chromium with playwright-core. Recipe: ../shared/e2e/README.md.
//
//   const h = await Harness.start({ vsix: [path], workspace: dir, name: 'smoke' });
//   try { await h.runCommand('Codetune: Show logs'); ... } finally { await h.close(); }
//
// Every helper waits with a timeout; when one fails it saves a screenshot under
// test/e2e/artifacts/ and names it in the error. code-server is started in its own
// process group and stopped by that pid, never by name.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { freePort, killGroup, killGroupAndWait, pollUntil, runChecked, tail, waitForHttp } from './process';
import { CHROMIUM, CODE_SERVER_ENTRY, REPO_ROOT } from './setup';

export const ARTIFACTS = join(REPO_ROOT, 'test/e2e/artifacts');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface HarnessOptions {
  /** .vsix files to install before starting. */
  vsix: string[];
  /** Folder opened as the workspace. */
  workspace: string;
  /** Names artifacts (screenshots, logs). */
  name: string;
  /** Extra user settings (merged over trust-off / no-welcome defaults). */
  settings?: Record<string, unknown>;
  /** Default timeout of every wait, ms (default 30 000). */
  timeoutMs?: number;
}

export class Harness {
  private constructor(
    readonly page: Page,
    readonly port: number,
    readonly tmp: string,
    private readonly browser: Browser,
    private readonly server: ChildProcess,
    private readonly opts: HarnessOptions,
  ) {}

  /** Installs the .vsix files, starts code-server on a free loopback port, opens the workspace in Chromium. */
  static async start(opts: HarnessOptions): Promise<Harness> {
    const tmp = mkdtempSync(join(tmpdir(), `codetune-e2e-${opts.name}-`));
    const userData = join(tmp, 'user-data');
    const extensions = join(tmp, 'extensions');
    mkdirSync(join(userData, 'User'), { recursive: true });
    writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify({
      'security.workspace.trust.enabled': false,
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'extensions.autoCheckUpdates': false,
      'telemetry.telemetryLevel': 'off',
      ...opts.settings,
    }, null, 2));
    // Keep code-server's own config and data out of $HOME.
    const env = { ...process.env, XDG_CONFIG_HOME: join(tmp, 'config'), XDG_DATA_HOME: join(tmp, 'data') };
    const common = ['--user-data-dir', userData, '--extensions-dir', extensions];
    for (const v of opts.vsix) {
      await runChecked(process.execPath, [CODE_SERVER_ENTRY, '--install-extension', resolve(v), ...common], { env, timeoutMs: 120_000 });
    }
    const port = await freePort();
    const log = createWriteStream(join(tmp, 'code-server.log'));
    const server = spawn(process.execPath, [CODE_SERVER_ENTRY, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry', '--disable-update-check', '--disable-getting-started-override', ...common, opts.workspace],
    { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout?.pipe(log);
    server.stderr?.pipe(log);
    let browser: Browser | undefined;
    try {
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, server, 60_000);
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      page.setDefaultTimeout(opts.timeoutMs ?? 30_000);
      const h = new Harness(page, port, tmp, browser, server, opts);
      await h.guard('open workbench', async () => {
        await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(opts.workspace)}`);
        await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
        // The status bar is drawn once the workbench has restored its parts.
        await page.locator('#workbench\\.parts\\.statusbar').waitFor({ timeout: 90_000 });
      });
      return h;
    } catch (e) {
      await browser?.close().catch(() => undefined);
      killGroup(server);
      throw new Error(`code-server did not start: ${(e as Error).message}\n--- code-server log ---\n${tail(join(tmp, 'code-server.log'))}`);
    }
  }

  /**
   * Runs a command from the palette by its exact title, e.g. "Codetune: Show logs".
   * Extensions' commands can appear a little after the workbench (the remote extension
   * host registers them), so a palette without the command is closed and reopened
   * until the timeout. Returns once the palette has closed, or moved on to a quick
   * pick the command opened.
   */
  async runCommand(title: string, timeoutMs?: number): Promise<void> {
    await this.guard(`run command "${title}"`, async () => {
      const widget = this.page.locator('.quick-input-widget');
      const input = widget.locator('.quick-input-box input').first();
      const row = this.row(title);
      const deadline = Date.now() + (timeoutMs ?? this.opts.timeoutMs ?? 30_000);
      for (;;) {
        await this.page.keyboard.press('Control+Shift+P');
        await widget.waitFor({ state: 'visible' });
        await input.fill(`>${title}`);
        const found = await row.waitFor({ state: 'visible', timeout: 3_000 }).then(() => true, () => false);
        if (found) {
          break;
        }
        if (Date.now() > deadline) {
          const rows = await widget.locator('.monaco-list-row').allInnerTexts();
          throw new Error(`no palette entry "${title}"; rows: ${JSON.stringify(rows)}`);
        }
        await this.page.keyboard.press('Escape');
        await widget.waitFor({ state: 'hidden' });
      }
      const typed = await input.inputValue();
      await row.click();
      await this.page.waitForFunction((value) => {
        const w = document.querySelector<HTMLElement>('.quick-input-widget');
        return !w || w.style.display === 'none' || w.querySelector<HTMLInputElement>('.quick-input-box input')?.value !== value;
      }, typed);
    });
  }

  /** In an open quick pick (e.g. one a command showed), types `text` and picks the row labelled exactly `label`. */
  async quickPick(text: string, label: string = text): Promise<void> {
    await this.guard(`quick pick "${label}"`, async () => {
      await this.page.locator('.quick-input-widget').waitFor({ state: 'visible' });
      await this.page.keyboard.type(text);
      const row = this.row(label);
      await row.waitFor({ state: 'visible' });
      await row.click();
    });
  }

  /** The quick-input row whose label is exactly `label`. */
  private row(label: string): Locator {
    const exact = new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
    return this.page.locator('.quick-input-widget .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: exact }) }).first();
  }

  /** Waits for a notification toast whose message matches; returns its text. */
  async waitForNotification(text: RegExp, timeoutMs?: number): Promise<string> {
    return this.guard(`notification ${text}`, async () => {
      const msg = this.page.locator('.notifications-toasts .notification-list-item-message').filter({ hasText: text }).first();
      await msg.waitFor({ state: 'visible', timeout: timeoutMs });
      return (await msg.innerText()).trim();
    });
  }

  /** Texts of all status bar items, in order (icons dropped). */
  async statusBarItems(): Promise<string[]> {
    const items = this.page.locator('#workbench\\.parts\\.statusbar .statusbar-item');
    return (await items.allInnerTexts()).map((t) => t.trim()).filter((t) => t.length > 0);
  }

  /** The first status bar item matching `match`, waited for; without `match`, all items joined by " | ". */
  async statusBarText(match?: RegExp, timeoutMs?: number): Promise<string> {
    if (!match) {
      return (await this.statusBarItems()).join(' | ');
    }
    return this.guard(`status bar ${match}`, async () => {
      const item = this.page.locator('#workbench\\.parts\\.statusbar .statusbar-item').filter({ hasText: match }).first();
      await item.waitFor({ state: 'visible', timeout: timeoutMs });
      return (await item.innerText()).trim();
    });
  }

  /** Opens a workspace file with Quick Open (Ctrl+P) and waits for its editor to have focus. */
  async openFile(relativePath: string): Promise<void> {
    await this.guard(`open file ${relativePath}`, async () => {
      await this.page.keyboard.press('Control+P');
      await this.page.locator('.quick-input-widget').waitFor({ state: 'visible' });
      await this.page.keyboard.type(relativePath);
      const name = relativePath.split('/').pop() ?? relativePath;
      await this.page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first().waitFor();
      await this.page.keyboard.press('Enter');
      await this.page.locator(`.tab.active[data-resource-name="${name}"]`).waitFor();
      await this.page.locator('.editor-group-container.active .monaco-editor.focused').waitFor();
    });
  }

  /**
   * Types into the active editor like a user (key by key). `file` opens it first;
   * `at: 'end'` moves the cursor to the end of the file first. Note the editor's own
   * auto-closing and auto-indent apply, as they would for a user.
   */
  async typeInEditor(text: string, opts: { file?: string; at?: 'cursor' | 'end'; delayMs?: number } = {}): Promise<void> {
    if (opts.file) {
      await this.openFile(opts.file);
    }
    await this.guard('type in editor', async () => {
      const editor = this.page.locator('.editor-group-container.active .monaco-editor').first();
      await editor.waitFor();
      if (!(await editor.evaluate((el) => el.classList.contains('focused')))) {
        await editor.locator('.view-lines').click();
      }
      if (opts.at === 'end') {
        await this.page.keyboard.press('Control+End');
      }
      await this.page.keyboard.type(text, { delay: opts.delayMs ?? 15 });
    });
  }

  /**
   * Inline completion ghost text in the active editor: the first line is injected
   * `.ghost-text-decoration` spans, further lines `.ghost-text` spans in a view zone.
   * Waits until there is some, or until it matches `match`, and until two readings in
   * a row agree (the first line and the view zone render separately).
   */
  async readGhostText(match?: RegExp, timeoutMs?: number): Promise<string> {
    return this.guard(`ghost text${match ? ` ${match}` : ''}`, async () => {
      const editor = this.page.locator('.editor-group-container.active .monaco-editor').first();
      let last = '';
      let previous: string | null = null;
      await pollUntil(timeoutMs ?? this.opts.timeoutMs ?? 30_000, async () => {
        previous = last;
        last = await editor.evaluate((root) => {
          const first = Array.from(root.querySelectorAll('.ghost-text-decoration')).map((e) => e.textContent ?? '').join('');
          const rest = new Map<Element, string>(); // additional lines: spans grouped by their view line
          for (const span of Array.from(root.querySelectorAll('span.ghost-text'))) {
            const line = span.closest('.view-line') ?? span;
            rest.set(line, (rest.get(line) ?? '') + (span.textContent ?? ''));
          }
          return [first, ...rest.values()].join('\n').replace(/\u00a0/g, ' ').replace(/\n+$/, '');
        });
        return (match ? match.test(last) : last.length > 0) && last === previous;
      }, () => `last ghost text: ${JSON.stringify(last)}`);
      return last;
    });
  }

  /** Shows an output channel by name through "Output: Show Output Channels...". */
  async showOutputChannel(name: string): Promise<void> {
    await this.runCommand('Output: Show Output Channels...');
    await this.quickPick(name);
  }

  /**
   * Name of the channel the visible Output view shows (from its editor, "<name> - Output").
   * With `expected`, waits until it is that channel; either way returns what is shown.
   */
  async activeOutputChannel(expected?: string, timeoutMs?: number): Promise<string> {
    return this.guard(`output channel${expected ? ` "${expected}"` : ''}`, async () => {
      const input = this.page.locator('.part.panel .monaco-editor textarea[aria-label$=" - Output"]').filter({ visible: true });
      let shown = '';
      await pollUntil(timeoutMs ?? this.opts.timeoutMs ?? 30_000, async () => {
        const labels = await input.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
        shown = labels.length > 0 ? labels[0].replace(/ - Output$/, '') : '';
        return expected === undefined ? shown !== '' : shown === expected;
      }, () => `shown: ${JSON.stringify(shown)}`);
      return shown;
    });
  }

  /** Text of the visible Output view (the rendered lines). */
  async outputText(): Promise<string> {
    const lines = this.page.locator('.part.panel .monaco-editor .view-lines .view-line');
    return (await lines.allTextContents()).join('\n').replace(/\u00a0/g, ' ');
  }

  /** Saves a full-page screenshot; returns its path. */
  async screenshot(path: string): Promise<string> {
    mkdirSync(dirname(path), { recursive: true });
    await this.page.screenshot({ path });
    return path;
  }

  /** The code-server log so far (last lines). */
  serverLog(lines = 60): string {
    return tail(join(this.tmp, 'code-server.log'), lines);
  }

  /** Closes the browser and stops code-server (its process group, by pid); removes the temp dirs. */
  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await killGroupAndWait(this.server);
    if (process.env.CODETUNE_E2E_KEEP !== '1') {
      rmSync(this.tmp, { recursive: true, force: true });
    }
  }

  /** Runs a step; on failure saves a screenshot into ARTIFACTS and rethrows with its path. */
  async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const file = join(ARTIFACTS, `${this.opts.name}-FAILED-${what.replace(/[^\w-]+/g, '_').slice(0, 60)}-${Date.now()}.png`);
      const shot = await this.screenshot(file).then(() => `screenshot: ${file}`, (err: Error) => `no screenshot: ${err.message}`);
      throw new Error(`e2e step failed: ${what}: ${(e as Error).message}\n${shot}`, { cause: e });
    }
  }
}
