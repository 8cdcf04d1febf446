import { library } from '../../tooling/tsup/library';

// Two entries: the root is browser-safe (no Node built-ins); `@gptlab/common/node` holds file and CLI helpers.
export default library({ entry: ['src/index.ts', 'src/node.ts'] });
