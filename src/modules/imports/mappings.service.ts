import { AppError, conflict, isUuid, newId, notFound, type Q, type TenantContext } from '../../platform/index.ts';
import { savedMappingProblems } from './imports.columns.ts';
import type { MappingsRepository, SavedMappingInput, SavedMappingRow } from './mappings.repository.ts';

/** At most this many saved mappings per tenant (the Import page lists them all in one picker). */
export const MAX_SAVED_MAPPINGS = 100;

const missing = () => notFound('IMPORT_MAPPING_NOT_FOUND', 'The saved mapping');
const taken = () =>
  conflict('IMPORT_MAPPING_NAME_TAKEN', 'A saved mapping of this kind with this name exists already: choose another name.');

/** A lost race on the (tenant, kind, name) unique index, as PostgreSQL and PGlite report it. */
function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err, i = 0; e && i < 4; e = (e as { cause?: unknown }).cause, i++)
    if ((e as { code?: unknown }).code === '23505') return true;
  return false;
}

function checked(input: SavedMappingInput): SavedMappingInput {
  const problems = savedMappingProblems(input.kind, input.mapping);
  if (problems.length)
    throw new AppError('validation', 'IMPORT_MAPPING_INVALID', `The mapping has ${problems.length} unknown target(s).`, {
      details: problems.map((message) => ({ field: 'mapping', message })),
    });
  return input;
}

/** Named column mappings a tenant saves and picks at its next upload (tenant context first, deny by tenant id). */
export function createMappingsService(deps: { db: Q; repo: MappingsRepository }) {
  const { db, repo } = deps;
  return {
    list: (ctx: TenantContext, kind?: SavedMappingInput['kind']) => repo.list(db, ctx.tenantId, kind),

    /** One of the tenant's saved mappings; another tenant's id answers as an unknown one. */
    async get(ctx: TenantContext, id: string): Promise<SavedMappingRow> {
      const row = isUuid(id) ? await repo.get(db, ctx.tenantId, id) : undefined;
      if (!row) throw missing();
      return row;
    },

    async create(ctx: TenantContext, input: SavedMappingInput): Promise<SavedMappingRow> {
      checked(input);
      if ((await repo.count(db, ctx.tenantId)) >= MAX_SAVED_MAPPINGS)
        throw new AppError(
          'conflict',
          'IMPORT_MAPPING_LIMIT',
          `A tenant keeps at most ${MAX_SAVED_MAPPINGS} saved mappings; delete one first.`,
        );
      const row = await repo.insert(db, ctx.tenantId, newId(), input, `${ctx.actor.type}:${ctx.actor.id}`);
      if (!row) throw taken();
      return row;
    },

    async update(ctx: TenantContext, id: string, input: SavedMappingInput): Promise<SavedMappingRow> {
      checked(input);
      if (!isUuid(id)) throw missing();
      try {
        const out = await repo.update(db, ctx.tenantId, id, input);
        if (out === 'missing') throw missing();
        if (out === 'name_taken') throw taken();
        return out;
      } catch (err) {
        if (isUniqueViolation(err)) throw taken();
        throw err;
      }
    },

    async remove(ctx: TenantContext, id: string): Promise<void> {
      if (!isUuid(id) || !(await repo.remove(db, ctx.tenantId, id))) throw missing();
    },
  };
}
export type MappingsService = ReturnType<typeof createMappingsService>;
