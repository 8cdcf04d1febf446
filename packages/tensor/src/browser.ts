// @gptlab/tensor in browsers (the `browser` export condition): backends webgpu → webgl → wasm → cpu, no
// Node built-ins. Same API as the Node entry.
import { installBrowserBackends } from './backend-browser';

installBrowserBackends();

export * from './api';
export { BACKENDS } from './backend-browser';
