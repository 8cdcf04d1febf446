#!/usr/bin/env node
// gptlab-train: the command-line entry point.
import { runCli } from './cli/router';
import { COMMANDS } from './commands';

runCli(COMMANDS, process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: Error) => {
    process.stderr.write(`gptlab-train: error: ${e.message}\n`);
    process.exitCode = 1;
  },
);
