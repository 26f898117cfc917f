import { describe, expect, it } from 'vitest';
import { scoreEvents, type ScoreState } from './score-events.core.ts';

const at = new Date('2026-12-01T02:00:00Z');
const prev = (rows: [string, string, number | null][]) =>
  new Map<string, ScoreState>(rows.map(([id, segment, churnProbability]) => [id, { segment, churnProbability }]));

describe('scoreEvents', () => {
  it('emits nothing on a rescore that changes nothing', () => {
    const p = prev([
      ['a', 'champions', 0.1],
      ['b', 'at_risk', 0.7],
    ]);
    expect(
      scoreEvents(
        p,
        [...p].map(([profileId, s]) => ({ profileId, ...s })),
        0.5,
        at,
      ),
    ).toEqual([]);
  });

  it('the first run of a tenant is a baseline, later newcomers enter their segment', () => {
    expect(scoreEvents(new Map(), [{ profileId: 'a', segment: 'new', churnProbability: 0.9 }], 0.5, at)).toEqual([]);
    const ev = scoreEvents(prev([['a', 'new', 0.2]]), [{ profileId: 'b', segment: 'new', churnProbability: 0.9 }], 0.5, at);
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ type: 'predictions.segment.entered', payload: { profile_id: 'b', previous_segment: null } });
  });

  it('segment changes and threshold crossings both ways, at the threshold counting as above', () => {
    const p = prev([
      ['a', 'loyal', 0.49],
      ['b', 'at_risk', 0.8],
      ['c', 'loyal', 0.2],
      ['d', 'loyal', null],
    ]);
    const ev = scoreEvents(
      p,
      [
        { profileId: 'a', segment: 'loyal', churnProbability: 0.5 },
        { profileId: 'b', segment: 'loyal', churnProbability: 0.3 },
        { profileId: 'c', segment: 'loyal', churnProbability: 0.45 },
        { profileId: 'd', segment: 'loyal', churnProbability: 0.9 },
      ],
      0.5,
      at,
    );
    expect(ev.map((e) => [e.type, e.payload.profile_id, 'direction' in e.payload ? e.payload.direction : e.payload.segment])).toEqual([
      ['predictions.churn_risk.crossed', 'a', 'above'],
      ['predictions.segment.entered', 'b', 'loyal'],
      ['predictions.churn_risk.crossed', 'b', 'below'],
    ]);
  });

  it('keys are unique per change and stable for the same run', () => {
    const p = prev([
      ['a', 'x', 0.1],
      ['b', 'x', 0.9],
    ]);
    const next = [
      { profileId: 'a', segment: 'y', churnProbability: 0.9 },
      { profileId: 'b', segment: 'y', churnProbability: 0.1 },
    ];
    const keys = scoreEvents(p, next, 0.5, at).map((e) => e.idempotencyKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(scoreEvents(p, next, 0.5, at).map((e) => e.idempotencyKey)).toEqual(keys);
  });
});
