/** The visibility module's public schemas, gathered for src/contracts. */
export { feedItemIssues, feedJob, feedJobList, precheckResponse } from './feeds.schemas.ts';
export { googleStatus } from './google.schemas.ts';
export { profileBody, profileResponse, profileValidation } from './profile.schemas.ts';
export { gbpInsights, gbpLocationList, gbpStatus, gbpSyncResult } from './gbp.schemas.ts';
