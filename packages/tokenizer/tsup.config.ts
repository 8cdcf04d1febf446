import { library } from '../../tooling/tsup/library';

// Two entries: the Node one (index: file system installed) and the browser one (the `browser` export
// condition: no Node built-ins), sharing one chunk of code in the ESM build.
export default library({ entry: ['src/index.ts', 'src/browser.ts'] });
