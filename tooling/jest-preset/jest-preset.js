// Shared jest preset for every gptlab package: TypeScript is compiled by swc (fast, no type check;
// `pnpm typecheck` does that), tests live in test/ or next to the source as *.test.ts.
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j)sx?$': [
      require.resolve('@swc/jest'),
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
      },
    ],
  },
  moduleFileExtensions: ['ts', 'tsx', 'js', 'json'],
  testMatch: ['**/test/**/*.test.ts', '**/src/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  // Tests of numeric code can be slow on the cpu backend; individual tests set tighter limits.
  testTimeout: 120000,
};
