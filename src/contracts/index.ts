/**
 * The public contract of Loupe's HTTP API: the request and response schemas (zod) and their types, for the
 * dashboard, the SDK and the benches. It re-exports schema files only (a dependency-cruiser rule holds it to
 * that), and schema files import nothing of the server but other contract files, so importing this entry
 * never drags the server in.
 */
import type { z } from 'zod';
import type * as analytics from '../modules/analytics/analytics.schemas.ts';
import type * as behaviour from '../modules/analytics/behaviour.schemas.ts';
import type * as cohorts from '../modules/analytics/cohorts.schemas.ts';
import type * as predictions from '../modules/predictions/predictions.schemas.ts';
import type * as catalog from '../modules/catalog/catalog.schemas.ts';
import type * as commerce from '../modules/commerce/commerce.schemas.ts';
import type * as orders from '../modules/commerce/orders.schemas.ts';
import type * as identity from '../modules/identity/identity.schemas.ts';
import type * as imports from '../modules/imports/imports.schemas.ts';
import type * as importMappings from '../modules/imports/mappings.schemas.ts';
import type * as pricing from '../modules/pricing/pricing.schemas.ts';
import type * as recs from '../modules/recs/recs.schemas.ts';
import type * as experiments from '../modules/experiments/experiments.schemas.ts';
import type * as experimentsAnalyze from '../modules/experiments/analyze.schemas.ts';
import type * as flags from '../modules/experiments/flags.schemas.ts';
import type * as tenancy from '../modules/tenancy/tenancy.schemas.ts';
import type * as accounts from '../modules/tenancy/accounts.schemas.ts';
import type * as sponsored from '../modules/sponsored/sponsored.schemas.ts';
import type * as newsfeed from '../modules/newsfeed/newsfeed.schemas.ts';
import type * as vis from '../modules/visibility/visibility.schemas.ts';
import type * as billing from '../modules/billing/billing.schemas.ts';
import type { CONNECTOR_TYPES } from '../modules/events/integrations.schemas.ts';
import type * as integrations from '../modules/events/integrations.schemas.ts';
import type * as eventsRetention from '../modules/events/retention.schemas.ts';
import type * as interactions from '../modules/events/interactions.schemas.ts';
import type * as tracking from '../modules/events/tracking.schemas.ts';
import type * as webhookSchemas from '../modules/webhooks/webhooks.schemas.ts';
import type * as marts from '../modules/warehouse/marts.schemas.ts';
import type * as warehouse from '../modules/warehouse/warehouse.schemas.ts';
import type { jobSchema } from '../platform/schemas.ts';

// ---- platform: the error envelope, jobs, rate-limit classes ----
export { errorBody, errorResponses, jobSchema, TENANT_RATE_CLASSES } from '../platform/schemas.ts';
export type { TenantRateClass, TenantRateClass as RateLimitClass } from '../platform/schemas.ts';
export type Job = z.infer<typeof jobSchema>;

// ---- tenancy: sign-in, sessions, tenants, users, members, API keys ----
export {
  addMemberBody,
  API_KEY_SCOPES,
  apiKeyResponse,
  createApiKeyBody,
  createdApiKeyResponse,
  rotateApiKeyBody,
  updateApiKeyBody,
  createTenantBody,
  createUserBody,
  loginBody,
  memberResponse,
  rateLimitSettings,
  ROLES,
  sessionResponse,
  tenantResponse,
  tokenResponse,
  updateTenantBody,
  userResponse,
} from '../modules/tenancy/tenancy.schemas.ts';
export type TokenResponse = z.infer<typeof tenancy.tokenResponse>;
export type SessionResponse = z.infer<typeof tenancy.sessionResponse>;
export type LoginBody = z.input<typeof tenancy.loginBody>;
export type Tenant = z.infer<typeof tenancy.tenantResponse>;
export type CreateTenantBody = z.input<typeof tenancy.createTenantBody>;
export type UpdateTenantBody = z.input<typeof tenancy.updateTenantBody>;
export type RateLimitSettings = z.input<typeof tenancy.rateLimitSettings>;
export type User = z.infer<typeof tenancy.userResponse>;
export type CreateUserBody = z.input<typeof tenancy.createUserBody>;
export type ApiKey = z.infer<typeof tenancy.apiKeyResponse>;
export type CreatedApiKey = z.infer<typeof tenancy.createdApiKeyResponse>;
export type CreateApiKeyBody = z.input<typeof tenancy.createApiKeyBody>;
export type UpdateApiKeyBody = z.input<typeof tenancy.updateApiKeyBody>;
export type RotateApiKeyBody = z.input<typeof tenancy.rotateApiKeyBody>;
export type ApiKeyKind = z.infer<typeof tenancy.apiKeyResponse>['kind'];
export type Member = z.infer<typeof tenancy.memberResponse>;
export type AddMemberBody = z.input<typeof tenancy.addMemberBody>;
export type Invitation = z.infer<typeof tenancy.invitationResponse>;
export type EmailInvitation = z.infer<typeof accounts.emailInvitation>;
export type InviteResponse = z.infer<typeof accounts.inviteResponse>;
export type InvitationList = z.infer<typeof accounts.invitationList>;
export type InvitationPreview = z.infer<typeof accounts.invitationPreview>;
export type ResetRequestResponse = z.infer<typeof accounts.resetRequestResponse>;
export type ApiKeyScope = (typeof tenancy.API_KEY_SCOPES)[number];
export type Role = (typeof tenancy.ROLES)[number];

// ---- identity (Customer 360) ----
export {
  listQuery as profileListQuery,
  mergeHistoryResponse,
  mergeView,
  ordersResponse as profileOrdersResponse,
  profileDetail,
  profileList,
  profileView,
  reviewList,
  reviewView,
  unmergeBody,
} from '../modules/identity/identity.schemas.ts';
export type Profile = z.infer<typeof identity.profileView>;
export type ProfileDetail = z.infer<typeof identity.profileDetail>;
export type ProfileList = z.infer<typeof identity.profileList>;
export type ProfileQuery = z.input<typeof identity.listQuery>;
export type ProfileSort = (typeof identity.PROFILE_SORTS)[number];
export type MergeHistory = z.infer<typeof identity.mergeHistoryResponse>;
export type ProfileOrders = z.infer<typeof identity.ordersResponse>;
export type Merge = z.infer<typeof identity.mergeView>;
export type ReviewCase = z.infer<typeof identity.reviewView>;
export type ReviewList = z.infer<typeof identity.reviewList>;
export type UnmergeBody = NonNullable<z.input<typeof identity.unmergeBody>>;

// ---- imports ----
export {
  dataQualityResponse,
  importDetail,
  importListQuery,
  importListResponse,
  importRun,
  mappingPreviewBody,
  mappingPreviewResponse,
  uploadAsyncResponse,
  uploadFields,
  uploadSyncResponse,
  validationError as importValidationError,
} from '../modules/imports/imports.schemas.ts';
export type UploadFields = z.input<typeof imports.uploadFields>;
export type UploadSyncResponse = z.infer<typeof imports.uploadSyncResponse>;
export type UploadAsyncResponse = z.infer<typeof imports.uploadAsyncResponse>;
export type ImportRun = z.infer<typeof imports.importRun>;
export type ImportList = z.infer<typeof imports.importListResponse>;
export type ImportSort = (typeof imports.IMPORT_SORTS)[number];
export type ImportDetail = z.infer<typeof imports.importDetail>;
export type ImportValidationError = z.infer<typeof imports.validationError>;
export type DataQuality = z.infer<typeof imports.dataQualityResponse>;
export type MappingPreviewBody = z.input<typeof imports.mappingPreviewBody>;
export type MappingPreview = z.infer<typeof imports.mappingPreviewResponse>;
export type RerunImportBody = z.input<typeof imports.rerunBody>;
export type ImportStorage = z.infer<typeof imports.importStorage>;
export type SavedMappingBody = z.input<typeof importMappings.savedMappingBody>;
export type SavedMapping = z.infer<typeof importMappings.savedMapping>;
export type SavedMappingList = z.infer<typeof importMappings.savedMappingList>;

// ---- catalog ----
export {
  categoryListResponse,
  categoryResponse,
  categoryTreeResponse,
  itemCreateBody,
  itemListQuery,
  itemListResponse,
  itemResponse,
  itemUpdateBody,
  searchQuery,
  searchResponse,
  autocompleteQuery,
  autocompleteResponse,
} from '../modules/catalog/catalog.schemas.ts';
export type Item = z.infer<typeof catalog.itemResponse>;
export type ItemList = z.infer<typeof catalog.itemListResponse>;
export type ItemListQuery = z.input<typeof catalog.itemListQuery>;
export type Category = z.infer<typeof catalog.categoryResponse>;
export type CategoryTreeNode = catalog.CategoryTreeJson;

// ---- events: the tracking API (the SDK's client and the install page's live check) ----
export type InteractionBody = z.input<typeof interactions.interactionBody>;
/** POST /api/v1/analytics/session/start (the SDK's `analytics.startSession` and the tracker's `startSession`). */
export type SessionStartBody = z.input<typeof tracking.sessionStartBody>;
export type Session = z.infer<typeof tracking.sessionResponse>;
export type InteractionResponse = z.infer<typeof interactions.interactionResponse>;
export type InteractionBatchResult = z.infer<typeof interactions.batchResultSchema>;
export type Arrivals = z.infer<typeof interactions.arrivalsResponse>;

// ---- events: integrations ----
export { CONNECTOR_TYPES, publicUrlView } from '../modules/events/integrations.schemas.ts';
export type ConnectorType = (typeof CONNECTOR_TYPES)[number];
export type PublicUrlView = z.infer<typeof integrations.publicUrlView>;

// ---- recommendations ----
export {
  dashboardQuery,
  dashboardResponse,
  deployBody,
  deploymentSchema,
  MODEL_TYPES,
  progressResponse,
  recommendBody,
  recommendResponse,
  similarBody,
  similarResponse,
  trainBody,
  trainResponse,
  versionSchema,
  versionsResponse,
} from '../modules/recs/recs.schemas.ts';
export type ModelType = (typeof recs.MODEL_TYPES)[number];
export type TrainBody = z.input<typeof recs.trainBody>;
export type TrainResponse = z.infer<typeof recs.trainResponse>;
export type TrainingProgress = z.infer<typeof recs.progressResponse>;
export type RecommendBody = z.input<typeof recs.recommendBody>;
export type RecommendResponse = z.infer<typeof recs.recommendResponse>;
export type SimilarBody = z.input<typeof recs.similarBody>;
export type SimilarResponse = z.infer<typeof recs.similarResponse>;
export type ModelVersion = z.infer<typeof recs.versionSchema>;
export type Deployment = z.infer<typeof recs.deploymentSchema>;
export type VersionsResponse = z.infer<typeof recs.versionsResponse>;
export type DeployBody = NonNullable<z.input<typeof recs.deployBody>>;
export type AnalyticsDashboard = z.infer<typeof recs.dashboardResponse>;

// ---- analytics: seed 000's reports ----
export {
  cartProductsResponse,
  cartResponse as analyticsCartResponse,
  DEFAULT_FUNNEL_STEPS,
  funnelResponse,
  itemSalesResponse,
  kpisResponse,
  pageViewsResponse,
  realtimeResponse,
  sessionsResponse,
  sessionTimelineResponse,
  topPagesResponse,
} from '../modules/analytics/analytics.schemas.ts';
export type SessionsReport = z.infer<typeof analytics.sessionsResponse>;
export type PageViewsReport = z.infer<typeof analytics.pageViewsResponse>;
export type TopPagesReport = z.infer<typeof analytics.topPagesResponse>;
export type FunnelReport = z.infer<typeof analytics.funnelResponse>;
export type CartReport = z.infer<typeof analytics.cartResponse>;
export type CartProductsReport = z.infer<typeof analytics.cartProductsResponse>;
export type RealtimeReport = z.infer<typeof analytics.realtimeResponse>;
export type SessionTimeline = z.infer<typeof analytics.sessionTimelineResponse>;
export type KpisReport = z.infer<typeof analytics.kpisResponse>;
export type ItemSalesReport = z.infer<typeof analytics.itemSalesResponse>;
export type RetentionReport = z.infer<typeof behaviour.retentionResponse>;
export type PathsReport = z.infer<typeof behaviour.pathsResponse>;
export type Cohort = z.infer<typeof cohorts.cohortResponse>;
export type CohortList = z.infer<typeof cohorts.cohortListResponse>;
export type CohortBody = z.input<typeof cohorts.cohortBody>;
export type CohortPreview = z.infer<typeof cohorts.previewResponse>;
export type CohortRuleBody = z.input<typeof cohorts.cohortDefinition>['rules'][number];
// ---- predictions: seed 002's prediction service ----
export type PredictAllResponse = z.infer<typeof predictions.allResponse>;
export type PredictionModelVersions = z.infer<typeof predictions.modelVersionsResponse>;
export type PredictionMetricsSummary = z.infer<typeof predictions.metricsSummaryResponse>;
export type PredictionSegments = z.infer<typeof predictions.segmentsResponse>;
export type PredictionSegmentHistory = z.infer<typeof predictions.segmentHistoryResponse>;
export type AtRiskResponse = z.infer<typeof predictions.atRiskResponse>;
export type ForecastResponse = z.infer<typeof predictions.forecastResponse>;
export type ItemForecastResponse = z.infer<typeof predictions.itemForecastResponse>;
export type DriftResponse = z.infer<typeof predictions.driftResponse>;
// ---- commerce: carts (seed 000), checkout, orders, promotions, checkout settings ----
export { addItemBody, cartQuery, cartResponse, mergeBody, updateLineBody } from '../modules/commerce/commerce.schemas.ts';
export {
  completeBody,
  completeResponse,
  ORDER_STATUSES,
  orderDetail,
  orderListQuery,
  orderListResponse,
  promotionBody,
  promotionListResponse,
  refundBody,
  settingsBody,
  settingsResponse,
} from '../modules/commerce/orders.schemas.ts';
export type CartResponse = z.infer<typeof commerce.cartResponse>;
export type AddItemBody = z.input<typeof commerce.addItemBody>;
export type OrderStatus = (typeof orders.ORDER_STATUSES)[number];
export type OrderSummary = z.infer<typeof orders.orderSummary>;
export type OrderDetail = z.infer<typeof orders.orderDetail>;
export type OrderList = z.infer<typeof orders.orderListResponse>;
export type OrderListQuery = z.input<typeof orders.orderListQuery>;
export type OrderSort = (typeof orders.ORDER_SORTS)[number];
export type RefundBody = z.input<typeof orders.refundBody>;
export type CompleteResponse = z.infer<typeof orders.completeResponse>;
export type Promotion = z.infer<typeof orders.promotionResponse>;
export type PromotionList = z.infer<typeof orders.promotionListResponse>;
export type CommerceSettings = z.infer<typeof orders.settingsResponse>;
// ---- pricing: stores, feeds, offers, match groups, seed 000's product page and price history ----
export {
  feedRunSchema,
  feedUploadResponse,
  groupListResponse,
  groupSchema,
  offerListResponse,
  offerSchema,
  priceHistoryResponse,
  productResponse,
  alertCreateBody,
  alertEventsResponse,
  alertListResponse,
  alertSchema,
  reviewDecisionResponse,
  reviewListResponse,
  reviewSchema,
  sourceConnectBody,
  sourceListResponse,
  storeCreateBody,
  storeListResponse,
  storeSchema,
} from '../modules/pricing/pricing.schemas.ts';
export type PricingStore = z.infer<typeof pricing.storeSchema>;
export type PricingStoreList = z.infer<typeof pricing.storeListResponse>;
export type PricingSourceList = z.infer<typeof pricing.sourceListResponse>;
export type ConnectPricingSourceBody = z.input<typeof pricing.sourceConnectBody>;
export type CreatePricingStoreBody = z.input<typeof pricing.storeCreateBody>;
export type FeedRun = z.infer<typeof pricing.feedRunSchema>;
export type PricingOffer = z.infer<typeof pricing.offerSchema>;
export type PricingOfferList = z.infer<typeof pricing.offerListResponse>;
export type MatchGroup = z.infer<typeof pricing.groupSchema>;
export type MatchGroupList = z.infer<typeof pricing.groupListResponse>;
export type Product = z.infer<typeof pricing.productResponse>;
export type PriceHistory = z.infer<typeof pricing.priceHistoryResponse>;
export type MatchReview = z.infer<typeof pricing.reviewSchema>;
export type MatchReviewList = z.infer<typeof pricing.reviewListResponse>;
export type MatchReviewDecision = z.infer<typeof pricing.reviewDecisionResponse>;
export type PriceAlert = z.infer<typeof pricing.alertSchema>;
export type PriceAlertList = z.infer<typeof pricing.alertListResponse>;
export type CreatePriceAlertBody = z.input<typeof pricing.alertCreateBody>;
export type PriceAlertEvents = z.infer<typeof pricing.alertEventsResponse>;

/** Money, formatted and parsed as the server does (ISO 4217 minor units); runtime code, also in `./money.ts`. */
export { CURRENCY_CODES, currencyExponent, formatMoney, formatMoneyDisplay, isCurrencyCode, minorToMajor, parseMoney } from './money.ts';

// ---- sponsored content (seed 000) ----
export {
  campaignCreateBody,
  campaignListResponse,
  campaignResponse,
  campaignUpdateBody,
  eligibleResponse,
  performanceResponse,
  rejectBody,
  statementResponse,
} from '../modules/sponsored/sponsored.schemas.ts';
export type Campaign = z.infer<typeof sponsored.campaignResponse>;
export type CampaignList = z.infer<typeof sponsored.campaignListResponse>;
export type CampaignCreateBody = z.input<typeof sponsored.campaignCreateBody>;
export type CampaignUpdateBody = z.input<typeof sponsored.campaignUpdateBody>;
export type CampaignPerformance = z.infer<typeof sponsored.performanceResponse>;
export type EligibleResponse = z.infer<typeof sponsored.eligibleResponse>;
export type BrandStatement = z.infer<typeof sponsored.statementResponse>;

// ---- newsfeed and shopper preferences (seed 000) ----
export { feedResponse, preferencesResponse, styleProfileResponse } from '../modules/newsfeed/newsfeed.schemas.ts';
export type Newsfeed = z.infer<typeof newsfeed.feedResponse>;
export type ShopperPreferences = z.infer<typeof newsfeed.preferencesResponse>;
export type StyleProfile = z.infer<typeof newsfeed.styleProfileResponse>;
// ---- experiments: A/B tests, assignment, tracking, results, the analysis of summary statistics ----
export { analyzeBody, analyzeResponse } from '../modules/experiments/analyze.schemas.ts';
export {
  assignBody,
  assignResponse,
  createBody as createExperimentBody,
  experimentSchema,
  liftResponse,
  listResponse as experimentListResponse,
  reportResponse as experimentReportResponse,
  trackBody as trackExperimentEventBody,
  trackPurchaseBody as trackExperimentPurchaseBody,
  variantsBody as experimentVariantsBody,
} from '../modules/experiments/experiments.schemas.ts';
export type Experiment = z.infer<typeof experiments.experimentSchema>;
export type ExperimentList = z.infer<typeof experiments.listResponse>;
export type CreateExperimentBody = z.input<typeof experiments.createBody>;
export type ExperimentReport = z.infer<typeof experiments.reportResponse>;
export type AnalyzeBody = z.input<typeof experimentsAnalyze.analyzeBody>;
export type AnalyzeResponse = z.infer<typeof experimentsAnalyze.analyzeResponse>;
// ---- feature flags (experiments module): administration, SDK client keys, the GrowthBook SDK payload ----
export {
  clientKeyListResponse as flagClientKeyListResponse,
  createFlagBody,
  exposuresBody as flagExposuresBody,
  flagListResponse,
  flagSchema,
  sdkPayloadResponse as flagSdkPayloadResponse,
  updateFlagBody,
} from '../modules/experiments/flags.schemas.ts';
export type Flag = z.infer<typeof flags.flagSchema>;
export type FlagList = z.infer<typeof flags.flagListResponse>;
export type CreateFlagBody = z.input<typeof flags.createFlagBody>;
export type UpdateFlagBody = z.input<typeof flags.updateFlagBody>;
export type FlagClientKeyList = z.infer<typeof flags.clientKeyListResponse>;
export type FlagExposureCounts = z.infer<typeof flags.exposureCountsResponse>;
/** Visibility (seed 004): feed precheck, feed jobs, the Google connection, the business profile, feedback. */
export type PrecheckResponse = z.infer<typeof vis.precheckResponse>;
export type FeedJob = z.infer<typeof vis.feedJob>;
export type FeedJobList = z.infer<typeof vis.feedJobList>;
export type FeedItemIssues = z.infer<typeof vis.feedItemIssues>;
export type GoogleStatus = z.infer<typeof vis.googleStatus>;
export type BusinessProfileJson = z.infer<typeof vis.profileResponse>;
export type BusinessProfileBody = z.input<typeof vis.profileBody>;
export type ProfileValidation = z.infer<typeof vis.profileValidation>;
export type GbpLocationList = z.infer<typeof vis.gbpLocationList>;
export type GbpStatus = z.infer<typeof vis.gbpStatus>;
export type GbpSyncResult = z.infer<typeof vis.gbpSyncResult>;
export type GbpInsights = z.infer<typeof vis.gbpInsights>;
/** Billing (seed 004): plans, the tenant's subscription and usage, Stripe Checkout. */
export type BillingStatus = z.infer<typeof billing.billingStatus>;
export type BillingPlan = z.infer<typeof billing.planSchema>;
export type CheckoutBody = z.input<typeof billing.checkoutBody>;
export type CheckoutResponse = z.infer<typeof billing.checkoutResponse>;

// ---- webhooks: outbound endpoints, deliveries and their log ----
export type {
  EndpointResponse as WebhookEndpoint,
  EndpointWithSecretResponse as WebhookEndpointWithSecret,
  DeliveryResponse as WebhookDelivery,
  DeliveryDetailResponse as WebhookDeliveryDetail,
  WebhookStatsResponse as WebhookStats,
  WebhookEventTypesResponse as WebhookEventTypes,
} from '../modules/webhooks/webhooks.schemas.ts';
// ---- onboarding: the first-run checklist ----
export type { ChecklistResponse } from '../modules/onboarding/onboarding.schemas.ts';
export type { RegionalResponse } from '../modules/tenancy/regional.schemas.ts';

// ---- the SDK's typed client: request and response types not named above ----
export type ItemCreateBody = z.input<typeof catalog.itemCreateBody>;
export type ItemUpdateBody = z.input<typeof catalog.itemUpdateBody>;
export type ItemBulkResponse = z.infer<typeof catalog.bulkResponse>;
export type SearchQuery = z.input<typeof catalog.searchQuery>;
export type SearchResponse = z.infer<typeof catalog.searchResponse>;
export type AutocompleteQuery = z.input<typeof catalog.autocompleteQuery>;
export type AutocompleteResponse = z.infer<typeof catalog.autocompleteResponse>;
export type CategoryList = z.infer<typeof catalog.categoryListResponse>;
export type CategoryCreateBody = z.input<typeof catalog.categoryCreateBody>;
export type CategoryUpdateBody = z.input<typeof catalog.categoryUpdateBody>;
export type ProfileListQuery = z.input<typeof identity.listQuery>;
export type ProfileLookupQuery = z.input<typeof identity.lookupQuery>;
export type ProfileExport = z.infer<typeof identity.exportResponse>;
export type ProfileErasure = z.infer<typeof identity.eraseResponse>;
export type PredictBody = z.input<typeof predictions.predictBody>;
export type ChurnResponse = z.infer<typeof predictions.churnResponse>;
export type LtvResponse = z.infer<typeof predictions.ltvResponse>;
export type AtRiskQuery = z.input<typeof predictions.atRiskQuery>;
export type NewsfeedQuery = z.input<typeof newsfeed.feedQuery>;
export type ShopperPreferencesBody = z.input<typeof newsfeed.preferencesBody>;
export type AssignBody = z.input<typeof experiments.assignBody>;
export type AssignResponse = z.infer<typeof experiments.assignResponse>;
export type ExperimentTrackBody = z.input<typeof experiments.trackBody>;
export type ExperimentPurchaseBody = z.input<typeof experiments.trackPurchaseBody>;
export type WebhookEndpointCreateBody = z.input<typeof webhookSchemas.endpointCreateBody>;
export type WebhookEndpointUpdateBody = z.input<typeof webhookSchemas.endpointUpdateBody>;
export type WebhookEndpointList = z.infer<typeof webhookSchemas.endpointListResponse>;
export type WebhookDeliveryListQuery = z.input<typeof webhookSchemas.deliveryListQuery>;
export type WebhookDeliveryList = z.infer<typeof webhookSchemas.deliveryListResponse>;
export type ExperimentClickBody = z.input<typeof experiments.trackClickBody>;
export type ExperimentAddToCartBody = z.input<typeof experiments.trackAddToCartBody>;
export type ExperimentTrackResponse = z.infer<typeof experiments.trackResponse>;
export type ShopperChange = z.infer<typeof newsfeed.changedResponse>;
// ---- warehouse: export status, marts, data quality ----
export type WarehouseExportStatus = z.infer<typeof warehouse.exportStatusResponse>;
export type RetentionStatus = z.infer<typeof eventsRetention.retentionResponse>;
export type RetentionPurge = z.infer<typeof eventsRetention.purgeResponse>;
export type WarehouseManifest = z.infer<typeof warehouse.manifestResponse>;
export type MartList = z.infer<typeof marts.martsListResponse>;
export type MartPage = z.infer<typeof marts.martPageResponse>;
export type MartQuery = z.input<typeof marts.martQuery>;
export type QualityReport = z.infer<typeof marts.qualityResponse>;
