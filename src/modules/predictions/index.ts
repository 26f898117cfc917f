/**
 * Predictions: customer-lifetime value, churn, segments and demand forecasts over profiles and their orders.
 * Public entry.
 */
export { parseClvSummary, parseSeries, parseTransactions } from './predictions.files.ts';
export { fitClvSummary } from './predictions.offline.ts';
