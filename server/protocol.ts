// Every custom request/notification between the extension, the webview and the server:
// typed method constants and param/result types. Pure types, no Node imports.

/** Where a backend was skipped during `auto` selection, and why. */
export interface BackendSkip {
  name: string;
  reason: string;
}

export interface BackendReport {
  /** The tfjs backend in use: `tensorflow`, `wasm` or `cpu`. */
  backend: string;
  /** The package that provided it (e.g. `@tensorflow/tfjs-node-gpu`). */
  provider: string;
  skipped: BackendSkip[];
}
