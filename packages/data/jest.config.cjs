module.exports = {
  preset: '@gptlab/jest-preset',
  // hyparquet ships ES modules only: let swc compile it to CommonJS like the sources (pnpm's layout puts it under
  // node_modules/.pnpm/hyparquet@x/node_modules/hyparquet).
  transformIgnorePatterns: ['/node_modules/(?!(\\.pnpm/hyparquet|hyparquet/))'],
};
