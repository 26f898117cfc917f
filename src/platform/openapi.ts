import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/** The OpenAPI 3 document comes from the route schemas; `/docs` browses it, `/docs/json` serves it. */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Loupe API',
        version,
        description:
          'Self-hosted commerce intelligence. Authenticate with `Authorization: Bearer <access token>` (dashboard users, from /api/v1/auth/login) ' +
          'or `Bearer sk_live_...` (API keys, scoped). Errors share one shape: `{"error": {"code", "message", "details", "request_id"}}`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An access token or an API key (sk_live_...)' },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });
}
