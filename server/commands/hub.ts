// Hub commands: `codetune download ID[@REV]` fetches a model into the Hugging Face
// cache; `codetune models` lists what the cache holds and whether Codetune can load it.
import { parseArgs } from 'node:util';
import { hubSettings } from '../hub/cache';
import { downloadModel } from '../hub/download';
import { listCachedModels } from '../hub/models';
import { formatBytes, formatProgress, type DownloadProgress } from '../hub/progress';
import { parseModelRef } from '../hub/ref';
import { parseNumber, printJson, usageError, whileInterruptible, type Command } from './args';

const DOWNLOAD_USAGE = 'codetune download ID[@REV] [--endpoint URL] [--cache DIR] [--concurrency N] [--json]';

export const download: Command = {
  usage: DOWNLOAD_USAGE,
  summary: [
    'Download a model from the Hugging Face hub into its cache (the layout Python tools share): config.json first,',
    'then tokenizer files and *.safetensors weights, never pickled *.bin. Resumes interrupted downloads and checks',
    'every file against the hub\'s hash. Progress goes to stderr, the snapshot folder to stdout. With --json, stdout',
    'gets one JSON object per progress event ({"event":"progress",...}) and a last {"event":"done","snapshot",...}.',
    'Environment: HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE / HF_HOME, HF_HUB_OFFLINE=1 (cache only).',
  ].join('\n'),
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: { endpoint: { type: 'string' }, cache: { type: 'string' }, concurrency: { type: 'string' }, json: { type: 'boolean' } },
        strict: true,
        allowPositionals: true,
      });
    } catch (e) {
      throw usageError((e as Error).message, DOWNLOAD_USAGE);
    }
    const { values: f, positionals } = parsed;
    if (positionals.length !== 1) {
      throw usageError(positionals.length === 0 ? 'missing model id' : `expected one model id, got ${positionals.length}`, DOWNLOAD_USAGE);
    }
    const ref = parseModelRef(positionals[0]);
    if (ref.kind !== 'hub') {
      throw usageError(`"${positionals[0]}" is a local folder, not a hub id`, DOWNLOAD_USAGE);
    }
    const concurrency = parseNumber(f.concurrency, 'concurrency', DOWNLOAD_USAGE, { min: 1, max: 16, integer: true, fallback: 4 });
    const settings = hubSettings({ endpoint: f.endpoint, cacheDir: f.cache });
    const json = f.json === true;
    const onProgress = (p: DownloadProgress): void => {
      if (json) {
        printJson({ event: 'progress', ...p });
      } else {
        process.stderr.write(`${formatProgress(p)}\n`);
      }
    };
    // Ctrl-C / SIGTERM cancel cleanly; the partial file stays and the next run resumes it.
    const abort = new AbortController();
    await whileInterruptible(() => abort.abort(), async () => {
      const r = await downloadModel({ repo: ref.repo, revision: ref.revision, settings, signal: abort.signal, onProgress, concurrency, progressIntervalMs: 1000 });
      if (json) {
        printJson({ event: 'done', repo: r.repo, revision: r.revision, commit: r.commit, snapshot: r.snapshot, files: r.files, fetched: r.fetched, from_cache: r.fromCache });
      } else {
        process.stderr.write(`${r.repo}@${r.revision} -> ${r.commit}: ${r.fromCache ? 'already in the cache' : `fetched ${formatBytes(r.fetched)}`}\n`);
        process.stdout.write(`${r.snapshot}\n`);
      }
    });
  },
};

const MODELS_USAGE = 'codetune models [--cache DIR] [--json]';

export const models: Command = {
  usage: MODELS_USAGE,
  summary: 'List the models in the Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub) with size, architecture and whether Codetune supports them.',
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: { cache: { type: 'string' }, json: { type: 'boolean' } }, strict: true, allowPositionals: false });
    } catch (e) {
      throw usageError((e as Error).message, MODELS_USAGE);
    }
    const f = parsed.values;
    const cacheDir = hubSettings({ cacheDir: f.cache }).cacheDir;
    const list = listCachedModels(cacheDir);
    if (f.json) {
      printJson({ cache: cacheDir, models: list });
      return;
    }
    if (list.length === 0) {
      process.stdout.write(`no models in ${cacheDir}\n`);
      return;
    }
    const rows = list.map((m) => [
      m.id + (m.refs.length > 0 ? `@${m.refs.join(',')}` : ''),
      m.commit.slice(0, 10),
      formatBytes(m.sizeBytes),
      m.architecture ?? '?',
      m.supported ? 'yes' : `no: ${m.reason ?? ''}`,
    ]);
    const head = ['MODEL', 'COMMIT', 'SIZE', 'ARCHITECTURE', 'SUPPORTED'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
    process.stdout.write(`${cacheDir}\n${[head, ...rows].map(line).join('\n')}\n`);
  },
};

