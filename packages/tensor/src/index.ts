// @gptlab/tensor under Node: backends tensorflow (tfjs-node) → wasm → cpu, and the optional native kernels.
import { installNodeBackends } from './backend-node';

installNodeBackends();

export * from './api';
export { BACKENDS } from './backend-node';
