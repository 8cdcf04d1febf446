import { main } from './cli-main';

main(process.argv.slice(2)).then(
  (code) => {
    // serve keeps running until SIGINT/SIGTERM; other commands exit with their status.
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`gptlab-playground: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
