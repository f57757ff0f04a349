// The dashboard page alone in headless Chromium: webview/main.ts bundled as the build
// does, served on 127.0.0.1 with the extension's own HTML and CSP, and a stand-in for
// the webview API (acquireVsCodeApi) that records posted messages and keeps state in
// sessionStorage, so a reload restores it as VS Code's getState does.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { dashboardHtml, makeNonce } from '../../extension/html';

const ROOT = join(__dirname, '../..');
export const CHROMIUM = '/usr/bin/chromium';

/** Theme colours the test can find in the canvas: the page reads them from --vscode-* variables. */
export const TRAIN_RGB = [0, 0, 255];
export const VAL_RGB = [255, 0, 0];

const INIT = `(() => {
  window.__posted = [];
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
  // VS Code sets its theme variables on <html>; so does this stand-in (through the CSSOM).
  const theme = () => {
    const style = document.documentElement.style;
    style.setProperty('--vscode-charts-blue', 'rgb(${TRAIN_RGB.join(',')})');
    style.setProperty('--vscode-charts-orange', 'rgb(${VAL_RGB.join(',')})');
    style.setProperty('--vscode-editor-background', '#ffffff');
    style.setProperty('--vscode-foreground', '#333333');
  };
  if (document.documentElement) {
    theme();
  } else {
    new MutationObserver((_, o) => { if (document.documentElement) { theme(); o.disconnect(); } }).observe(document, { childList: true });
  }
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.__posted.push(m),
    getState: () => JSON.parse(sessionStorage.getItem('vscode-state') || 'null'),
    setState: (s) => sessionStorage.setItem('vscode-state', JSON.stringify(s)),
  });
})();`;

export class DashboardPage {
  private constructor(readonly page: Page, readonly url: string, private readonly browser: Browser, private readonly server: Server, private readonly dir: string, readonly errors: string[]) {}

  static async start(): Promise<DashboardPage> {
    const dir = mkdtempSync(join(tmpdir(), 'codetune-webview-'));
    await esbuild.build({ entryPoints: [join(ROOT, 'webview/main.ts')], outfile: join(dir, 'webview.js'), bundle: true, minify: true, platform: 'browser', format: 'iife', target: 'es2020', logLevel: 'warning' });
    let origin = '';
    const server = createServer((req, res) => {
      const file = req.url === '/webview.js' ? 'webview.js' : req.url === '/webview.css' ? 'webview.css' : null;
      if (req.url === '/' || req.url === '/index.html') {
        const html = dashboardHtml({ cspSource: origin, nonce: makeNonce((n) => randomBytes(n)), script: `${origin}/webview.js`, style: `${origin}/webview.css` });
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      } else if (file) {
        res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/css' }).end(readFileSync(join(dir, file)));
      } else if (req.url === '/favicon.ico') {
        res.writeHead(204).end(); // Chromium asks for one; a webview does not
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    origin = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    const page = await browser.newPage({ viewport: { width: 1000, height: 1200 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') {
        errors.push(`console: ${m.text()}`);
      }
    });
    await page.addInitScript(INIT);
    const p = new DashboardPage(page, `${origin}/`, browser, server, dir, errors);
    await p.load();
    return p;
  }

  async load(): Promise<void> {
    await this.page.goto(this.url);
    await this.page.locator('#app[aria-busy="false"]').waitFor();
  }

  /**
   * As the extension's webview.postMessage: a `message` event on the page's window.
   * Resolves once the page has handled it: a second message is posted behind it, and
   * events are delivered in order, the page's own listener first.
   */
  async send(message: unknown): Promise<void> {
    // A string, so that no bundler helper (tsx's __name) ends up in the page.
    await this.page.evaluate(`new Promise((resolve) => {
      const token = 'sent-' + Math.random();
      window.addEventListener('message', function onMessage(e) {
        if (e.data === token) {
          window.removeEventListener('message', onMessage);
          resolve();
        }
      });
      window.postMessage(${JSON.stringify(message)}, '*');
      window.postMessage(token, '*');
    })`);
  }

  async posted(): Promise<unknown[]> {
    return this.page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);
  }

  async violations(): Promise<string[]> {
    return this.page.evaluate(() => (window as unknown as { __violations: string[] }).__violations);
  }

  /** Canvas pixels within `tol` of the colour. */
  async pixels(rgb: number[], tol = 40): Promise<number> {
    return this.page.evaluate(([r, g, b, t]) => {
      const c = document.getElementById('loss-chart') as HTMLCanvasElement;
      const d = (c.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] > 200 && Math.abs(d[i] - r) <= t && Math.abs(d[i + 1] - g) <= t && Math.abs(d[i + 2] - b) <= t) {
          n++;
        }
      }
      return n;
    }, [...rgb, tol]);
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
