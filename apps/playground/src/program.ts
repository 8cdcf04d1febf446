// gptlab-playground's command line, on @gptlab/common's CLI kit: serve (web UI + API), generate (one run,
// --json for scripts), repl and chat. Decoding flags are made from @gptlab/decoding's strategy table, so the CLI
// accepts what the HTTP API and strategyFromJSON accept. Commands return exit codes or throw: a UsageError
// exits 2 (one line naming the flag, "see ... --help"), anything else 1. Only src/cli.ts touches the process.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli, type Program } from '@gptlab/common/node';
import { chatCommand } from './commands/chat';
import { generateCommand } from './commands/generate';
import { replCommand } from './commands/repl';
import { serveCommand } from './commands/serve';
import { loadRealModel, processIO, type CliIO, type CheckpointLoader } from './commands/shared';

const VERSION = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

export function playgroundProgram(io: CliIO = processIO(), load: CheckpointLoader = loadRealModel): Program {
  return {
    name: 'gptlab-playground',
    version: VERSION,
    summary: 'Prompt a GPT checkpoint, swap decoding strategies, see attention: web UI, HTTP API and CLI.',
    commands: [serveCommand(io), generateCommand(io, load), replCommand(io, load), chatCommand(io, load)],
    out: (s) => io.stdout.write(s + '\n'),
    err: (s) => io.stderr.write(s + '\n'),
  };
}

/** Runs one command line; returns the exit code (0 ok, 1 failure, 2 usage error). */
export function main(argv: readonly string[], io: CliIO = processIO(), load: CheckpointLoader = loadRealModel): Promise<number> {
  return runCli(playgroundProgram(io, load), argv);
}
