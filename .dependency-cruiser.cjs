/** Module boundaries (STYLE.md): no cycles; other modules only through their index.ts; ml stays pure. */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'module-public-entry-only',
      comment: 'A module imports another module only through its index.ts.',
      severity: 'error',
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/([^/]+)/', pathNot: ['^src/modules/$1/', '^src/modules/[^/]+/index\\.ts$'] },
    },
    {
      name: 'modules-use-platform-entry',
      comment: 'Domain modules use the platform through src/platform/index.ts.',
      severity: 'error',
      from: { path: '^src/modules/' },
      to: { path: '^src/platform/', pathNot: '^src/platform/index\\.ts$' },
    },
    {
      name: 'platform-does-not-know-modules',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: '^src/modules/' },
    },
    {
      name: 'ml-is-pure',
      comment: 'ml holds numeric kernels only: no server code.',
      severity: 'error',
      from: { path: '^src/ml/' },
      to: { path: '^src/(platform|modules)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.test\\.ts$' },
  },
};
