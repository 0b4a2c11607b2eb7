// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // scripts/package-check/ holds a consumer's files: type-checked against the installed tarballs by scripts/package-check.mjs.
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.turbo/**', '**/*.js', '**/*.cjs', '**/*.mjs', 'tmp/**', 'scripts/package-check/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-exports': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Model code mirrors checkpoint keys (q_proj, pre_layrnorm, mm_projector): snake_case is intended there.
    files: ['packages/models/src/**/*.ts', 'packages/segllm/src/**/*.ts'],
    rules: { camelcase: 'off' },
  },
  {
    files: ['**/*.test.ts', '**/bench/**/*.ts', '**/scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
);
