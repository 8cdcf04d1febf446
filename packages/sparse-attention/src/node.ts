// @gptlab/sparse-attention/node: the Node-only part, PNG pictures of layouts (compressed with node:zlib).
export { renderLayoutPNG, encodeGrayPNG } from './render-png';
