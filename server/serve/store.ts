// The adapter store: `<storage>/adapters/<id>/` holds a PEFT folder plus codetune.json.
// Ids are generated here and checked against a strict pattern on every request, so a
// request can never name a path outside the store. Imports are staged, validated
// against the base model (an adapter for another base is refused) and renamed in.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../adapters/peft';
import { CodetuneError, fromFsError } from '../errors';
import type { AdapterInfo } from '../protocol';

export const META_FILE = 'codetune.json';
const ID = /^ad-[a-z0-9]{6,16}-[0-9a-f]{8}$/;

type Json = Record<string, unknown>;

function readJson(file: string): Json | null {
  try {
    const v: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
  } catch {
    return null;
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

export class AdapterStore {
  readonly root: string;

  constructor(storagePath: string) {
    this.root = path.join(storagePath, 'adapters');
  }

  newId(): string {
    return `ad-${Date.now().toString(36)}-${crypto.randomBytes(4).toString('hex')}`;
  }

  /** The folder of an existing adapter; NOT_FOUND for an unknown or malformed id. */
  dir(id: string): string {
    const d = path.join(this.root, typeof id === 'string' ? id : '');
    if (typeof id !== 'string' || !ID.test(id) || !fs.existsSync(path.join(d, ADAPTER_CONFIG))) {
      throw new CodetuneError('NOT_FOUND', `no adapter with id ${JSON.stringify(id)} in the store; list the adapters to see their ids`);
    }
    return d;
  }

  info(id: string): AdapterInfo {
    const d = this.dir(id);
    const meta = readJson(path.join(d, META_FILE)) ?? {};
    const cfg = readJson(path.join(d, ADAPTER_CONFIG)) ?? {};
    let size = 0;
    let mtime = 0;
    for (const f of fs.readdirSync(d)) {
      const st = fs.statSync(path.join(d, f));
      size += st.isFile() ? st.size : 0;
      mtime = Math.max(mtime, st.mtimeMs);
    }
    // codetune.json from the trainer: repo {path, remote, commit}, baseModel {path, hash}.
    const repoObj = meta.repo && typeof meta.repo === 'object' ? (meta.repo as Json) : {};
    const baseObj = meta.baseModel && typeof meta.baseModel === 'object' ? (meta.baseModel as Json) : {};
    const repo = str(meta.repo) ?? str(repoObj.remote) ?? str(repoObj.path);
    const metrics = meta.metrics && typeof meta.metrics === 'object' ? (meta.metrics as Record<string, unknown>) : null;
    return {
      id,
      name: str(meta.name) ?? id,
      repo,
      commit: str(meta.commit) ?? str(repoObj.commit),
      created: str(meta.created) ?? str(meta.createdAt) ?? new Date(mtime).toISOString(),
      base: str(meta.baseModel) ?? str(baseObj.path) ?? str(meta.base) ?? str(cfg.base_model_name_or_path),
      metrics,
      sizeBytes: size,
    };
  }

  list(): AdapterInfo[] {
    if (!fs.existsSync(this.root)) {
      return [];
    }
    return fs
      .readdirSync(this.root)
      .filter((id) => ID.test(id) && fs.existsSync(path.join(this.root, id, ADAPTER_CONFIG)))
      .map((id) => this.info(id))
      .sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
  }

  /**
   * Copy a PEFT folder into the store under a new id. `validate` gets the staged folder
   * and throws to refuse it (e.g. ADAPTER_MISMATCH); nothing is left behind then.
   */
  import(src: string, opts: { name?: string; meta?: Json; validate: (dir: string) => void }): AdapterInfo {
    const from = path.resolve(src);
    for (const f of [ADAPTER_CONFIG, ADAPTER_WEIGHTS]) {
      if (!fs.existsSync(path.join(from, f))) {
        throw new CodetuneError('ADAPTER_INVALID', `${from}: no ${f}; import a PEFT adapter folder (adapter_config.json + adapter_model.safetensors)`, { file: path.join(from, f) });
      }
    }
    const id = this.newId();
    const staged = path.join(this.root, `.staged-${id}`);
    try {
      fs.mkdirSync(staged, { recursive: true });
      for (const f of [ADAPTER_CONFIG, ADAPTER_WEIGHTS]) {
        fs.copyFileSync(path.join(from, f), path.join(staged, f));
      }
      const meta = { ...(readJson(path.join(from, META_FILE)) ?? {}), ...opts.meta };
      meta.name = opts.name ?? str(meta.name) ?? path.basename(from);
      meta.created = str(meta.created) ?? new Date().toISOString();
      meta.importedFrom = meta.importedFrom ?? from;
      fs.writeFileSync(path.join(staged, META_FILE), JSON.stringify(meta, null, 2) + '\n');
    } catch (e) {
      fs.rmSync(staged, { recursive: true, force: true });
      throw fromFsError(e, from);
    }
    try {
      opts.validate(staged);
      fs.renameSync(staged, path.join(this.root, id));
    } catch (e) {
      fs.rmSync(staged, { recursive: true, force: true });
      throw e;
    }
    return this.info(id);
  }

  /** Copy an adapter out as a PEFT folder (plus codetune.json). */
  export(id: string, dest: string): string {
    const d = this.dir(id);
    const to = path.resolve(dest);
    if (fs.existsSync(to) && (!fs.statSync(to).isDirectory() || fs.readdirSync(to).length > 0)) {
      throw new CodetuneError('USAGE', `${to} exists and is not an empty folder; choose a new folder to export to`);
    }
    try {
      fs.mkdirSync(to, { recursive: true });
      for (const f of fs.readdirSync(d)) {
        fs.copyFileSync(path.join(d, f), path.join(to, f));
      }
    } catch (e) {
      throw fromFsError(e, to);
    }
    return to;
  }

  delete(id: string): void {
    const d = this.dir(id);
    try {
      fs.rmSync(d, { recursive: true, force: true });
    } catch (e) {
      throw fromFsError(e, d);
    }
  }
}
