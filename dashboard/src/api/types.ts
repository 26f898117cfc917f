/**
 * Request and response types of the Loupe API, inferred from the server's own zod schemas (type-only
 * imports: nothing server-side is bundled). Modules whose schemas have not landed yet are typed here
 * from their issue texts and seeds, loosely, and every page reads them defensively.
 */
import type { z } from 'zod';
import type * as tenancy from '../../../src/modules/tenancy/tenancy.schemas.ts';
import type { jobSchema } from '../../../src/platform/platform.routes.ts';
import type { API_KEY_SCOPES, ROLES } from '../../../src/platform/access.ts';
import type { TenantRateClass } from '../../../src/platform/rate-limit.ts';

export type TokenResponse = z.infer<typeof tenancy.tokenResponse>;
export type SessionResponse = z.infer<typeof tenancy.sessionResponse>;
export type LoginBody = z.input<typeof tenancy.loginBody>;
export type Tenant = z.infer<typeof tenancy.tenantResponse>;
export type CreateTenantBody = z.input<typeof tenancy.createTenantBody>;
export type UpdateTenantBody = z.input<typeof tenancy.updateTenantBody>;
export type User = z.infer<typeof tenancy.userResponse>;
export type CreateUserBody = z.input<typeof tenancy.createUserBody>;
export type ApiKey = z.infer<typeof tenancy.apiKeyResponse>;
export type CreatedApiKey = z.infer<typeof tenancy.createdApiKeyResponse>;
export type CreateApiKeyBody = z.input<typeof tenancy.createApiKeyBody>;
export type Member = z.infer<typeof tenancy.memberResponse>;
export type AddMemberBody = z.input<typeof tenancy.addMemberBody>;
export type Job = z.infer<typeof jobSchema>;
export type RateLimitSettings = z.input<typeof tenancy.rateLimitSettings>;
export type RateLimitClass = TenantRateClass;
/** Kept in step with TENANT_RATE_CLASSES in src/platform/rate-limit.ts. */
export const RATE_LIMIT_CLASSES = ['management', 'serving', 'ingest'] as const satisfies readonly RateLimitClass[];
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
export type Role = (typeof ROLES)[number];

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
import type * as identity from '../../../src/modules/identity/identity.schemas.ts';
export type Profile = z.infer<typeof identity.profileView>;
export type ProfileDetail = z.infer<typeof identity.profileDetail>;
export type ProfileList = z.infer<typeof identity.profileList>;
export type ProfileQuery = z.input<typeof identity.listQuery>;
export type MergeHistory = z.infer<typeof identity.mergeHistoryResponse>;
export type Merge = z.infer<typeof identity.mergeView>;
export type ReviewCase = z.infer<typeof identity.reviewView>;
export type ReviewList = z.infer<typeof identity.reviewList>;
export type UnmergeBody = NonNullable<z.input<typeof identity.unmergeBody>>;

// ---- imports: src/modules/imports/imports.schemas.ts ----
import type * as imports from '../../../src/modules/imports/imports.schemas.ts';
export type UploadFields = z.input<typeof imports.uploadFields>;
export type UploadSyncResponse = z.infer<typeof imports.uploadSyncResponse>;
export type UploadAsyncResponse = z.infer<typeof imports.uploadAsyncResponse>;
export type ImportRun = z.infer<typeof imports.importRun>;
export type ImportDetail = z.infer<typeof imports.importDetail>;
export type ImportValidationError = z.infer<typeof imports.validationError>;

// ---- catalog: src/modules/catalog/catalog.schemas.ts ----
import type * as catalog from '../../../src/modules/catalog/catalog.schemas.ts';
export type Item = z.infer<typeof catalog.itemResponse>;
export type ItemList = z.infer<typeof catalog.itemListResponse>;
export type ItemListQuery = z.input<typeof catalog.itemListQuery>;
export type Category = z.infer<typeof catalog.categoryResponse>;
export type CategoryTreeNode = catalog.CategoryTreeJson;
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
export type DataQuality = z.infer<typeof imports.dataQualityResponse>;

// ---- integrations: schemas local to src/modules/events/integrations.routes.ts (not exported), mirrored ----
import type { CONNECTOR_TYPES } from '../../../src/modules/events/connectors/connector.types.ts';
export type ConnectorType = (typeof CONNECTOR_TYPES)[number];
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

// ---- recommendations: src/modules/recs/recs.schemas.ts ----
import type * as recs from '../../../src/modules/recs/recs.schemas.ts';
import type { MODEL_TYPES } from '../../../src/modules/recs/recs.core.ts';
export type ModelType = (typeof MODEL_TYPES)[number];
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
export const MODEL_TYPE_NAMES = [
  'popularity',
  'item_knn',
  'ials',
  'lightgcn',
  'graph_filter',
  'content',
] as const satisfies readonly ModelType[];
