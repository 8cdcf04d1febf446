// What a gptlab-train command is: @gptlab/common's Command plus the streams it writes to, so that tests run
// commands in-process and capture their output. Nothing here exits the process: commands return a code or
// throw (UsageError → 2, CommandError → its code, anything else → 1).
import type { FlagSpecs, ParseResult } from '@gptlab/common/node';

export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: NodeJS.ReadableStream;
  /** True when stderr is a terminal (the progress line redraws in place). */
  isTTY: boolean;
}

export interface TrainerCommand {
  name: string;
  summary: string;
  usage?: string;
  details?: string;
  flags: FlagSpecs;
  run(args: ParseResult, io: CommandIO): Promise<number | void>;
}

/** Commands under one name: `gptlab-train tokenizer train`, `gptlab-train data prepare`. */
export interface CommandGroup {
  name: string;
  summary: string;
  commands: TrainerCommand[];
  /** Groups one level down: `gptlab-train data quality train`. */
  groups?: CommandGroup[];
}

/** A failure with its own exit code: 3 for a diverged run, 1 otherwise. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** Exit code of a run stopped by Ctrl-C after saving its checkpoint (128 + SIGINT, as a shell reports it). */
export const EXIT_INTERRUPTED = 130;

export function processIO(): CommandIO {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stdin: process.stdin,
    isTTY: Boolean(process.stderr.isTTY),
  };
}

/**
 * Ctrl-C as a stop request: the first SIGINT sets `requested` (the run finishes its step and saves a
 * checkpoint); the handler is then removed, so a second Ctrl-C ends the process the default way.
 */
export function interruptOnSigint(io: Pick<CommandIO, 'stderr' | 'isTTY'>): { requested: () => boolean; dispose: () => void } {
  let requested = false;
  const onSigint = () => {
    requested = true;
    // On a terminal the progress line is being redrawn: the message goes on a line of its own.
    io.stderr(`${io.isTTY ? '\n' : ''}Ctrl-C: finishing this step and saving a checkpoint (press again to quit now)\n`);
  };
  process.once('SIGINT', onSigint);
  return { requested: () => requested, dispose: () => process.off('SIGINT', onSigint) };
}

/** A command's result on stdout: one JSON line with --json (for scripts), else the lines made for people. */
export function printResult(io: Pick<CommandIO, 'stdout'>, json: boolean, value: unknown, lines: () => string[]): void {
  io.stdout((json ? JSON.stringify(value) : lines().join('\n')) + '\n');
}
