/**
 * Recs' port onto Experiments (seed 003's "test different recommendation strategies"): the experiment named by
 * `settings.recs.model_experiment` (default `recs_model`) decides which model version serves a user, through its
 * variant config `{"model_version": "<version id>"}`; a variant without one serves the deployed version.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const DEFAULT_MODEL_EXPERIMENT = 'recs_model';

export function modelExperimentFrom(
  experiments: {
    variantFor(tenantId: string, experimentKey: string, userId: string): Promise<{ inExperiment: boolean; config: unknown }>;
  },
  tenantSettings: (tenantId: string) => Promise<Record<string, unknown>>,
): (tenantId: string, userId: string) => Promise<string | null> {
  // The experiment's key per tenant, read from the settings at most every 30 s (this runs on every recommendation).
  const keys = new Map<string, { key: string; at: number }>();
  const keyOf = async (tenantId: string): Promise<string> => {
    const hit = keys.get(tenantId);
    if (hit && performance.now() - hit.at < 30_000) return hit.key;
    const s = ((await tenantSettings(tenantId)).recs ?? {}) as Record<string, unknown>;
    const key = typeof s.model_experiment === 'string' && s.model_experiment ? s.model_experiment : DEFAULT_MODEL_EXPERIMENT;
    if (keys.size > 10_000) keys.clear();
    keys.set(tenantId, { key, at: performance.now() });
    return key;
  };
  return async (tenantId, userId) => {
    const key = await keyOf(tenantId);
    const v = await experiments.variantFor(tenantId, key, userId);
    if (!v.inExperiment) return null;
    const version = ((v.config ?? {}) as Record<string, unknown>).model_version;
    return typeof version === 'string' && UUID.test(version) ? version : null;
  };
}
