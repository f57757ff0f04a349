// A Hugging Face hub stand-in for tests. Listens on 127.0.0.1 only (port 0) and
// answers the parts of the hub API Codetune uses: model info, the file tree,
// paths-info, and /{id}/resolve/{rev}/{file} with ETag, X-Repo-Commit,
// Content-Length and Range. LFS files are redirected to a "CDN" path on the same
// server, as the real hub does. Counts every byte it serves, and can cut a
// transfer mid-file or corrupt it.
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MockRepoSpec {
  id: string;
  files: Record<string, Uint8Array>;
  /** Needs `Authorization: Bearer <hub.token>` to download files. */
  gated?: boolean;
  /** Branch name -> commit; default { main: <derived commit> }. */
  refs?: Record<string, string>;
}

interface MockFile {
  path: string;
  data: Buffer;
  lfs: boolean;
  sha256: string;
  gitOid: string;
}

interface MockRepo {
  id: string;
  commit: string;
  gated: boolean;
  refs: Record<string, string>;
  files: Map<string, MockFile>;
}

export interface RequestLog {
  method: string;
  path: string;
  range?: string;
  auth?: string;
  status: number;
}

const isLfs = (name: string): boolean => /\.(safetensors|bin|pt|pth|onnx)$/.test(name);

export function gitBlobId(data: Uint8Array): string {
  return createHash('sha1').update(`blob ${data.byteLength}\0`).update(data).digest('hex');
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export class MockHub {
  readonly requests: RequestLog[] = [];
  /** Token accepted for gated repos. */
  token = 'hf_mock_token';
  private readonly repos = new Map<string, MockRepo>();
  private readonly served = new Map<string, number>();
  private readonly cuts = new Map<string, number>();
  private readonly corrupted = new Set<string>();
  private inFlight = 0;
  /** Most file transfers that were open at once. */
  maxInFlight = 0;
  /** Answer an unknown repo with 401 + RepoNotFound, as the real hub does without a token. */
  missingAs401 = false;
  /** Milliseconds each file transfer waits before sending its body. */
  latencyMs = 0;

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<MockHub> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const hub = new MockHub(server, `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => hub.handle(req, res));
    return hub;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  addRepo(spec: MockRepoSpec): { commit: string } {
    const files = new Map<string, MockFile>();
    const h = createHash('sha1').update(spec.id);
    for (const [p, d] of Object.entries(spec.files)) {
      const data = Buffer.from(d);
      files.set(p, { path: p, data, lfs: isLfs(p), sha256: sha256(data), gitOid: gitBlobId(data) });
      h.update(p).update(data);
    }
    const commit = h.digest('hex');
    this.repos.set(spec.id, { id: spec.id, commit, gated: spec.gated ?? false, refs: spec.refs ?? { main: commit }, files });
    return { commit };
  }

  /** Bytes of file contents served for `repo/file` so far. */
  bytesServed(repo: string, file: string): number {
    return this.served.get(`${repo}/${file}`) ?? 0;
  }

  /** The next download of this file sends `bytes` bytes, then drops the connection. */
  cutAfter(repo: string, file: string, bytes: number): void {
    this.cuts.set(`${repo}/${file}`, bytes);
  }

  /** Every download of this file has one byte flipped (the listed hash stays the original's). */
  corrupt(repo: string, file: string): void {
    this.corrupted.add(`${repo}/${file}`);
  }

  private send(req: http.IncomingMessage, res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(req.method === 'HEAD' ? undefined : text);
  }

  private error(req: http.IncomingMessage, res: http.ServerResponse, status: number, code: string, message: string): void {
    this.send(req, res, status, { error: message }, { 'x-error-code': code, 'x-error-message': message });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    res.on('finish', () => this.log(req, url, res.statusCode));
    res.on('close', () => {
      if (!res.writableFinished) {
        this.log(req, url, res.statusCode);
      }
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => this.route(req, res, url, Buffer.concat(chunks).toString('utf8')));
  }

  private log(req: http.IncomingMessage, url: URL, status: number): void {
    this.requests.push({ method: req.method ?? '', path: url.pathname, range: req.headers.range, auth: req.headers.authorization, status });
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: string): void {
    const p = decodeURIComponent(url.pathname);
    let m = /^\/api\/models\/(.+?)\/(revision|tree|paths-info)\/([^/]+)(?:\/(.*))?$/.exec(p);
    if (m) {
      const repo = this.repos.get(m[1]);
      if (!repo) {
        return this.error(req, res, this.missingAs401 ? 401 : 404, 'RepoNotFound', 'Repository not found');
      }
      const commit = repo.refs[m[3]] ?? (m[3] === repo.commit ? repo.commit : undefined);
      if (!commit) {
        return this.error(req, res, 404, 'RevisionNotFound', 'Invalid rev id');
      }
      if (m[2] === 'revision') {
        return this.send(req, res, 200, {
          _id: `id-${repo.id}`,
          id: repo.id,
          sha: repo.commit,
          private: false,
          gated: repo.gated ? 'auto' : false,
          downloads: 0,
          likes: 0,
          lastModified: '2026-11-30T00:00:00.000Z',
          siblings: [...repo.files.keys()].map((rfilename) => ({ rfilename })),
        });
      }
      if (m[2] === 'tree') {
        const recursive = url.searchParams.get('recursive') === 'true';
        return this.send(req, res, 200, this.tree(repo, recursive));
      }
      const wanted = new Set((JSON.parse(body || '{}') as { paths?: string[] }).paths ?? []);
      return this.send(req, res, 200, this.tree(repo, true).filter((e) => wanted.has(e.path as string)).map((e) => ({ ...e, lastCommit: { id: repo.commit, title: 'mock', date: '2026-11-30T00:00:00.000Z' } })));
    }
    m = /^\/_cdn\/(.+?)\/([0-9a-f]{64})$/.exec(p);
    if (m && (req.method === 'GET' || req.method === 'HEAD')) {
      const repo = this.repos.get(m[1]);
      const file = repo && [...repo.files.values()].find((f) => f.sha256 === m?.[2]);
      return file ? this.serveFile(req, res, repo.id, file, repo.commit) : this.error(req, res, 404, 'EntryNotFound', 'Entry not found');
    }
    m = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(p);
    if (m && (req.method === 'GET' || req.method === 'HEAD')) {
      const repo = this.repos.get(m[1]);
      if (!repo) {
        return this.error(req, res, 404, 'RepoNotFound', 'Repository not found');
      }
      const commit = repo.refs[m[2]] ?? (m[2] === repo.commit ? repo.commit : undefined);
      if (!commit) {
        return this.error(req, res, 404, 'RevisionNotFound', 'Invalid rev id');
      }
      if (repo.gated && req.headers.authorization !== `Bearer ${this.token}`) {
        const status = req.headers.authorization ? 403 : 401;
        return this.error(req, res, status, 'GatedRepo', 'Access to model is restricted. You must have access to it and be authenticated.');
      }
      const file = repo.files.get(m[3]);
      if (!file) {
        return this.error(req, res, 404, 'EntryNotFound', 'Entry not found');
      }
      const common = { 'x-repo-commit': commit, etag: `"${file.lfs ? file.sha256 : file.gitOid}"` };
      if (file.lfs) {
        res.writeHead(302, { ...common, 'x-linked-etag': `"${file.sha256}"`, 'x-linked-size': String(file.data.byteLength), location: `/_cdn/${repo.id}/${file.sha256}`, 'content-length': 0 });
        return void res.end();
      }
      return this.serveFile(req, res, repo.id, file, commit);
    }
    return this.error(req, res, 404, 'NotFound', `mock hub has no route for ${req.method} ${p}`);
  }

  private tree(repo: MockRepo, recursive: boolean): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    const dirs = new Set<string>();
    for (const f of repo.files.values()) {
      const slash = f.path.indexOf('/');
      if (!recursive && slash >= 0) {
        dirs.add(f.path.slice(0, slash));
        continue;
      }
      const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${f.sha256}\nsize ${f.data.byteLength}\n`;
      out.push(
        f.lfs
          ? { type: 'file', path: f.path, size: f.data.byteLength, oid: gitBlobId(Buffer.from(pointer)), lfs: { oid: f.sha256, size: f.data.byteLength, pointerSize: pointer.length } }
          : { type: 'file', path: f.path, size: f.data.byteLength, oid: f.gitOid },
      );
    }
    for (const d of dirs) {
      out.push({ type: 'directory', path: d, size: 0, oid: gitBlobId(Buffer.from(d)) });
    }
    return out;
  }

  private serveFile(req: http.IncomingMessage, res: http.ServerResponse, repo: string, file: MockFile, commit: string): void {
    const key = `${repo}/${file.path}`;
    const total = file.data.byteLength;
    let start = 0;
    let end = total - 1;
    let status = 200;
    const range = req.headers.range;
    if (range) {
      const r = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (!r || Number(r[1]) >= total) {
        res.writeHead(416, { 'content-range': `bytes */${total}` });
        return void res.end();
      }
      start = Number(r[1]);
      end = r[2] ? Math.min(Number(r[2]), total - 1) : total - 1;
      status = 206;
    }
    let body = file.data.subarray(start, end + 1);
    if (this.corrupted.has(key) && body.byteLength > 0) {
      body = Buffer.from(body);
      body[body.byteLength >> 1] ^= 0xff;
    }
    res.writeHead(status, {
      'content-type': 'application/octet-stream',
      'content-length': body.byteLength,
      'accept-ranges': 'bytes',
      'x-repo-commit': commit,
      etag: `"${file.lfs ? file.sha256 : file.gitOid}"`,
      ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${total}` } : {}),
    });
    if (req.method === 'HEAD') {
      return void res.end();
    }
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.on('close', () => {
      this.inFlight -= 1;
    });
    if (this.latencyMs > 0) {
      setTimeout(() => this.sendBody(res, key, body), this.latencyMs);
    } else {
      this.sendBody(res, key, body);
    }
  }

  private sendBody(res: http.ServerResponse, key: string, body: Buffer): void {
    const cut = this.cuts.get(key);
    if (cut !== undefined) {
      this.cuts.delete(key);
      const part = body.subarray(0, cut);
      this.served.set(key, (this.served.get(key) ?? 0) + part.byteLength);
      res.write(part, () => res.socket?.destroy());
      return;
    }
    this.served.set(key, (this.served.get(key) ?? 0) + body.byteLength);
    res.end(body);
  }
}
