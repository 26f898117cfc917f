/**
 * Which rescoring changes are events for webhooks (pure): a profile entering an RFM segment, and a profile's churn
 * probability crossing the tenant's at-risk threshold. On change only: a rescore that moves nothing emits nothing.
 */

export interface ScoreState {
  segment: string;
  churnProbability: number | null;
}

export type ScoreEvent =
  | {
      type: 'predictions.segment.entered';
      idempotencyKey: string;
      payload: { profile_id: string; segment: string; previous_segment: string | null; scored_at: string };
    }
  | {
      type: 'predictions.churn_risk.crossed';
      idempotencyKey: string;
      payload: {
        profile_id: string;
        direction: 'above' | 'below';
        churn_probability: number;
        previous_churn_probability: number;
        threshold: number;
        scored_at: string;
      };
    };

/**
 * The events between the stored scores (`previous`) and a new run's (`next`). A profile new to the scores enters its
 * segment only when the tenant had scores before (the first run of a tenant is a baseline, not a flood of events);
 * churn crosses when both probabilities are known and lie on either side of `threshold` (at or above is "above").
 * Keys name the profile, the change and the run's time, so publishing a run twice sends each event once.
 */
export function scoreEvents(
  previous: ReadonlyMap<string, ScoreState>,
  next: readonly ({ profileId: string } & ScoreState)[],
  threshold: number,
  asOf: Date,
): ScoreEvent[] {
  const at = asOf.toISOString();
  const out: ScoreEvent[] = [];
  for (const s of next) {
    const before = previous.get(s.profileId);
    if (before ? before.segment !== s.segment : previous.size > 0)
      out.push({
        type: 'predictions.segment.entered',
        idempotencyKey: `segment:${s.profileId}:${s.segment}:${at}`,
        payload: { profile_id: s.profileId, segment: s.segment, previous_segment: before?.segment ?? null, scored_at: at },
      });
    const was = before?.churnProbability;
    const now = s.churnProbability;
    if (was != null && now != null && was >= threshold !== now >= threshold) {
      const direction = now >= threshold ? 'above' : 'below';
      out.push({
        type: 'predictions.churn_risk.crossed',
        idempotencyKey: `churn:${s.profileId}:${direction}:${at}`,
        payload: { profile_id: s.profileId, direction, churn_probability: now, previous_churn_probability: was, threshold, scored_at: at },
      });
    }
  }
  return out;
}
