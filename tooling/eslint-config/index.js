// Shared flat config: typescript-eslint recommended rules, tuned for numeric code.
const tseslint = require('typescript-eslint');

module.exports = tseslint.config({ ignores: ['dist/**', 'build/**', 'node_modules/**', 'coverage/**'] }, ...tseslint.configs.recommended, {
  rules: {
    '@typescript-eslint/no-explicit-any': 'off',
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    '@typescript-eslint/no-require-imports': 'off',
    '@typescript-eslint/no-non-null-assertion': 'off',
  },
});
