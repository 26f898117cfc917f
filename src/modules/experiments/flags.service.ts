/**
 * Feature flags: administration (create, change, archive; SDK client keys per environment), the GrowthBook
 * SDK payload each client key serves (built in memory, with an ETag, dropped on any change of the tenant's
 * flags or experiments and after 30 s at most for changes made by another replica), and the exposures SDKs
 * report after evaluating locally.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import {
  type Db,
  type TenantContext,
  conflict,
  isUuid,
  newId,
  notFound,
  randomToken,
  requirePermission,
  validation,
} from '../../platform/index.ts';
import type { AssignService } from './assign.service.ts';
import {
  buildPayload,
  type FlagDefinition,
  type FlagPrerequisite,
  type FlagRule,
  type FlagValueType,
  prerequisiteCycle,
  requiredFlags,
  valueProblem,
} from './flags.core.ts';
import type { FlagRow, FlagsRepository } from './flags.repository.ts';

export interface FlagInput {
  description: string;
  valueType: FlagValueType;
  defaultValue: unknown;
  rules: (Omit<FlagRule, 'id'> & { id: string | undefined })[];
  prerequisites: FlagPrerequisite[];
  environments: string[];
  archived: boolean;
}

export interface FlagsServiceDeps {
  db: Db;
  repo: FlagsRepository;
  assign: Pick<AssignService, 'experimentsOf' | 'logExposures'>;
  clock: () => Date;
}

export interface ServedPayload {
  body: string;
  etag: string;
}

export interface FlagExposureInput {
  flagKey: string | undefined;
  value: unknown;
  experimentKey: string | undefined;
  variationId: number | undefined;
  userId: string | undefined;
  anonymousId: string | undefined;
}

/** A tenant has at most this many flags, and a flag this many rules. */
export const MAX_FLAGS = 2000;
export const MAX_RULES = 100;

const checkValue = (type: FlagValueType, value: unknown, where: string): void => {
  const p = valueProblem(type, value);
  if (p) throw validation('FLAG_VALUE_INVALID', `${where} ${p} (the flag's type is ${type}).`);
};

export function createFlagsService(deps: FlagsServiceDeps) {
  const payloads = new LRUCache<string, ServedPayload>({ max: 2000, ttl: 30_000 });
  const clientKeys = new LRUCache<string, { tenantId: string; environment: string } | false>({ max: 20_000, ttl: 60_000 });
  const tenantEpoch = new Map<string, number>();

  /** Checks a definition against the tenant's other flags (types of values, prerequisites exist, no cycle). */
  function check(key: string, input: FlagInput, others: readonly FlagRow[]): FlagRule[] {
    checkValue(input.valueType, input.defaultValue, 'default_value');
    if (input.rules.length > MAX_RULES) throw validation('FLAG_TOO_MANY_RULES', `A flag has at most ${MAX_RULES} rules.`);
    const ids = new Set<string>();
    const rules = input.rules.map((r, i): FlagRule => {
      const id = r.id ?? `fr_${randomToken(12)}`;
      if (ids.has(id)) throw validation('FLAG_RULE_DUPLICATE', `Rule id "${id}" is used twice: give each rule its own id.`);
      ids.add(id);
      if (r.type === 'experiment') {
        if (!r.experimentKey) throw validation('FLAG_RULE_INVALID', `Rule ${i + 1} runs an experiment: name it with experiment_key.`);
        for (const [k, v] of Object.entries(r.variationValues)) checkValue(input.valueType, v, `Rule ${i + 1}'s value for variant "${k}"`);
      } else checkValue(input.valueType, r.value, `Rule ${i + 1}'s value`);
      return { ...r, id };
    });
    const byKey = new Map(others.map((o) => [o.key, o]));
    const requires = requiredFlags({ prerequisites: input.prerequisites, rules });
    for (const k of requires) {
      if (k === key) throw validation('FLAG_PREREQUISITE_CYCLE', `Flag "${key}" cannot require itself.`);
      if (!byKey.has(k)) throw validation('FLAG_PREREQUISITE_UNKNOWN', `Prerequisite flag "${k}" does not exist: create it first.`);
    }
    const cycle = prerequisiteCycle(key, requires, new Map(others.map((o) => [o.key, requiredFlags(o)])));
    if (cycle) throw validation('FLAG_PREREQUISITE_CYCLE', `Prerequisites would make a cycle: ${cycle.join(' → ')}.`);
    return rules;
  }

  function changed(tenantId: string): void {
    tenantEpoch.set(tenantId, (tenantEpoch.get(tenantId) ?? 0) + 1);
  }

  async function resolveClientKey(key: string): Promise<{ tenantId: string; environment: string } | undefined> {
    if (!/^sdk-[A-Za-z0-9_-]{8,64}$/.test(key)) return undefined;
    let hit = clientKeys.get(key);
    if (hit === undefined) {
      hit = (await deps.repo.clientKey(deps.db, key)) ?? false;
      clientKeys.set(key, hit);
    }
    return hit || undefined;
  }

  const toDefinition = (f: FlagRow): FlagDefinition => ({
    key: f.key,
    valueType: f.valueType,
    defaultValue: f.defaultValue,
    rules: f.rules,
    prerequisites: f.prerequisites,
    environments: f.environments,
    archived: f.archived,
    updatedAt: f.updatedAt,
  });

  return {
    /** Drops cached payloads of a tenant (after a change of its flags or experiments). */
    invalidate: changed,

    list(ctx: TenantContext): Promise<FlagRow[]> {
      requirePermission(ctx, 'analytics:read');
      return deps.repo.listFlags(deps.db, ctx.tenantId);
    },

    async get(ctx: TenantContext, id: string): Promise<FlagRow> {
      requirePermission(ctx, 'analytics:read');
      const f = isUuid(id) ? await deps.repo.getFlag(deps.db, ctx.tenantId, id) : undefined;
      if (!f) throw notFound('FLAG_NOT_FOUND', 'No such flag in this tenant.');
      return f;
    },

    async create(ctx: TenantContext, key: string, input: FlagInput): Promise<FlagRow> {
      requirePermission(ctx, 'experiments:manage');
      const others = await deps.repo.listFlags(deps.db, ctx.tenantId);
      if (others.length >= MAX_FLAGS) throw validation('FLAG_LIMIT', `A tenant has at most ${MAX_FLAGS} flags: archive unused ones.`);
      const rules = check(key, input, others);
      const now = deps.clock();
      const row: FlagRow = { id: newId(), key, ...input, rules, archived: false, version: 1, createdAt: now, updatedAt: now };
      if (!(await deps.repo.insertFlag(deps.db, ctx.tenantId, row)))
        throw conflict('FLAG_KEY_TAKEN', `A flag with key "${key}" already exists: choose another key or change that flag.`);
      changed(ctx.tenantId);
      return row;
    },

    /** Replaces a flag's definition; `version` must be the one the editor read (else 409: reload and retry). */
    async update(ctx: TenantContext, id: string, version: number, input: FlagInput): Promise<FlagRow> {
      requirePermission(ctx, 'experiments:manage');
      const current = isUuid(id) ? await deps.repo.getFlag(deps.db, ctx.tenantId, id) : undefined;
      if (!current) throw notFound('FLAG_NOT_FOUND', 'No such flag in this tenant.');
      if (input.valueType !== current.valueType)
        throw validation('FLAG_TYPE_FIXED', `A flag keeps its type (${current.valueType}): create a new flag for another type.`);
      const others = (await deps.repo.listFlags(deps.db, ctx.tenantId)).filter((o) => o.id !== id);
      const rules = check(current.key, input, others);
      const row: FlagRow = { ...current, ...input, rules, updatedAt: deps.clock() };
      if (!(await deps.repo.updateFlag(deps.db, ctx.tenantId, row, version)))
        throw conflict(
          'FLAG_VERSION_CONFLICT',
          'The flag was changed by someone else since you read it: reload it and apply your change again.',
        );
      changed(ctx.tenantId);
      return { ...row, version: version + 1 };
    },

    async createClientKey(ctx: TenantContext, environment: string): Promise<{ key: string; environment: string; createdAt: Date }> {
      requirePermission(ctx, 'experiments:manage');
      const key = `sdk-${randomToken(24)}`;
      const now = deps.clock();
      await deps.repo.insertClientKey(deps.db, ctx.tenantId, key, environment, now);
      clientKeys.delete(key);
      return { key, environment, createdAt: now };
    },

    listClientKeys(ctx: TenantContext) {
      requirePermission(ctx, 'analytics:read');
      return deps.repo.listClientKeys(deps.db, ctx.tenantId);
    },

    async exposureCounts(ctx: TenantContext, id: string, days: number) {
      const f = await this.get(ctx, id);
      const since = new Date(deps.clock().getTime() - days * 86_400_000).toISOString().slice(0, 10);
      return deps.repo.exposureCounts(deps.db, ctx.tenantId, f.key, since);
    },

    /** The SDK payload of a client key (undefined: no such key), from memory when nothing changed. */
    async payload(clientKey: string): Promise<ServedPayload | undefined> {
      const k = await resolveClientKey(clientKey);
      if (!k) return undefined;
      const cacheKey = `${k.tenantId}|${k.environment}|${tenantEpoch.get(k.tenantId) ?? 0}`;
      const hit = payloads.get(cacheKey);
      if (hit) return hit;
      const [flags, experiments] = await Promise.all([deps.repo.listFlags(deps.db, k.tenantId), deps.assign.experimentsOf(k.tenantId)]);
      const body = JSON.stringify(buildPayload(flags.map(toDefinition), experiments, k.environment));
      const served = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
      payloads.set(cacheKey, served);
      return served;
    },

    /**
     * Exposures an SDK reports for a client key: experiment exposures become assignments (counted in the
     * experiment's report), flag evaluations are counted per flag, day and value. Unknown keys are skipped.
     */
    async logExposures(clientKey: string, items: readonly FlagExposureInput[]): Promise<{ accepted: number; skipped: number } | undefined> {
      const k = await resolveClientKey(clientKey);
      if (!k) return undefined;
      const experiments = items.filter((i) => i.experimentKey !== undefined && i.variationId !== undefined);
      const acceptedExperiments = await deps.assign.logExposures(
        k.tenantId,
        experiments.map((i) => ({
          experimentKey: i.experimentKey as string,
          variant: i.variationId as number,
          userId: i.userId,
          anonymousId: i.anonymousId,
        })),
      );
      const flags = items.filter((i) => i.flagKey !== undefined && i.experimentKey === undefined);
      let acceptedFlags = 0;
      if (flags.length) {
        const known = new Set((await deps.repo.listFlags(deps.db, k.tenantId)).map((f) => f.key));
        const day = deps.clock().toISOString().slice(0, 10);
        const rows = flags
          .filter((f) => known.has(f.flagKey as string))
          .map((f) => ({ flagKey: f.flagKey as string, day, value: (JSON.stringify(f.value ?? null) ?? 'null').slice(0, 200), count: 1 }));
        await deps.repo.addExposureCounts(deps.db, k.tenantId, rows);
        acceptedFlags = rows.length;
      }
      const accepted = acceptedExperiments + acceptedFlags;
      return { accepted, skipped: items.length - accepted };
    },
  };
}
export type FlagsService = ReturnType<typeof createFlagsService>;
