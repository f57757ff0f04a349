// Test-only extension for the e2e harness's self-check (never shipped).
// - "Harness Fixture: Notify" shows a notification and changes a status bar item;
// - in plaintext, after a line ending in "ghost:", offers a two-line inline completion.
'use strict';
const vscode = require('vscode');

function activate(context) {
  const item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 100);
  item.text = 'fixture-status idle';
  item.show();
  context.subscriptions.push(
    item,
    vscode.commands.registerCommand('codetuneFixture.notify', () => {
      item.text = 'fixture-status notified';
      void vscode.window.showInformationMessage('fixture notification 42');
    }),
    vscode.languages.registerInlineCompletionItemProvider({ language: 'plaintext' }, {
      provideInlineCompletionItems(document, position) {
        const prefix = document.lineAt(position.line).text.slice(0, position.character);
        if (!prefix.endsWith('ghost:')) {
          return [];
        }
        return [new vscode.InlineCompletionItem(' first ghost line\nsecond ghost line', new vscode.Range(position, position))];
      },
    }),
  );
}

module.exports = { activate, deactivate() {} };
