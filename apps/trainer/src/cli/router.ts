// The CLI router: each command lives in src/commands/<name>.ts and registers here. A command is a function
// of (argv, io) returning an exit code; errors become one clear line on stderr and a non-zero exit.
import { formatFlags, UsageError, type FlagSpecs } from './flags';

export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: NodeJS.ReadableStream;
  /** True when stderr is a terminal (progress redraws one line). */
  isTTY: boolean;
}

export interface Command {
  name: string;
  summary: string;
  /** Flags (for help and for unknown-flag messages). Subcommand groups leave it empty. */
  flags?: FlagSpecs;
  usage?: string;
  run(argv: string[], io: CommandIO): Promise<number>;
}

/** An error that carries its exit code (e.g. 3 for a NaN loss). */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

export function defaultIO(): CommandIO {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stdin: process.stdin,
    isTTY: Boolean(process.stderr.isTTY),
  };
}

export function commandHelp(prefix: string, cmd: Command): string {
  const lines = [`usage: gptlab-train ${prefix}${cmd.usage ?? cmd.name + ' [flags]'}`, '', cmd.summary];
  if (cmd.flags && Object.keys(cmd.flags).length) lines.push('', 'flags:', formatFlags(cmd.flags));
  return lines.join('\n') + '\n';
}

/** Dispatches argv[0] among `commands`; `prefix` names the parent command in messages ("tokenizer "). */
export async function dispatch(commands: readonly Command[], argv: string[], io: CommandIO, prefix = ''): Promise<number> {
  const [name, ...rest] = argv;
  const list = () => commands.map((c) => `  ${c.name.padEnd(12)}${c.summary}`).join('\n');
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' && rest[0] ? commands.find((c) => c.name === rest[0]) : undefined;
    if (target) io.stdout(commandHelp(prefix, target));
    else io.stdout(`usage: gptlab-train ${prefix}<command> [flags]\n\ncommands:\n${list()}\n`);
    return name ? 0 : 2;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    throw new UsageError(`unknown command "${prefix}${name}"; valid commands: ${commands.map((c) => prefix + c.name).join(', ')}`);
  }
  if ((rest.includes('--help') || rest.includes('-h')) && cmd.flags) {
    io.stdout(commandHelp(prefix, cmd));
    return 0;
  }
  return cmd.run(rest, io);
}

/** Runs a command line and returns the exit code; never throws. */
export async function runCli(commands: readonly Command[], argv: string[], io: CommandIO = defaultIO()): Promise<number> {
  try {
    return await dispatch(commands, argv, io);
  } catch (e) {
    const err = e as Error & { exitCode?: number };
    const msg = err instanceof UsageError || err instanceof CommandError ? err.message : err?.stack ?? String(e);
    io.stderr(`gptlab-train: error: ${err instanceof UsageError || err instanceof CommandError ? msg : (err?.message ?? String(e))}\n`);
    if (!(err instanceof UsageError || err instanceof CommandError) && process.env.GPTLAB_DEBUG) io.stderr(msg + '\n');
    return typeof err?.exitCode === 'number' && err.exitCode !== 0 ? err.exitCode : 1;
  }
}
