// Adapters over LSP: a memorising adapter changes the ghost text to the memorised body,
// `setActive []` restores the base answer exactly; list/import/export/delete round-trip;
// an adapter for another base, a corrupt one and unknown ids are refused.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCodes, LSPErrorCodes } from 'vscode-languageserver-protocol';
import { DeleteAdapterRequest, ExportAdapterRequest, ImportAdapterRequest, ListAdaptersRequest, SetActiveAdaptersRequest } from '../../server/protocol';
import { tempDir } from '../helpers';
import { foreignAdapter, memorisingAdapter, randomAdapter } from './fixtures';
import { dataCode, fileUri, responseError, TestServer, tinyModel } from './lsp';

const DOC = '/** Adds two numbers. */\nfunction add(a, b) {\n';
const BODY = '  return a + b;\n}\n';
const AT = { line: 2, character: 0 };

describe('adapters over LSP', () => {
  let server: TestServer;
  let work: string;
  let folder: string;
  let memorised: string;
  let random: string;
  let foreign: string;
  let corrupt: string;

  before(async () => {
    const model = tinyModel();
    work = tempDir('codetune-serve-adapters-');
    folder = path.join(work, 'repo');
    fs.mkdirSync(path.join(folder, 'src'), { recursive: true });
    memorised = (await memorisingAdapter(model, DOC, 'src/math.js', BODY, path.join(work, 'memorised'))).dir;
    random = await randomAdapter(model, path.join(work, 'random'));
    foreign = await foreignAdapter(path.join(work, 'foreign'));
    corrupt = path.join(work, 'corrupt');
    fs.cpSync(random, corrupt, { recursive: true });
    fs.writeFileSync(path.join(corrupt, 'adapter_model.safetensors'), Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 123, 34, 120]));
    server = await TestServer.start({ init: { baseModel: model }, workspaceFolders: [folder] });
  });
  after(async () => {
    await server.stop();
  });

  it('a memorising adapter makes the ghost text the memorised body; setActive [] restores the base answer exactly', async () => {
    const uri = fileUri(path.join(folder, 'src', 'math.js'));
    await server.open(uri, DOC, 'javascript');
    const base = await server.items(uri, AT);
    const info = await server.conn.sendRequest(ImportAdapterRequest, { path: memorised });
    await server.conn.sendRequest(SetActiveAdaptersRequest, { workspaceFolder: fileUri(folder), adapters: [{ id: info.id, weight: 1 }] });
    const tuned = await server.items(uri, AT);
    assert.deepEqual(tuned.map((i) => i.insertText), [BODY.trimEnd()]);
    assert.deepEqual(tuned[0].range, { start: AT, end: AT });
    assert.notDeepEqual(tuned, base, 'the adapter changed the completion');

    await server.conn.sendRequest(SetActiveAdaptersRequest, { workspaceFolder: fileUri(folder), adapters: [] });
    assert.deepEqual(await server.items(uri, AT), base, 'back to the base answer exactly');

    // Switching back hits the merged-weights cache instead of merging again.
    const before = (await server.status()).mergedCache;
    await server.conn.sendRequest(SetActiveAdaptersRequest, { workspaceFolder: fileUri(folder), adapters: [{ id: info.id, weight: 1 }] });
    assert.deepEqual((await server.items(uri, AT)).map((i) => i.insertText), [BODY.trimEnd()]);
    const afterSwitch = (await server.status()).mergedCache;
    assert.equal(afterSwitch.misses, before.misses);
    assert.ok(afterSwitch.hits > before.hits);
    assert.ok(afterSwitch.size <= afterSwitch.capacity);

    // A document outside the folder is served by the base.
    const outside = fileUri(path.join(work, 'elsewhere', 'src', 'math.js'));
    await server.open(outside, DOC, 'javascript');
    assert.deepEqual((await server.status()).activeAdapters[fileUri(folder)], [{ id: info.id, weight: 1 }]);
    assert.notDeepEqual((await server.items(outside, AT)).map((i) => i.insertText), [BODY.trimEnd()]);

    // Deleting the active adapter drops it from the set: the base again.
    await server.conn.sendRequest(DeleteAdapterRequest, { id: info.id });
    assert.deepEqual((await server.status()).activeAdapters[fileUri(folder)], []);
    assert.deepEqual(await server.items(uri, AT), base);
  });

  it('list, import, export and delete round-trip; ids are generated', async () => {
    const a = await server.conn.sendRequest(ImportAdapterRequest, { path: random, name: 'my adapter' });
    assert.match(a.id, /^ad-[a-z0-9]+-[0-9a-f]{8}$/);
    assert.equal(a.name, 'my adapter');
    assert.ok(a.sizeBytes > fs.statSync(path.join(random, 'adapter_model.safetensors')).size);
    assert.ok(!Number.isNaN(Date.parse(a.created)));
    assert.equal(a.base, tinyModel());
    const m = await server.conn.sendRequest(ImportAdapterRequest, { path: memorised });
    assert.equal(m.name, 'memorised');
    assert.equal(m.repo, 'test/repo');
    assert.equal(m.commit, 'abc123');
    assert.ok(m.metrics && typeof m.metrics.steps === 'number');
    const listed = (await server.conn.sendRequest(ListAdaptersRequest, {})).adapters;
    assert.deepEqual(listed.map((x) => x.id).sort(), [a.id, m.id].sort());
    assert.deepEqual(listed.find((x) => x.id === a.id), a);

    const dest = path.join(work, 'exported');
    const out = await server.conn.sendRequest(ExportAdapterRequest, { id: a.id, path: dest });
    assert.equal(out.path, dest);
    for (const f of ['adapter_config.json', 'adapter_model.safetensors']) {
      assert.ok(fs.readFileSync(path.join(dest, f)).equals(fs.readFileSync(path.join(random, f))), `${f} round-trips byte for byte`);
    }
    const again = await server.conn.sendRequest(ImportAdapterRequest, { path: dest });
    assert.notEqual(again.id, a.id);
    assert.equal(again.name, 'my adapter', 'codetune.json travels with the export');

    const exportErr = await responseError(server.conn.sendRequest(ExportAdapterRequest, { id: a.id, path: dest }));
    assert.equal(exportErr.code, ErrorCodes.InvalidParams, 'exporting over a non-empty folder is refused');

    for (const id of [a.id, m.id, again.id]) {
      assert.deepEqual(await server.conn.sendRequest(DeleteAdapterRequest, { id }), { deleted: true });
    }
    assert.deepEqual((await server.conn.sendRequest(ListAdaptersRequest, {})).adapters, []);
    const gone = await responseError(server.conn.sendRequest(DeleteAdapterRequest, { id: a.id }));
    assert.equal(gone.code, ErrorCodes.InvalidParams);
  });

  it('refuses an adapter for another base (naming the tensor), a corrupt adapter and unknown ids; nothing is stored', async () => {
    const checkRefused = async (p: Promise<unknown>, lspCode: number, code: string, message: RegExp) => {
      const e = await responseError(p);
      assert.equal(e.code, lspCode, e.message);
      assert.equal(dataCode(e), code);
      assert.match(e.message, message);
      assert.doesNotMatch(e.message, /^\s+at /m, 'no stack trace');
    };
    await checkRefused(server.conn.sendRequest(ImportAdapterRequest, { path: foreign }), LSPErrorCodes.RequestFailed, 'ADAPTER_MISMATCH', /base_model\.model\.model\.layers\.0\.\w+\.\w+_proj\.lora_[AB]\.weight.*different base/);
    await checkRefused(server.conn.sendRequest(ImportAdapterRequest, { path: corrupt }), LSPErrorCodes.RequestFailed, 'SAFETENSORS_HEADER', /adapter_model\.safetensors/);
    await checkRefused(server.conn.sendRequest(ImportAdapterRequest, { path: path.join(work, 'nope') }), LSPErrorCodes.RequestFailed, 'ADAPTER_INVALID', /no adapter_config\.json/);
    await checkRefused(server.conn.sendRequest(SetActiveAdaptersRequest, { adapters: [{ id: 'ad-nothere-00000000', weight: 1 }] }), ErrorCodes.InvalidParams, 'NOT_FOUND', /no adapter with id/);
    await checkRefused(server.conn.sendRequest(SetActiveAdaptersRequest, { adapters: [{ id: '../../etc', weight: 1 }] }), ErrorCodes.InvalidParams, 'NOT_FOUND', /no adapter with id/);
    await checkRefused(server.conn.sendRequest(ExportAdapterRequest, { id: '..', path: path.join(work, 'x') }), ErrorCodes.InvalidParams, 'NOT_FOUND', /no adapter with id/);
    assert.deepEqual((await server.conn.sendRequest(ListAdaptersRequest, {})).adapters, []);
    const stored = fs.readdirSync(path.join(server.storage, 'adapters'));
    assert.deepEqual(stored, [], 'no staged leftovers');
    assert.ok(server.alive);
  });
});
