// `pnpm lint`: rules that catch mistakes, not style (Prettier owns layout). Not type-aware: the workspace's
// TypeScript 7 has no JavaScript API for typescript-eslint, which parses with the root's TypeScript 6 instead.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // Build outputs too: the VS Code gallery script and schema are generated into the package, beside its sources.
    ignores: [
      '**/node_modules/',
      '**/dist/',
      '**/coverage/',
      'test/bench/results/',
      'test/artifacts/',
      'vscode-extension/media/gallery.js',
      'vscode-extension/schemas/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_name` marks a value kept on purpose (destructured away, a positional callback argument).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Wire data and third-party shapes are sometimes `any` by nature; zod parses them at the boundary.
      '@typescript-eslint/no-explicit-any': 'off',
      // The code base's idiom `if (x) (a(), b())` is deliberate; Prettier keeps it readable.
      '@typescript-eslint/no-unused-expressions': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-var': 'error',
      'prefer-const': ['error', { destructuring: 'all' }],
      'no-return-assign': 'off',
      'no-self-compare': 'error',
      'no-template-curly-in-string': 'error',
      'no-unmodified-loop-condition': 'error',
      'no-unreachable-loop': 'error',
      'no-promise-executor-return': 'off',
      'require-atomic-updates': 'off',
    },
  },
  {
    // Code that runs in a browser page, the Figma iframe or a webview.
    files: [
      'daemon/src/dashboard/**',
      'figma-plugin/src/**',
      'vscode-extension/src/webview/**',
      'test/**/*.browser.ts',
    ],
    languageOptions: { globals: { ...globals.browser } },
  },
);
