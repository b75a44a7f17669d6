// Lint rules: the TypeScript recommended set, plus the project rules a machine can check
// (no float parsing of money, no reading the wall clock outside the kernel clock).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-globals': [
        'error',
        { name: 'parseFloat', message: 'Money and billable quantities are exact: use the kernel parsers.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Number', property: 'parseFloat', message: 'Use the kernel decimal parsers.' },
        {
          object: 'Date',
          property: 'now',
          message: 'Read time through the kernel Clock so tests control it.',
        },
        { object: 'Math', property: 'random', message: 'Use crypto randomness (kernel/ids).' },
      ],
    },
  },
  {
    files: ['src/kernel/clock.ts', '**/*.test.ts', 'bench/**', 'scripts/**', 'src/testing/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
