import type { Command } from 'commander';

/**
 * The `loupe` commands, each loaded only when it runs (each pulls in what it needs: the whole app for `serve`,
 * nothing of it for `predict`); `--version` loads none and `--help` (or an unknown command) all of them, to list them.
 */
export type Register = (program: Command) => void;
export const COMMANDS: Record<string, () => Promise<Register>> = {
  serve: async () => (await import('./serve.ts')).registerServe,
  worker: async () => (await import('./worker.ts')).registerWorker,
  migrate: async () => (await import('./migrate.ts')).registerMigrate,
  import: async () => (await import('./import.ts')).registerImport,
  admin: async () => (await import('./admin.ts')).registerAdmin,
  eval: async () => (await import('./eval.ts')).registerEval,
  predict: async () => (await import('./predict.ts')).registerPredict,
  'eval-matching': async () => (await import('./eval-matching.ts')).registerEvalMatching,
  experiments: async () => (await import('./experiments.ts')).registerExperiments,
  export: async () => (await import('./export.ts')).registerExport,
  backup: async () => (await import('./backup.ts')).registerBackup,
  restore: async () => (await import('./restore.ts')).registerRestore,
  'citus-plan': async () => (await import('./citus-plan.ts')).registerCitusPlan,
};

/** The commands to load for these arguments: the named one, none for a bare `--version`, else all. */
export function commandsFor(args: readonly string[]): string[] {
  const first = args[0];
  if (first !== undefined && Object.hasOwn(COMMANDS, first)) return [first];
  if (args.length === 1 && (first === '--version' || first === '-V')) return [];
  return Object.keys(COMMANDS);
}
