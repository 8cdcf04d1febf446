// The read–run loop the interactive commands (repl, chat) share: a `> ` prompt, a line ending in `\` continues
// on the next line, lines run one after another (a slow generation never overlaps the next line), and Ctrl-C
// stops the running generation (or, when idle, ends the session).
import * as readline from 'node:readline';
import type { CliIO } from './shared';

/**
 * Reads `io.stdin` line by line until EOF or until `run` answers false. `run` receives each non-blank input (with
 * continuations joined by newlines) and an AbortSignal that Ctrl-C fires while it runs.
 */
export async function lineSession(io: CliIO, run: (text: string, signal: AbortSignal) => Promise<boolean>): Promise<void> {
  const rl = readline.createInterface({ input: io.stdin, output: io.stdout, terminal: (io.stdin as NodeJS.ReadStream).isTTY === true });
  let current: AbortController | null = null;
  rl.on('SIGINT', () => (current ? current.abort() : rl.close()));
  let buffer = '';
  const handle = async (line: string): Promise<boolean> => {
    if (line.endsWith('\\')) {
      buffer += line.slice(0, -1) + '\n';
      return true;
    }
    const text = buffer + line;
    buffer = '';
    if (text.trim() === '') return true;
    current = new AbortController();
    try {
      return await run(text, current.signal);
    } finally {
      current = null;
    }
  };
  rl.setPrompt('> ');
  rl.prompt();
  let chain = Promise.resolve();
  await new Promise<void>((resolve) => {
    rl.on('line', (line) => {
      chain = chain.then(async () => ((await handle(line)) ? rl.prompt() : rl.close()));
    });
    rl.on('close', () => void chain.then(resolve));
  });
}
