module.exports = {
  preset: '@gptlab/jest-preset',
  // fastify's inject uses light-my-request, which requires the ESM-only `cookie` 2.x: let swc compile it.
  transformIgnorePatterns: ['^(?!.*/cookie@).*/node_modules/'],
};
