#!/usr/bin/env node
// gptlab-train: the command-line entry point, and the only place that sets the process's exit code.
import { main } from './commands';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
