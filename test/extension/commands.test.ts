// Command enablement (what each command needs, and the reason it gives when it
// cannot run), and the manifest: commands, activation events, workspace trust.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { COMMANDS, UNTRUSTED_REASON, check, type CommandEnv } from '../../extension/commandTable';
import { DEFAULT_LANGUAGES } from '../../extension/config';

const manifest = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as {
  activationEvents: string[];
  contributes: { commands: Array<{ command: string; title: string; category: string }> };
  capabilities: { untrustedWorkspaces: { supported: string; description: string; restrictedConfigurations?: string[] } };
};

const ok: CommandEnv = { enabled: true, server: 'running', serverError: null, trusted: true, folders: 1, training: false };
const spec = (id: string) => {
  const s = COMMANDS.find((c) => c.id === id);
  assert.ok(s, id);
  return s;
};

function expect(id: string, env: Partial<CommandEnv>, reason: RegExp | null): void {
  const r = check(spec(id), { ...ok, ...env });
  if (reason === null) {
    assert.deepEqual(r, { ok: true }, `${id} ${JSON.stringify(env)}`);
  } else {
    assert.equal(r.ok, false, `${id} ${JSON.stringify(env)} should be refused`);
    assert.match(r.ok ? '' : r.reason, reason);
  }
}

describe('command enablement', () => {
  it('lets commands run when what they need is there', () => {
    for (const c of COMMANDS) {
      expect(c.id, c.id === 'codetune.cancelTraining' ? { training: true } : {}, null);
    }
  });

  it('says why a command cannot run', () => {
    expect('codetune.train', { trusted: false }, /untrusted workspace/);
    expect('codetune.train', { server: 'stopped', serverError: 'exit code 1' }, /not running \(exit code 1\).*Restart server/);
    expect('codetune.train', { server: 'starting' }, /still starting/);
    expect('codetune.train', { enabled: false }, /turned off/);
    expect('codetune.train', { folders: 0 }, /Open a folder/);
    expect('codetune.train', { training: true }, /already running/);
    expect('codetune.cancelTraining', {}, /No training is running/);
    expect('codetune.chooseAdapters', { server: 'stopped', serverError: null }, /not running\. Run/);
    expect('codetune.deleteAdapter', { enabled: false }, /codetune\.enable/);
  });

  it('keeps commands that need no server usable while it is down, and in untrusted workspaces', () => {
    const down: Partial<CommandEnv> = { server: 'stopped', trusted: false, enabled: false, folders: 0 };
    for (const id of ['codetune.showLogs', 'codetune.restartServer', 'codetune.showDashboard', 'codetune.selectBaseModel', 'codetune.gpuBackend']) {
      expect(id, down, null);
    }
    // Only training needs trust: switching adapters works in an untrusted workspace.
    expect('codetune.chooseAdapters', { trusted: false }, null);
    assert.deepEqual(COMMANDS.filter((c) => 'trust' in c.needs).map((c) => c.id), ['codetune.train']);
    assert.match(UNTRUSTED_REASON, /Trust the workspace/);
  });
});

describe('manifest commands and activation', () => {
  it('contributes every command of the table, in the Codetune category', () => {
    assert.deepEqual(manifest.contributes.commands.map((c) => [c.command, c.title, c.category]), COMMANDS.map((c) => [c.id, c.title, 'Codetune']));
  });

  it('activates on its commands and languages only, never on *', () => {
    const ev = manifest.activationEvents;
    assert.ok(!ev.includes('*') && !ev.includes('onStartupFinished'));
    for (const c of COMMANDS) {
      assert.ok(ev.includes(`onCommand:${c.id}`), c.id);
    }
    for (const l of DEFAULT_LANGUAGES) {
      assert.ok(ev.includes(`onLanguage:${l}`), l);
    }
    assert.deepEqual(ev.filter((e) => !/^onCommand:codetune\.|^onLanguage:|^onWebviewPanel:codetune\.dashboard$/.test(e)), []);
  });

  it('declares limited support for untrusted workspaces', () => {
    const u = manifest.capabilities.untrustedWorkspaces;
    assert.equal(u.supported, 'limited');
    assert.match(u.description, /training is off/i);
    assert.ok(u.restrictedConfigurations?.includes('codetune.baseModel'));
  });
});
