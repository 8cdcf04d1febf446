import { library } from '../../tooling/tsup/library';

// Two entries: Node (index: tfjs-node/wasm/cpu, native kernels) and browser (the `browser` export condition:
// webgpu/webgl/wasm/cpu, no Node built-ins), sharing one chunk of code in the ESM build.
export default library({ entry: ['src/index.ts', 'src/browser.ts'] });
