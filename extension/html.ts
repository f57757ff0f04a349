// The dashboard page's HTML: a strict CSP (`default-src 'none'`; the bundled script by
// nonce; styles only from the extension's own files), the bundle and its stylesheet.
// No `vscode` import; the webview test loads the same HTML.

export interface PageUris {
  /** `webview.cspSource`: the origin the webview serves extension files from. */
  cspSource: string;
  script: string;
  style: string;
  nonce: string;
}

/** A fresh nonce: 32 characters from [A-Za-z0-9]. */
export function makeNonce(random: (n: number) => Uint8Array): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(random(32), (b) => chars[b % chars.length]).join('');
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function csp(u: PageUris): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${u.nonce}'`,
    `style-src ${u.cspSource}`,
    `img-src ${u.cspSource} data:`,
    `font-src ${u.cspSource}`,
  ].join('; ');
}

export function dashboardHtml(u: PageUris): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(csp(u))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${esc(u.style)}">
<title>Codetune training dashboard</title>
</head>
<body>
<main id="app" aria-busy="true">
  <header class="head">
    <h1>Codetune training</h1>
    <p id="run-status" role="status" aria-live="polite">No training run yet.</p>
    <div class="actions">
      <button id="train" type="button">Train on this repo</button>
      <button id="cancel" type="button" class="secondary" hidden>Cancel training</button>
    </div>
  </header>
  <section aria-labelledby="loss-h">
    <h2 id="loss-h">Loss</h2>
    <div class="chart-box"><canvas id="loss-chart" role="img" aria-label="Loss chart: no data yet"></canvas></div>
    <table id="loss-table" class="sr-only" aria-label="Loss by step"><thead><tr><th scope="col">Step</th><th scope="col">Train loss</th><th scope="col">Validation loss</th></tr></thead><tbody></tbody></table>
  </section>
  <section aria-labelledby="speed-h">
    <h2 id="speed-h">Run</h2>
    <dl id="speed" class="stats"></dl>
  </section>
  <section aria-labelledby="data-h">
    <h2 id="data-h">Dataset</h2>
    <div id="dataset"><p class="muted">Dataset statistics appear when a run finishes.</p></div>
  </section>
  <section aria-labelledby="adapters-h">
    <h2 id="adapters-h">Adapters</h2>
    <p id="adapters-folder" class="muted"></p>
    <table id="adapters" aria-labelledby="adapters-h">
      <thead><tr><th scope="col">On</th><th scope="col">Adapter</th><th scope="col">Repo</th><th scope="col">Created</th>
      <th scope="col">Loss (base → adapter)</th><th scope="col">Exact match</th><th scope="col">Edit similarity</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
<script nonce="${esc(u.nonce)}" src="${esc(u.script)}"></script>
</body>
</html>
`;
}
