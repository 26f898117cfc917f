/**
 * The "now" side of drift (pure; runs in the predictions worker thread): scores today's population with the
 * active models and compares each model's watched columns with the distribution it was trained on.
 */
import { type ColumnDrift, driftReport, type DriftReference } from './drift.core.ts';
import type { CustomerOrders } from './features.core.ts';
import type { ModelKind } from './predictions.repository.ts';
import { driftColumns, type RunScore, scoreAll, servingFrom, type StoredModel } from './training.run.ts';

export interface DriftRunInput {
  customers: Map<string, CustomerOrders>;
  now: number;
  /** Active versions with the drift reference kept at training (versions trained before drift monitoring have none). */
  versions: (StoredModel & { reference: DriftReference | null })[];
  /** Send the scores back too (the nightly rescore writes them). */
  withScores?: boolean;
}

export interface ModelDrift {
  kind: ModelKind;
  versionId: string;
  version: string;
  /** Customers in the training population (null: no reference kept). */
  referenceCustomers: number | null;
  columns: ColumnDrift[];
}

export interface DriftRunOutput {
  customers: number;
  models: ModelDrift[];
  scores?: RunScore[];
}

export function measureDrift(input: DriftRunInput): DriftRunOutput {
  const scores = scoreAll(servingFrom(input.versions), input.customers, input.now);
  const cols = driftColumns(scores);
  return {
    customers: scores.length,
    models: input.versions.map((v) => ({
      kind: v.kind,
      versionId: v.id,
      version: v.version,
      referenceCustomers: v.reference?.customers ?? null,
      columns: v.reference ? driftReport(v.reference, cols) : [],
    })),
    ...(input.withScores ? { scores } : {}),
  };
}
