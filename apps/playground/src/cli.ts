// The gptlab-playground executable: the only place that touches the process (argv, exit code).
import { main } from './program';

void main(process.argv.slice(2)).then((code) => {
  // serve resolves when SIGINT/SIGTERM closed the server; other commands when they are done.
  process.exitCode = code;
});
