// The active adapter set of each workspace folder, kept in `workspaceState` so it
// survives a window reload. The extension sends it to the server on start and on
// every change. No `vscode` import: the storage is a Memento-shaped interface.
import type { ActiveAdapter } from '../server/protocol';

/** The part of vscode.Memento this store uses. */
export interface MementoLike {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void> | Promise<void>;
}

export const STATE_KEY = 'codetune.activeAdapters';
/** Weights outside this range are refused: a delta scaled ×10 is not a use anyone means. */
export const MAX_WEIGHT = 10;

const ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Drop malformed entries and duplicates (the first wins); keep the order. */
export function normalise(list: unknown): ActiveAdapter[] {
  if (!Array.isArray(list)) {
    return [];
  }
  const seen = new Set<string>();
  const out: ActiveAdapter[] = [];
  for (const x of list) {
    if (!x || typeof x !== 'object') {
      continue;
    }
    const { id, weight } = x as { id?: unknown; weight?: unknown };
    if (typeof id !== 'string' || !ID.test(id) || seen.has(id)) {
      continue;
    }
    const w = typeof weight === 'number' && Number.isFinite(weight) && Math.abs(weight) <= MAX_WEIGHT ? weight : 1;
    seen.add(id);
    out.push({ id, weight: w });
  }
  return out;
}

/** Parse a weight typed by a user; null when it is not a number in [-MAX_WEIGHT, MAX_WEIGHT]. */
export function parseWeight(text: string): number | null {
  const t = text.trim();
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) {
    return null;
  }
  const w = Number(t);
  return Number.isFinite(w) && Math.abs(w) <= MAX_WEIGHT ? w : null;
}

export class AdapterSetStore {
  constructor(private readonly memento: MementoLike) {}

  private all(): Record<string, ActiveAdapter[]> {
    const v = this.memento.get<unknown>(STATE_KEY);
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      return {};
    }
    const out: Record<string, ActiveAdapter[]> = {};
    for (const [folder, list] of Object.entries(v as Record<string, unknown>)) {
      out[folder] = normalise(list);
    }
    return out;
  }

  /** Folder URIs with a stored set (empty sets included: "base model only" is a choice). */
  folders(): string[] {
    return Object.keys(this.all());
  }

  get(folder: string): ActiveAdapter[] {
    return this.all()[folder] ?? [];
  }

  async set(folder: string, list: ActiveAdapter[]): Promise<ActiveAdapter[]> {
    const all = this.all();
    all[folder] = normalise(list);
    await this.memento.update(STATE_KEY, all);
    return all[folder];
  }

  /** Turn one adapter on (weight 1, appended) or off. */
  async toggle(folder: string, id: string, on: boolean): Promise<ActiveAdapter[]> {
    const cur = this.get(folder).filter((a) => a.id !== id);
    return this.set(folder, on ? [...cur, { id, weight: 1 }] : cur);
  }

  /**
   * Turn a freshly trained adapter on: it replaces adapters trained on the same repo
   * (`sameRepo` lists their ids), and stays alongside any others.
   */
  async activateNew(folder: string, id: string, sameRepo: string[]): Promise<ActiveAdapter[]> {
    const drop = new Set([id, ...sameRepo]);
    return this.set(folder, [...this.get(folder).filter((a) => !drop.has(a.id)), { id, weight: 1 }]);
  }

  /** Remove ids the store no longer has (deleted adapters) from every folder; returns the folders that changed. */
  async prune(existing: Iterable<string>): Promise<string[]> {
    const keep = new Set(existing);
    const all = this.all();
    const changed: string[] = [];
    for (const [folder, list] of Object.entries(all)) {
      const next = list.filter((a) => keep.has(a.id));
      if (next.length !== list.length) {
        all[folder] = next;
        changed.push(folder);
      }
    }
    if (changed.length > 0) {
      await this.memento.update(STATE_KEY, all);
    }
    return changed;
  }
}
