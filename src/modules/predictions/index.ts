/**
 * Predictions: customer-lifetime value, churn, segments and demand forecasts over profiles and their orders.
 * Public entry.
 */
export { parseClvSummary, parseSeries, parseTransactions } from './predictions.files.ts';
export { churnFromTransactions, fitClvSummary, ordersByCustomer, scoreChurn, trainChurn } from './predictions.offline.ts';
export { parseDay } from './predictions.files.ts';
export { evaluateForecast, forecastSeriesFile } from './predictions.forecast.ts';
