/**
 * Request and response types of the Loupe API, from the server's contracts entry (src/contracts: the public
 * zod schemas; type-only imports, so nothing server-side is bundled). Modules whose schemas have not landed yet are typed here
 * from their issue texts and seeds, loosely, and every page reads them defensively.
 */
import type { ApiKeyScope, Category, ConnectorType, ModelType, RateLimitClass, Role } from '../../../src/contracts/index.ts';

export type {
  TokenResponse,
  SessionResponse,
  Tenant,
  CreateTenantBody,
  User,
  CreateUserBody,
  ApiKey,
  CreatedApiKey,
  Arrivals,
  Member,
  Invitation,
  EmailInvitation,
  InviteResponse,
  InvitationList,
  InvitationPreview,
  ResetRequestResponse,
  Job,
  RateLimitSettings,
  RateLimitClass,
  ApiKeyScope,
  Role,
  Profile,
  ProfileDetail,
  ProfileList,
  ProfileSort,
  ProfileQuery,
  MergeHistory,
  ProfileOrders,
  ReviewList,
  UploadFields,
  UploadSyncResponse,
  UploadAsyncResponse,
  ImportRun,
  ImportList,
  ImportSort,
  ImportDetail,
  ImportValidationError,
  MappingPreviewBody,
  MappingPreview,
  RerunImportBody,
  ImportStorage,
  SavedMapping,
  SavedMappingBody,
  SavedMappingList,
  PublicUrlView,
  Item,
  ItemList,
  Category,
  CategoryTreeNode,
  DataQuality,
  ConnectorType,
  ModelType,
  TrainBody,
  TrainResponse,
  TrainingProgress,
  RecommendBody,
  RecommendResponse,
  SimilarBody,
  SimilarResponse,
  VersionsResponse,
  DeployBody,
  AnalyticsDashboard,
  SessionsReport,
  TopPagesReport,
  FunnelReport,
  CartReport,
  CartProductsReport,
  SessionTimeline,
  KpisReport,
  ItemSalesReport,
  RetentionReport,
  Cohort,
  CohortList,
  CohortBody,
  CohortPreview,
  CohortRuleBody,
  PathsReport,
  PredictAllResponse,
  PredictionModelVersions,
  PredictionMetricsSummary,
  PredictionSegments,
  PredictionSegmentHistory,
  AtRiskResponse,
  ForecastResponse,
  ItemForecastResponse,
  DriftResponse,
  OrderStatus,
  OrderSummary,
  OrderDetail,
  OrderList,
  OrderSort,
  Promotion,
  PromotionList,
  PricingStoreList,
  PricingSourceList,
  FeedRun,
  ConnectPricingSourceBody,
  PricingOfferList,
  MatchGroupList,
  MatchReviewList,
  MatchReviewDecision,
  PriceAlertList,
  PriceAlertEvents,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
  WebhookDelivery,
  WebhookStats,
  WebhookEventTypes,
  Product,
  PriceHistory,
  Experiment,
  ExperimentList,
  CreateExperimentBody,
  ExperimentReport,
  Flag,
  FlagList,
  CreateFlagBody,
  UpdateFlagBody,
  FlagClientKeyList,
  FlagExposureCounts,
  Campaign,
  CampaignList,
  CampaignCreateBody,
  CampaignPerformance,
  Newsfeed,
  StyleProfile,
  ChecklistResponse,
  RegionalResponse,
  WarehouseExportStatus,
  RetentionStatus,
  RetentionPurge,
  MartList,
  MartPage,
  QualityReport,
} from '../../../src/contracts/index.ts';

/** Kept in step with TENANT_RATE_CLASSES in src/platform/schemas.ts (the `satisfies` checks the names). */
export const RATE_LIMIT_CLASSES = ['management', 'serving', 'ingest'] as const satisfies readonly RateLimitClass[];

/** Kept in step with API_KEY_SCOPES and ROLES in src/platform/access.ts (the `satisfies` checks it). */
export const SCOPES = [
  'recommendations:read',
  'interactions:write',
  'catalog:read',
  'catalog:write',
  'analytics:read',
  'profiles:read',
  'profiles:write',
  'models:manage',
  'commerce:write',
  'orders:read',
  'orders:manage',
  'experiments:manage',
  'admin',
] as const satisfies readonly ApiKeyScope[];
export const ROLE_NAMES = ['owner', 'admin', 'analyst', 'viewer'] as const satisfies readonly Role[];

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface AuditEntry {
  id: string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: string;
  status_code: number | null;
  ip: string | null;
  request_id: string | null;
  details: Record<string, unknown> | null;
  created_at: string;
}

/** The error envelope every Loupe endpoint answers with (DESIGN.md, API conventions). */
export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown[]; request_id?: string };
}

// ---- identity (Customer 360): src/modules/identity/identity.schemas.ts ----

// ---- imports: src/modules/imports/imports.schemas.ts ----

// ---- catalog: src/modules/catalog/catalog.schemas.ts ----
/** GET /api/v1/categories/:id/align/suggestions (schema local to categories.routes.ts). */
export interface GoogleCategory {
  id: number;
  name: string;
  path: string;
  parent_id: number | null;
  depth: number;
}
export interface AlignSuggestions {
  category_id: string;
  query: string;
  suggestions: (GoogleCategory & { score: number })[];
}
export interface AlignResponse {
  category: Category;
  previous_google_category_id: number | null;
  google_category: GoogleCategory | null;
}

// ---- integrations: schemas local to src/modules/events/integrations.routes.ts (not exported), mirrored ----
export interface CreateConnectionBody {
  type: ConnectorType;
  name: string;
  settings?: { shop_domain?: string; account_sid?: string; store_url?: string };
  secret?: string;
}
export interface Connection {
  id: string;
  type: string;
  name: string;
  status: string;
  settings: Record<string, unknown>;
  webhook_url: string;
  /** The full secret, in the creation answer only. */
  secret?: string;
  secret_masked: string;
  created_at: string;
  last_delivery_at: string | null;
}
export interface Delivery {
  id: string;
  delivery_id: string | null;
  topic: string | null;
  status: string;
  reason: string | null;
  http_status: number;
  events_written: number;
  received_at: string;
}
export interface BackfillResourceView {
  done: number;
  total: number | null;
  rejected: number;
  complete: boolean;
  rejected_samples: { id: string | null; reason: string }[];
}
/** GET /api/v1/integrations/:id/backfill (src/modules/events/shopify-backfill.routes.ts). */
export interface BackfillView {
  connection_id: string;
  status: 'not_started' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  run_id: string | null;
  job_id: string | null;
  resources: Record<'products' | 'customers' | 'orders', BackfillResourceView>;
  last_error: { code: string; message: string } | null;
  started_at: string | null;
  updated_at: string | null;
  finished_at: string | null;
}
export interface TestEventAnswer {
  delivered: boolean;
  http_status: number;
  delivery_id: string;
  answer: unknown;
  delivery: Delivery | null;
}

// ---- recommendations: src/modules/recs/recs.schemas.ts ----
export const MODEL_TYPE_NAMES = [
  'popularity',
  'item_knn',
  'ials',
  'lightgcn',
  'graph_filter',
  'content',
] as const satisfies readonly ModelType[];
