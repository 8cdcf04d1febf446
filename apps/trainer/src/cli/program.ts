// gptlab-train as a @gptlab/common Program: one parser (util.parseArgs), `--help` on every command,
// `--version`, usage errors as one line ("gptlab-train <cmd>: <message>; see gptlab-train <cmd> --help",
// exit 2), failures as one line (exit 1, or the error's own exit code: 3 for a diverged run). A group such as
// `tokenizer` is a program of its own under the name "gptlab-train tokenizer".
import { runCli, UsageError, type Command, type Program } from '@gptlab/common/node';
import { version } from '../../package.json';
import { processIO, type CommandGroup, type CommandIO, type TrainerCommand } from './command';

export const PROGRAM = 'gptlab-train';
export const VERSION: string = version;
const SUMMARY = 'GPT pretraining, GPT-1 fine-tuning, evaluation and scaling laws on TensorFlow.js';

function bind(programName: string, c: TrainerCommand, io: CommandIO): Command {
  return {
    ...c,
    run: async (args) => {
      // No gptlab-train command takes positional arguments: a stray word is a typo or a missing "--".
      if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}" (flags start with --)`);
      try {
        return await c.run(args, io);
      } catch (e) {
        // Failures with their own exit code (a diverged run exits 3) print like any failure: one line.
        const code = (e as { exitCode?: unknown }).exitCode;
        if (typeof code === 'number' && code !== 1 && code !== 2) {
          io.stderr(`${programName} ${c.name}: ${(e as Error).message}\n`);
          return code;
        }
        throw e;
      }
    },
  };
}

function program(name: string, summary: string, commands: Command[], io: CommandIO): Program {
  return { name, version: VERSION, summary, commands, out: (s) => io.stdout(s + '\n'), err: (s) => io.stderr(s + '\n') };
}

/** Runs one command line and returns its exit code (never throws, never exits the process). */
export async function runTrainerCli(
  commands: readonly TrainerCommand[],
  groups: readonly CommandGroup[],
  argv: readonly string[],
  io: CommandIO = processIO(),
): Promise<number> {
  const group = groups.find((g) => g.name === argv[0]);
  if (group) {
    // a nested group (`data quality train`) runs as the group "data quality"
    const sub = group.groups?.find((g) => g.name === argv[1]);
    if (sub) return runTrainerCli([], [{ ...sub, name: `${group.name} ${sub.name}` }], [`${group.name} ${sub.name}`, ...argv.slice(2)], io);
    const name = `${PROGRAM} ${group.name}`;
    const subgroups = (group.groups ?? []).map((g) => ({ name: g.name, summary: g.summary, flags: {}, run: () => 2 }));
    return runCli(program(name, group.summary, [...group.commands.map((c) => bind(name, c, io)), ...subgroups], io), argv.slice(1));
  }
  // Groups appear in the top-level list; their own program (above) handles them before this one is asked.
  const listed: Command[] = [
    ...commands.map((c) => bind(PROGRAM, c, io)),
    ...groups.map((g) => ({ name: g.name, summary: g.summary, flags: {}, run: () => 2 })),
  ];
  return runCli(program(PROGRAM, SUMMARY, listed, io), argv);
}
