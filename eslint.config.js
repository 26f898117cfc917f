import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';

export default tseslint.config(
  {
    ignores: [
      '**/*.cjs',
      'node_modules/**',
      'dist/**',
      'dashboard/dist/**',
      'sdk/dist/**',
      'migrations/**',
      '.loupe/**',
      'coverage/**',
      'test-artifacts/**',
      'bench/results/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        performance: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        Blob: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportAllDeclaration', message: 'No export * hubs: export names explicitly (STYLE.md).' },
      ],
    },
  },
  {
    // The reference storefront: plain browser JavaScript, served as is (no build step).
    files: ['storefront/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: {
        document: 'readonly',
        window: 'readonly',
        location: 'readonly',
        history: 'readonly',
        localStorage: 'readonly',
        sessionStorage: 'readonly',
        crypto: 'readonly',
        URLSearchParams: 'readonly',
        Intl: 'readonly',
        atob: 'readonly',
        Node: 'readonly',
      },
    },
  },
  {
    files: ['src/ml/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'node:fs',
                'node:fs/*',
                'node:http',
                'node:net',
                'pg',
                'drizzle-orm',
                'drizzle-orm/*',
                '**/platform/**',
                '**/modules/**',
              ],
              message: 'ml is pure numeric code: no I/O, no server imports.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    // The process entry (src/main.ts and its commands in src/cli/) reads the environment once, into Config.
    ignores: ['src/main.ts', 'src/cli/**', 'src/platform/config.ts', '**/*.test.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration from the Config passed in (platform/config.ts), never process.env.',
        },
      ],
    },
  },
  {
    // The dashboard (React): the classic rules of hooks.
    files: ['dashboard/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'warn' },
  },
);
