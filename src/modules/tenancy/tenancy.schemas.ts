import { z } from 'zod';
import { API_KEY_SCOPES, PUBLISHABLE_SCOPES, ROLES } from '../../platform/access.ts';
import { weakPasswordReason } from './password-policy.core.ts';

export { API_KEY_SCOPES, ROLES };

/** Request and response schemas of the tenancy module (JSON in snake_case; seeds 003 and 004). */
export const email = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: 'must be a valid e-mail address' }));
/** A new password: 8 to 256 characters and not guessable (common-password lists, patterns). */
export const password = z
  .string()
  .min(8, 'must be at least 8 characters')
  .max(256, 'must be at most 256 characters')
  .superRefine((value, ctx) => {
    if (value.length < 8 || value.length > 256) return;
    const reason = weakPasswordReason(value);
    if (reason) ctx.addIssue({ code: 'custom', message: reason });
  });
export const role = z.enum(ROLES);

const rateLimit = z
  .object({ requests_per_minute: z.number().int().min(1).max(1_000_000), burst: z.number().int().min(0).max(1_000_000).default(0) })
  .strict();
/**
 * `settings.rate_limit`: seed 004's `{ requests_per_minute, burst }` is the management limit (dashboard and
 * administrative API); `serving` (recommendations, similar, search, autocomplete) and `ingest` (interactions,
 * tracking, Segment, imports) set those classes; a class left out keeps the server default.
 */
export const rateLimitSettings = z
  .object({
    requests_per_minute: z.number().int().min(1).max(1_000_000).optional(),
    burst: z.number().int().min(0).max(1_000_000).optional(),
    serving: rateLimit.optional(),
    ingest: rateLimit.optional(),
  })
  .strict()
  .refine((r) => r.burst === undefined || r.requests_per_minute !== undefined, {
    message: 'burst needs requests_per_minute',
    path: ['burst'],
  });
export const tenantSettings = z
  .record(z.string().max(100), z.unknown())
  .refine((s) => JSON.stringify(s).length <= 64_000, 'settings must be under 64 kB');

export const slug = z
  .string()
  .min(2)
  .max(48)
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, 'must be lower-case letters, digits and dashes');

export const createTenantBody = z
  .object({ name: z.string().trim().min(1).max(200), slug: slug.optional(), settings: tenantSettings.optional() })
  .strict();
export const updateTenantBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    slug: slug.optional(),
    settings: tenantSettings.optional(),
    status: z.enum(['active', 'suspended']).optional(),
  })
  .strict();
export const tenantResponse = z.object({
  id: z.string(),
  name: z.string(),
  slug: z.string(),
  status: z.string(),
  settings: z.record(z.string(), z.unknown()),
  created_at: z.string(),
  updated_at: z.string(),
});

export const createUserBody = z
  .object({
    email,
    password,
    name: z.string().trim().max(200).optional(),
    tenant_id: z.uuid().optional(),
    role: role.optional(),
    is_platform_admin: z.boolean().optional(),
  })
  .strict();
export const userResponse = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string().nullable(),
  tenant_id: z.string().nullable(),
  role: z.string().nullable(),
  status: z.string(),
  is_platform_admin: z.boolean(),
});

export const registerBody = z
  .object({ email, password, name: z.string().trim().max(200).optional(), tenant_name: z.string().trim().min(1).max(200).optional() })
  .strict();
export const registerAccepted = z.object({
  status: z.literal('verification_sent'),
  message: z.string(),
});
export const registerVerifyBody = z.object({ token: z.string().min(1).max(200) }).strict();
export const loginBody = z.object({ email: z.string().max(254), password: z.string().max(256) }).strict();
export const refreshBody = z
  .object({
    refresh_token: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe(
        'The refresh token; left out by a browser in cookie mode (X-Loupe-Refresh: cookie), which sends its HttpOnly cookie instead',
      ),
  })
  .strict()
  .nullish();
export const logoutBody = z
  .object({ refresh_token: z.string().max(200).optional() })
  .strict()
  .nullish();
export const stepUpBody = z
  .object({
    password: z.string().max(256).optional(),
    code: z.string().max(20).optional().describe('With two-factor sign-in on: the current code of the authenticator app'),
    recovery_code: z.string().max(40).optional(),
  })
  .strict();
/** The answer of a right password for an account with two-factor sign-in: exchange mfa_token and a code at /auth/2fa/verify. */
export const mfaChallengeResponse = z.object({
  mfa_required: z.literal(true),
  mfa_token: z.string(),
  expires_in: z.number(),
});

export const tokenResponse = z.object({
  access_token: z.string(),
  refresh_token: z
    .string()
    .optional()
    .describe('Absent in cookie mode (request header X-Loupe-Refresh: cookie): the token is then set as the HttpOnly cookie loupe_refresh'),
  token_type: z.literal('Bearer'),
  expires_in: z.number(),
  user: z.object({
    id: z.string(),
    email: z.string(),
    tenant_id: z.string().nullable(),
    role: z.string().nullable(),
    is_platform_admin: z.boolean(),
  }),
});

/** A signed-in session as every sign-in path returns it (password, refresh, invitation, registration, 2FA, SSO). */
export interface SignedInSession {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: { id: string; email: string; isPlatformAdmin: boolean };
  tenantId: string | null;
  role: string | null;
}
/** The one mapping of a signed-in session to `tokenResponse`. */
export function tokenReply(t: SignedInSession): z.infer<typeof tokenResponse> {
  return {
    access_token: t.accessToken,
    refresh_token: t.refreshToken,
    token_type: 'Bearer',
    expires_in: t.expiresIn,
    user: { id: t.user.id, email: t.user.email, tenant_id: t.tenantId, role: t.role, is_platform_admin: t.user.isPlatformAdmin },
  };
}

export const sessionResponse = z.object({
  user: z.object({
    id: z.string(),
    email: z.string(),
    name: z.string().nullable(),
    is_platform_admin: z.boolean(),
    two_factor_enabled: z.boolean(),
  }),
  session: z.object({ id: z.string(), created_at: z.string(), expires_at: z.string(), auth_time: z.string(), elevated_until: z.string() }),
  tenants: z.array(z.object({ id: z.string(), name: z.string(), slug: z.string(), status: z.string(), role: z.string() })),
  active_tenant_id: z.string().nullable(),
});

const allowedOrigins = z.array(z.string().max(300)).min(1, 'give at least one origin').max(50);
const rateLimitPerMinute = z
  .number()
  .int()
  .min(1)
  .max(1_000_000)
  .nullable()
  .describe("This key's own budget of requests a minute (null: none)");
export const createApiKeyBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    kind: z
      .enum(['secret', 'publishable'])
      .default('secret')
      .describe('secret (sk_live_, for servers) or publishable (pk_live_, safe in web pages: collection and serving only)'),
    scopes: z
      .array(z.enum(API_KEY_SCOPES))
      .min(1, 'give at least one scope')
      .max(API_KEY_SCOPES.length)
      .optional()
      .describe(`Required for secret keys. Publishable keys take a subset of ${PUBLISHABLE_SCOPES.join(', ')} (default: all of them).`),
    allowed_origins: allowedOrigins
      .optional()
      .describe('Publishable keys only, required: the origins (https://shop.example) that may use it'),
    rate_limit_per_minute: rateLimitPerMinute.optional(),
    expires_at: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();
export const updateApiKeyBody = z
  .object({ allowed_origins: allowedOrigins.optional(), rate_limit_per_minute: rateLimitPerMinute.optional() })
  .strict()
  .refine((b) => b.allowed_origins !== undefined || b.rate_limit_per_minute !== undefined, 'give allowed_origins or rate_limit_per_minute');
export const rotateApiKeyBody = z
  .object({
    grace_seconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600)
      .optional()
      .describe('How long the old key keeps working (default 86400; 0 stops it at once)'),
  })
  .strict()
  .default({});
export const apiKeyResponse = z.object({
  id: z.string(),
  name: z.string(),
  key_prefix: z.string(),
  scopes: z.array(z.string()),
  kind: z.enum(['secret', 'publishable']),
  publishable_key: z.string().nullable().describe('Publishable keys only: the key itself (public by design, for the install snippet)'),
  allowed_origins: z.array(z.string()),
  rate_limit_per_minute: z.number().int().nullable(),
  created_by: z.string().nullable().describe('The user who created the key (null: created by the platform)'),
  created_by_email: z.string().nullable(),
  created_by_name: z.string().nullable(),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});
export const createdApiKeyResponse = apiKeyResponse.extend({ api_key: z.string().describe('The secret. Shown only once: store it now.') });

export const memberResponse = z.object({
  user_id: z.string(),
  email: z.string(),
  name: z.string().nullable(),
  role: z.string(),
  status: z.string(),
  membership_status: z.enum(['active', 'invited']).describe('invited: an existing account that has not accepted yet'),
  created_at: z.string(),
  last_login_at: z.string().nullable().describe('null while invited'),
});
export const removeMemberQuery = z
  .object({ api_keys: z.enum(['revoke', 'reassign']).default('revoke'), reassign_to: z.uuid().optional() })
  .strict();
export const invitationResponse = z.object({
  tenant_id: z.string(),
  tenant_name: z.string(),
  tenant_slug: z.string(),
  role: z.string(),
  invited_by_email: z.string().nullable(),
  created_at: z.string(),
});
export const defaultTenantBody = z.object({ tenant_id: z.uuid().nullable() }).strict();
export const addMemberBody = z.object({ email, role, password: password.optional(), name: z.string().trim().max(200).optional() }).strict();
export const changeRoleBody = z.object({ role }).strict();

export const whoamiResponse = z.object({
  actor_type: z.enum(['user', 'api_key', 'system']),
  actor_id: z.string(),
  tenant_id: z.string(),
  role: z.string().nullable(),
  scopes: z.array(z.string()).nullable(),
  permissions: z.array(z.string()),
});
