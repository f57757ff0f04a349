// VS Code client entry. The only code that imports `vscode`.
// Minimal until the extension issue: it owns an output channel for logs.
import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('Codetune');
  context.subscriptions.push(output, vscode.commands.registerCommand('codetune.showLogs', () => output.show()));
}

export function deactivate(): void {
  // Nothing to clean up yet: disposables are owned by the context.
}
