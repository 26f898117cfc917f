import { describe, expect, it } from 'vitest';
import { modelExperimentFrom } from './recs.adapters.ts';

describe('modelExperimentFrom', () => {
  const version = '0190f3a4-1b2c-7d3e-8f40-123456789abc';
  const setup = (config: unknown, inExperiment = true, settings: Record<string, unknown> = {}) => {
    const asked: string[] = [];
    let settingsReads = 0;
    const port = modelExperimentFrom(
      {
        variantFor: async (_t, key) => {
          asked.push(key);
          return { inExperiment, config };
        },
      },
      async () => {
        settingsReads++;
        return settings;
      },
    );
    return { port, asked, reads: () => settingsReads };
  };

  it("serves the variant's model version, from the default or the configured experiment, reading settings once", async () => {
    const d = setup({ model_version: version });
    expect(await d.port('t1', 'u1')).toBe(version);
    expect(await d.port('t1', 'u2')).toBe(version);
    expect(d.asked).toEqual(['recs_model', 'recs_model']);
    expect(d.reads()).toBe(1);
    const c = setup({ model_version: version }, true, { recs: { model_experiment: 'ranker_test' } });
    await c.port('t1', 'u1');
    expect(c.asked).toEqual(['ranker_test']);
  });

  it('ignores users outside the experiment and configs without a usable version id', async () => {
    expect(await setup({ model_version: version }, false).port('t', 'u')).toBeNull();
    for (const config of [{}, null, { model_version: 'v2' }, { model_version: `${version}\u0000` }, { model_version: 42 }, 'x'])
      expect(await setup(config).port('t', 'u')).toBeNull();
  });
});
