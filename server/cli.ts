// The `codetune` command: every job is also runnable headless.
// Exit codes: 0 ok, 2 usage error, 1 runtime error (one line on stderr, no stack trace).
import { CodetuneError, describeError, isCodetuneError } from './errors';
import type { Command } from './commands/args';

/** Command table; modules load lazily so `codetune --help` stays fast. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  'init-base': async () => (await import('./commands/engine')).initBaseCmd,
  logits: async () => (await import('./commands/engine')).logits,
  generate: async () => (await import('./commands/engine')).generateCmd,
  download: async () => (await import('./commands/hub')).download,
  models: async () => (await import('./commands/hub')).models,
  dataset: async () => (await import('./commands/dataset')).dataset,
  train: async () => (await import('./commands/train')).train,
  eval: async () => (await import('./commands/train')).evalCmd,
  serve: async () => (await import('./commands/serve')).serve,
  complete: async () => (await import('./commands/serve')).complete,
};

function help(): string {
  return ['usage: codetune <command> [flags]', '', 'commands:', ...Object.keys(COMMANDS).map((c) => `  ${c}`), '', 'Run `codetune <command> --help` for its flags.'].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) {
    throw new CodetuneError('USAGE', help());
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    throw new CodetuneError('USAGE', `unknown command "${name}"\n${help()}`);
  }
  const cmd = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: ${cmd.usage}\n\n${cmd.summary}\n`);
    return 0;
  }
  await cmd.run(rest);
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (isCodetuneError(e)) {
      process.stderr.write(`codetune: ${describeError(e)}\n`);
      process.exitCode = e.code === 'USAGE' ? 2 : 1;
    } else {
      // A bug, not an expected failure: say so briefly; the stack only on request.
      process.stderr.write(`codetune: internal error: ${describeError(e)}\n`);
      if (process.env.CODETUNE_DEBUG) {
        process.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
      }
      process.exitCode = 1;
    }
  },
);
