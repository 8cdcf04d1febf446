// The command registry: one entry per src/commands/<name>.ts; groups hold subcommands (`tokenizer train`).
import { processIO, type CommandGroup, type CommandIO, type TrainerCommand } from '../cli/command';
import { runTrainerCli } from '../cli/program';
import { benchCommand } from './bench';
import { dataGroup } from './data';
import { demoCommand } from './demo';
import { evalCommand } from './eval';
import { finetuneCommand } from './finetune';
import { pretrainCommand } from './pretrain';
import { scalingCommand } from './scaling';
import { rewardCommand } from './reward';
import { dpoCommand } from './dpo';
import { sftCommand } from './sft';
import { ppoCommand } from './ppo';
import { alignEvalCommand } from './align-eval';
import { tokenizerGroup } from './tokenizer';
import { visionCommand } from './vision';

export const COMMANDS: TrainerCommand[] = [
  pretrainCommand,
  demoCommand,
  benchCommand,
  finetuneCommand,
  evalCommand,
  scalingCommand,
  rewardCommand,
  dpoCommand,
  sftCommand,
  visionCommand,
  ppoCommand,
  alignEvalCommand,
];
export const GROUPS: CommandGroup[] = [tokenizerGroup, dataGroup];

/** `gptlab-train <argv>`: the exit code (0 ok, 1 failure, 2 usage error, 3 diverged, 130 interrupted). */
export function main(argv: readonly string[], io: CommandIO = processIO()): Promise<number> {
  return runTrainerCli(COMMANDS, GROUPS, argv, io);
}
