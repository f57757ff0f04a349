// Packaging for the e2e tests: the Codetune .vsix (as `npm run package` makes it,
// but built in a temp dir so the shared dist/ is never rewritten under other tests),
// the harness's fixture extension, and a reader for a .vsix's file list.
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { runChecked } from './process';
import { REPO_ROOT } from './setup';

const OUT = join(REPO_ROOT, '.cache/e2e');
const VSCE = join(REPO_ROOT, 'node_modules/.bin/vsce');
/** What the Codetune .vsix is made from: when none is newer than the .vsix, it is reused. */
const INPUTS = ['extension', 'server', 'webview', 'bin', 'scripts/build.mjs', 'package.json', 'package-lock.json', '.vscodeignore', 'LICENSE'];

let codetune: Promise<string> | undefined;

/**
 * Path of codetune-<version>.vsix: $CODETUNE_VSIX if set, else .cache/e2e/codetune-<version>.vsix,
 * rebuilt (production build + vsce, --no-dependencies) only when an input changed since.
 */
export function codetuneVsix(): Promise<string> {
  codetune ??= (async () => {
    if (process.env.CODETUNE_VSIX) {
      return process.env.CODETUNE_VSIX;
    }
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
    const target = join(OUT, `${pkg.name}-${pkg.version}.vsix`);
    if (existsSync(target) && newestMtime(INPUTS.map((p) => join(REPO_ROOT, p))) < statSync(target).mtimeMs) {
      return target;
    }
    const stage = mkdtempSync(join(tmpdir(), 'codetune-vsix-'));
    try {
      await runChecked(process.execPath, ['scripts/build.mjs', '--production', `--outdir=${join(stage, 'dist')}`]);
      for (const f of ['package.json', 'LICENSE', '.vscodeignore', 'README.md', 'CHANGELOG.md']) {
        if (existsSync(join(REPO_ROOT, f))) {
          copyFileSync(join(REPO_ROOT, f), join(stage, f));
        }
      }
      cpSync(join(REPO_ROOT, 'bin'), join(stage, 'bin'), { recursive: true });
      await pack(stage, target, []);
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
    return target;
  })();
  return codetune;
}

/**
 * The harness's own fixture extension (test/e2e/fixture-ext): a notification, a
 * status bar item and multi-line inline completions, to prove the helpers on a
 * known extension. Returns the path of its .vsix.
 */
export async function fixtureVsix(): Promise<string> {
  const src = join(REPO_ROOT, 'test/e2e/fixture-ext');
  const target = join(OUT, 'codetune-e2e-fixture.vsix');
  if (existsSync(target) && newestMtime([src]) < statSync(target).mtimeMs) {
    return target;
  }
  const stage = mkdtempSync(join(tmpdir(), 'codetune-fixture-'));
  try {
    cpSync(src, stage, { recursive: true });
    await pack(stage, target, ['--skip-license']);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return target;
}

async function pack(dir: string, target: string, extra: string[]): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  await runChecked(VSCE, ['package', '--no-dependencies', '--allow-missing-repository', ...extra, '--out', tmp], { cwd: dir });
  renameSync(tmp, target); // atomic: a concurrent reader never sees half a file
}

function newestMtime(paths: string[]): number {
  let newest = 0;
  for (const p of paths) {
    if (!existsSync(p)) {
      continue;
    }
    const st = statSync(p);
    newest = Math.max(newest, st.mtimeMs);
    if (st.isDirectory()) {
      newest = Math.max(newest, newestMtime(readdirSync(p).map((n) => join(p, n))));
    }
  }
  return newest;
}

interface ZipEntry { name: string; method: number; compressedSize: number; localHeader: number }

/** Entries of a zip file (a .vsix), from its central directory. */
function zipEntries(buf: Buffer, file: string): ZipEntry[] {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65_557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    throw new Error(`${file}: not a zip file`);
  }
  const entries: ZipEntry[] = [];
  let at = buf.readUInt32LE(eocd + 16);
  for (let n = buf.readUInt16LE(eocd + 10); n > 0; n--) {
    if (buf.readUInt32LE(at) !== 0x02014b50) {
      throw new Error(`${file}: bad central directory`);
    }
    const nameLen = buf.readUInt16LE(at + 28);
    entries.push({
      name: buf.toString('utf8', at + 46, at + 46 + nameLen),
      method: buf.readUInt16LE(at + 10),
      compressedSize: buf.readUInt32LE(at + 20),
      localHeader: buf.readUInt32LE(at + 42),
    });
    at += 46 + nameLen + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
  }
  return entries;
}

/** Names of the files in a zip file (a .vsix). */
export function listZip(file: string): string[] {
  return zipEntries(readFileSync(file), file).map((e) => e.name);
}

/** Contents of one file in a zip file (stored or deflated). */
export function readZipEntry(file: string, name: string): Buffer {
  const buf = readFileSync(file);
  const entry = zipEntries(buf, file).find((e) => e.name === name);
  if (!entry) {
    throw new Error(`${file}: no ${name}`);
  }
  const h = entry.localHeader;
  const start = h + 30 + buf.readUInt16LE(h + 26) + buf.readUInt16LE(h + 28);
  const data = buf.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) {
    return data;
  }
  if (entry.method === 8) {
    return inflateRawSync(data);
  }
  throw new Error(`${file}: ${name} uses compression method ${entry.method}`);
}
