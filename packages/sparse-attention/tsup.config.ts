import { library } from '../../tooling/tsup/library';

// Entries: index (Node: everything), browser (the `browser` export condition: no PNG, no Node built-ins) and
// node (`@gptlab/sparse-attention/node`: the PNG renderers alone).
export default library({ entry: ['src/index.ts', 'src/browser.ts', 'src/node.ts'] });
