import { library } from '../../tooling/tsup/library';

// Three entries: the root is browser-safe (no Node built-ins); `@gptlab/common/node` holds file and CLI
// helpers; `@gptlab/common/testing` the float64 references that numeric tests compare against.
export default library({ entry: ['src/index.ts', 'src/node.ts', 'src/testing.ts'] });
