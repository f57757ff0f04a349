#!/usr/bin/env node
// One esbuild script for the three bundles:
//   dist/extension.js  VS Code client (cjs, `vscode` external)
//   dist/cli.js        headless CLI + language server + engine (cjs)
//   dist/webview.js    dashboard page (browser, iife)
//   dist/train-worker.js, dist/data-worker.js  worker threads of the trainer and the data pipeline
// Native/optional backends stay external. The wasm files the server needs (the tfjs
// backend, web-tree-sitter and its grammars) are copied next to the server bundle, where
// server/model/backend.ts and server/data/treesitter.ts look for them first.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const watch = process.argv.includes('--watch');
// --production (used by `npm run package`): minified, no source maps.
const production = process.argv.includes('--production');
// --outdir=DIR: build somewhere other than dist/ (the e2e test packages in a temp dir).
const outdir = process.argv.find((a) => a.startsWith('--outdir='))?.slice('--outdir='.length) ?? 'dist';
mkdirSync(outdir, { recursive: true });

const optionalNative = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];
// require.resolve of data files (the wasm binaries, the dev tokenizer) is a run-time
// fallback for running from sources; in the bundle the files sit next to dist/cli.js.
const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  target: 'node20',
  logOverride: { 'require-resolve-not-external': 'silent' },
};

const builds = [
  { ...common, entryPoints: ['extension/extension.ts'], outfile: `${outdir}/extension.js`, platform: 'node', format: 'cjs', external: ['vscode'] },
  {
    ...common,
    entryPoints: { cli: 'server/cli.ts', 'train-worker': 'server/train/worker.ts', 'data-worker': 'server/data/worker.ts' },
    outdir,
    platform: 'node',
    format: 'cjs',
    // ESM builds of tfjs so that core, its gradients and the backends are one copy.
    mainFields: ['module', 'main'],
    external: optionalNative,
  },
  { ...common, entryPoints: ['webview/main.ts'], outfile: `${outdir}/webview.js`, platform: 'browser', format: 'iife', target: 'es2020' },
];

const wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
for (const f of readdirSync(wasmDir).filter((n) => n.endsWith('.wasm'))) copyFileSync(join(wasmDir, f), join(outdir, f));
copyFileSync(require.resolve('web-tree-sitter/web-tree-sitter.wasm'), join(outdir, 'web-tree-sitter.wasm'));
const grammarDir = join(dirname(require.resolve('@vscode/tree-sitter-wasm/package.json')), 'wasm');
for (const g of ['typescript', 'tsx', 'javascript', 'python', 'go', 'rust', 'java', 'c-sharp', 'cpp']) {
  copyFileSync(join(grammarDir, `tree-sitter-${g}.wasm`), join(outdir, `tree-sitter-${g}.wasm`));
}

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
