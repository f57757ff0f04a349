// Download progress: bytes per file and in total, with rate and ETA. Reports are
// throttled per file; starts, finishes and cache hits are always reported.

export type { DownloadProgress, ProgressState } from '../protocol';
import type { DownloadProgress, ProgressState } from '../protocol';

export class ProgressTracker {
  private bytes = 0;
  private fetched = 0;
  private readonly started = Date.now();
  private readonly perFile = new Map<string, { bytes: number; size: number; last: number }>();

  constructor(
    private total: number,
    private readonly report: ((p: DownloadProgress) => void) | undefined,
    private readonly intervalMs = 500,
  ) {}

  /** The total grows as the plan becomes known (the shard list comes from the index). */
  setTotal(total: number): void {
    this.total = total;
  }

  start(file: string, size: number): void {
    this.perFile.set(file, { bytes: 0, size, last: Date.now() });
    this.emit('start', file);
  }

  /** Bytes already on disk (a resumed partial file). */
  resumed(file: string, n: number): void {
    this.add(file, n, false);
  }

  network(file: string, n: number): void {
    this.add(file, n, true);
    const f = this.perFile.get(file);
    const now = Date.now();
    if (f && now - f.last >= this.intervalMs) {
      f.last = now;
      this.emit('progress', file);
    }
  }

  done(file: string): void {
    this.emit('done', file);
  }

  /** A file that was already in the cache. */
  cached(file: string, size: number): void {
    this.perFile.set(file, { bytes: size, size, last: Date.now() });
    this.bytes += size;
    this.emit('cached', file);
  }

  private add(file: string, n: number, network: boolean): void {
    const f = this.perFile.get(file);
    if (f) {
      f.bytes += n;
    }
    this.bytes += n;
    if (network) {
      this.fetched += n;
    }
  }

  private emit(state: ProgressState, file: string): void {
    if (!this.report) {
      return;
    }
    const f = this.perFile.get(file) ?? { bytes: 0, size: 0 };
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? this.fetched / seconds : 0;
    const left = Math.max(0, this.total - this.bytes);
    this.report({
      state,
      file,
      fileBytes: f.bytes,
      fileSize: f.size,
      bytes: this.bytes,
      total: this.total,
      rate,
      etaSeconds: left === 0 ? 0 : rate > 0 ? left / rate : null,
    });
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatSeconds(s: number | null): string {
  if (s === null || !Number.isFinite(s)) {
    return '?';
  }
  const t = Math.round(s);
  return t >= 3600 ? `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m` : t >= 60 ? `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s` : `${t}s`;
}

/** One human line, e.g. `model.safetensors  12.0 MB/48.0 MB  total 13.1 MB/49.2 MB  5.2 MB/s  ETA 7s`. */
export function formatProgress(p: DownloadProgress): string {
  const tag = p.state === 'cached' ? ' (cached)' : p.state === 'done' ? ' done' : '';
  return `${p.file}${tag}  ${formatBytes(p.fileBytes)}/${formatBytes(p.fileSize)}  total ${formatBytes(p.bytes)}/${formatBytes(p.total)}  ${formatBytes(p.rate)}/s  ETA ${formatSeconds(p.etaSeconds)}`;
}
