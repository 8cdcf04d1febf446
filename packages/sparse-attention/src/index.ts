// @gptlab/sparse-attention under Node: the browser entry plus the PNG renderers (node:zlib).
export * from './browser';
export * from './node';
