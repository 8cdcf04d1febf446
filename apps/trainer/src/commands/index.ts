// The command registry: one entry per src/commands/<name>.ts. Add new commands (finetune, eval, scaling) here.
import type { Command } from '../cli/router';
import { benchCommand } from './bench';
import { dataCommand } from './data';
import { demoCommand } from './demo';
import { evalCommand } from './eval';
import { finetuneCommand } from './finetune';
import { pretrainCommand } from './pretrain';
import { scalingCommand } from './scaling';
import { tokenizerCommand } from './tokenizer';

export const COMMANDS: Command[] = [
  pretrainCommand,
  demoCommand,
  benchCommand,
  tokenizerCommand,
  dataCommand,
  finetuneCommand,
  evalCommand,
  scalingCommand,
];
