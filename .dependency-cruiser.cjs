/**
 * Module boundaries (STYLE.md): no cycles; other modules only through their index.ts; ml stays pure; the outside
 * (dashboard, benches) sees the server through its contracts and public entries only. Runs on src, dashboard
 * and bench (`npm run lint`).
 */
/** Platform files that hold only contract pieces (zod schemas, constants, pure errors): schema files may import them. */
const PLATFORM_CONTRACT_FILES = '^src/platform/(schemas|access|errors|pagination|text|money)\\.ts$';
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
      from: { path: '^src/modules/', pathNot: '\\.schemas\\.ts$' },
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
    {
      name: 'contracts-are-schemas',
      comment: 'src/contracts re-exports the public request and response schemas: it imports schema files only.',
      severity: 'error',
      from: { path: '^src/contracts/' },
      to: { path: '^src/', pathNot: ['\\.schemas\\.ts$', '^src/platform/schemas\\.ts$', '^src/platform/money\\.ts$', '^src/contracts/'] },
    },
    {
      name: 'schemas-import-no-server-code',
      comment:
        'Schema files are the public contract (src/contracts re-exports them): they import zod, other schema files, pure ' +
        '*.core.ts files and the platform contract files, never server code (repositories, services, the platform index).',
      severity: 'error',
      from: { path: '\\.schemas\\.ts$' },
      to: { path: '^src/', pathNot: ['\\.schemas\\.ts$', '\\.core\\.ts$', PLATFORM_CONTRACT_FILES] },
    },
    {
      name: 'dashboard-sees-contracts-only',
      comment: 'The dashboard imports the server only through src/contracts (STYLE.md 18): index.ts for types, money.ts at runtime.',
      severity: 'error',
      from: { path: '^dashboard/' },
      to: { path: '^(src|bench|test)/', pathNot: '^src/contracts/(index|money)\\.ts$' },
    },
    {
      name: 'benches-use-public-entries',
      comment:
        'Benches use public entries (src/contracts, a module index.ts, src/platform/index.ts, src/ml, the app factory ' +
        'src/app.ts, bench/lib) or the HTTP API, never module internals.',
      severity: 'error',
      from: {
        path: '^bench/',
      },
      to: {
        path: '^src/',
        pathNot: [
          '^src/contracts/index\\.ts$',
          '^src/modules/[^/]+/index\\.ts$',
          '^src/platform/index\\.ts$',
          '^src/ml/',
          '^src/app\\.ts$',
        ],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: ['\\.test\\.tsx?$', 'node_modules'] },
  },
};
