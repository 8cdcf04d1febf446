import { library } from '../../tooling/tsup/library';

// Entries: index (Node: everything), browser (the `browser` export condition: no Node built-ins) and node
// (`@gptlab/model/node`: loadGPT / saveGPT and safetensors files).
export default library({ entry: ['src/index.ts', 'src/browser.ts', 'src/node.ts'] });
