// The end of a build: which files are kept, duplicates, the examples and their counts.
// A rebuild in the same process in which only a few kept files changed (the language
// server's training thread after an edit) patches the last build's result instead:
// copies of its arrays with the changed files' entries replaced, and counts adjusted,
// so its cost does not grow with the repo. Anything else it cannot patch exactly (a
// file kept or dropped, a duplicate appearing, a count reaching zero, HEAD moving)
// makes the whole tail again. Both give the same result (tested against full builds).
import type { DatasetStats, Example, FileRecord, SkipReason } from './types';
import { EXAMPLE_TYPES } from './types';
import type { FileJob } from './process';
import { type Duplicates, findDuplicates, hasDuplicate } from './dedup';
import { addCounts } from './secrets';

/** One tracked file in a run: skipped (with why), its record, or the job that makes it. */
export interface Slot {
  path: string;
  blob: string;
  skip?: SkipReason;
  /** The cache key of its record. */
  key?: string;
  rec?: FileRecord;
  job?: FileJob;
}

export type KeptSlot = Slot & { rec: FileRecord };

/** A file's examples as the build uses them (see buildDataset's examplesOf). */
export interface FileExamples {
  split: 'train' | 'val';
  examples: Example[];
}

/** A kept file's examples at the given recency reference (newest commit time of the kept files). */
export type ExamplesFor = (k: KeptSlot, newest: number) => FileExamples;

export interface Tail {
  kept: KeptSlot[];
  /** kept[i].rec, for dedup. */
  recs: FileRecord[];
  /** Each slot's index in `kept` (-1: not kept). */
  keptAt: Int32Array;
  skipped: Record<string, number>;
  submodules: number;
  bytesSeen: number;
  bytesKept: number;
  secrets: Record<string, number>;
  dup: Duplicates;
  final: KeptSlot[];
  /** Each kept file's index in `final` (-1: dropped as a duplicate). */
  finalAt: Int32Array;
  times: Map<string, number>;
  newest: number;
  examples: Example[];
  /** Where each final file's examples start in `examples`; one more entry, the end. */
  exStart: Int32Array;
  trainFiles: number;
  parsers: DatasetStats['parsers'];
  byType: DatasetStats['examples']['byType'];
  byLanguage: Record<string, number>;
  valCount: number;
  valPairs: Example[];
}

const isValPair = (e: Example): boolean => e.split === 'val' && e.type === 'pair';

/**
 * The tail from scratch. `dedup` finds the duplicates among the kept files, given
 * with their records (it may reuse the last run's answer).
 */
export function fullTail(slots: Slot[], times: Map<string, number>, dedup: (kept: KeptSlot[], recs: FileRecord[]) => Duplicates, examplesFor: ExamplesFor): Tail {
  const kept: KeptSlot[] = [];
  const keptAt = new Int32Array(slots.length).fill(-1);
  const skipped: Record<string, number> = {};
  const secrets: Record<string, number> = {};
  let submodules = 0;
  let bytesSeen = 0;
  slots.forEach((e, i) => {
    const reason = e.skip ?? e.rec!.skip;
    if (!e.skip) {
      bytesSeen += e.rec!.bytes ?? 0;
    }
    if (reason) {
      submodules += reason === 'submodule' ? 1 : 0;
      skipped[reason] = (skipped[reason] ?? 0) + 1;
      return;
    }
    addCounts(secrets, e.rec!.secrets);
    keptAt[i] = kept.length;
    kept.push(e as KeptSlot);
  });
  const recs = kept.map((k) => k.rec);
  const dup = dedup(kept, recs);
  const final: KeptSlot[] = [];
  const finalAt = new Int32Array(kept.length).fill(-1);
  let newest = 0;
  let bytesKept = 0;
  kept.forEach((k, i) => {
    if (!dup.exact.has(i) && !dup.near.has(i)) {
      finalAt[i] = final.length;
      final.push(k);
      newest = Math.max(newest, times.get(k.path) ?? 0);
      bytesKept += k.rec.bytes ?? 0;
    }
  });
  const examples: Example[] = [];
  const exStart = new Int32Array(final.length + 1);
  const parsers: DatasetStats['parsers'] = {};
  let trainFiles = 0;
  final.forEach((k, f) => {
    exStart[f] = examples.length;
    const fx = examplesFor(k, newest);
    trainFiles += fx.split === 'train' ? 1 : 0;
    const lang = k.rec.language ?? 'text';
    if (k.rec.parser && k.rec.parser !== 'none' && parsers[lang] !== 'tree-sitter') {
      parsers[lang] = k.rec.parser;
    } else if (k.rec.parser === 'none' && !parsers[lang]) {
      parsers[lang] = 'none';
    }
    for (const ex of fx.examples) {
      examples.push(ex);
    }
  });
  exStart[final.length] = examples.length;
  const byType = Object.fromEntries(EXAMPLE_TYPES.map((ty) => [ty, 0])) as Tail['byType'];
  const byLanguage: Record<string, number> = {};
  let valCount = 0;
  for (const ex of examples) {
    byType[ex.type]++;
    byLanguage[ex.language] = (byLanguage[ex.language] ?? 0) + 1;
    valCount += ex.split === 'val' ? 1 : 0;
  }
  return { kept, recs, keptAt, skipped, submodules, bytesSeen, bytesKept, secrets, dup, final, finalAt, times, newest, examples, exStart, trainFiles, parsers, byType, byLanguage, valCount, valPairs: examples.filter(isValPair) };
}

/**
 * Whether the last run's duplicates stand after the kept files at `changedAt` (indexes
 * into `recs`, the kept records now) changed: none of them was in a cluster, and none
 * has a duplicate now (its exact hash and LSH band hashes against every other file).
 */
function lastDupStands(last: Tail, recs: FileRecord[], changedAt: number[]): boolean {
  return changedAt.every((i) => !last.dup.clustered.has(i) && !hasDuplicate(recs, i));
}

/**
 * Duplicates among the kept files: the last run's answer when only a few kept files
 * changed and it stands (see lastDupStands), else everything clustered again.
 */
export function dedupKept(kept: KeptSlot[], recs: FileRecord[], last: Tail | null): Duplicates {
  if (last && last.kept.length === kept.length) {
    const changedAt: number[] = [];
    for (let i = 0; i < kept.length && changedAt.length <= 16; i++) {
      if (kept[i] !== last.kept[i]) {
        changedAt.push(i);
      }
    }
    if (changedAt.length <= 16 && changedAt.every((i) => kept[i].path === last.kept[i].path) && lastDupStands(last, recs, changedAt)) {
      return last.dup;
    }
  }
  return findDuplicates(recs);
}

const sameCounts = (a: Record<string, number> | undefined, b: Record<string, number> | undefined): boolean => {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b ?? {}).length && ka.every((k) => a![k] === b?.[k]);
};

/**
 * The last tail patched for `changed` (ascending slot indexes whose slot objects are
 * new; every other slot is the last run's object), or null when that cannot be done
 * exactly. `lastSlots` are the last run's slots. A slot made again with the same record
 * (or skip) as before changes nothing but the object.
 */
export function patchTail(last: Tail, lastSlots: Slot[], slots: Slot[], changed: number[], times: Map<string, number>, examplesFor: ExamplesFor): Tail | null {
  if (times !== last.times || slots.length !== lastSlots.length || changed.length === 0 || changed.length > 16) {
    return null;
  }
  const kept = last.kept.slice();
  const recs = last.recs.slice();
  const final = last.final.slice();
  let bytesSeen = last.bytesSeen;
  let bytesKept = last.bytesKept;
  /** The changed kept files: index in `final`, in `kept`, and the new slot. */
  const edits: Array<{ f: number; ki: number; k: KeptSlot }> = [];
  for (const i of changed) {
    const old = lastSlots[i];
    const k = slots[i];
    const ki = last.keptAt[i];
    if (k.rec === old.rec && k.skip === old.skip) {
      // Read again (a file changed just before the last listing), found as it was.
      if (ki >= 0) {
        kept[ki] = k as KeptSlot;
        if (last.finalAt[ki] >= 0) {
          final[last.finalAt[ki]] = k as KeptSlot;
        }
      }
      continue;
    }
    // Kept before and after, with the same language, parser and secret counts (so the
    // skip, secret and parser tables stand), and not a duplicate then or now.
    if (ki < 0 || k.skip || !k.rec || k.rec.skip || k.rec.language !== old.rec!.language || k.rec.parser !== old.rec!.parser || !sameCounts(k.rec.secrets, old.rec!.secrets)) {
      return null;
    }
    if (last.dup.clustered.has(ki) || last.finalAt[ki] < 0) {
      return null;
    }
    kept[ki] = k as KeptSlot;
    recs[ki] = k.rec;
    final[last.finalAt[ki]] = k as KeptSlot;
    bytesSeen += (k.rec.bytes ?? 0) - (old.rec!.bytes ?? 0);
    bytesKept += (k.rec.bytes ?? 0) - (old.rec!.bytes ?? 0);
    edits.push({ f: last.finalAt[ki], ki, k: k as KeptSlot });
  }
  if (!lastDupStands(last, recs, edits.map((e) => e.ki))) {
    return null;
  }
  // The newest commit time is a maximum over the same paths with the same times: it stands.
  const pieces: Example[][] = [];
  const byType = { ...last.byType };
  const byLanguage = { ...last.byLanguage };
  let valCount = last.valCount;
  let valPairsChanged = false;
  let at = 0;
  const exStart = last.exStart.slice();
  let shift = 0;
  let from = 0; // final index from which exStart still needs the shift
  for (const { f, k } of edits) {
    const before = last.examples.slice(last.exStart[f], last.exStart[f + 1]);
    const fx = examplesFor(k, last.newest);
    if ((before.length === 0) !== (fx.examples.length === 0) || fx.examples.some((ex) => !(ex.language in last.byLanguage))) {
      // A file gaining or losing all its examples can move a language's first
      // appearance, hence the order of the byLanguage table: make it again.
      return null;
    }
    for (let j = from; j <= f; j++) {
      exStart[j] += shift;
    }
    from = f + 1;
    pieces.push(last.examples.slice(at, last.exStart[f]), fx.examples);
    at = last.exStart[f + 1];
    shift += fx.examples.length - before.length;
    for (const [list, sign] of [[before, -1], [fx.examples, 1]] as const) {
      for (const ex of list) {
        byType[ex.type] += sign;
        byLanguage[ex.language] = (byLanguage[ex.language] ?? 0) + sign;
        valCount += ex.split === 'val' ? sign : 0;
        valPairsChanged ||= isValPair(ex);
      }
    }
  }
  for (let j = from; j < exStart.length; j++) {
    exStart[j] += shift;
  }
  pieces.push(last.examples.slice(at));
  if (Object.values(byLanguage).some((n) => n <= 0)) {
    return null; // a language left without examples drops out of the table: make it again
  }
  const examples = ([] as Example[]).concat(...pieces);
  return {
    ...last,
    kept,
    recs,
    bytesSeen,
    bytesKept,
    skipped: { ...last.skipped },
    secrets: { ...last.secrets },
    final,
    examples,
    exStart,
    parsers: { ...last.parsers },
    byType,
    byLanguage,
    valCount,
    valPairs: valPairsChanged ? examples.filter(isValPair) : last.valPairs.slice(),
  };
}
