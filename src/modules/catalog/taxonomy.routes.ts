import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/index.ts';
import { BUNDLED_TAXONOMY_PATH, type TaxonomyService } from './taxonomy.service.ts';

const loadBody = z
  .object({
    url: z
      .url()
      .max(2000)
      .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL')
      .optional()
      .describe(
        'A taxonomy-with-ids file, e.g. https://www.google.com/basepages/producttype/taxonomy-with-ids.en-US.txt; the full taxonomy bundled with the app when omitted',
      ),
  })
  .strict();
const loadResponse = z.object({ loaded: z.number(), errors: z.array(z.object({ line: z.number(), message: z.string() })) });

/** Platform administration of the shared Google taxonomy table (not tenant data). */
export async function taxonomyRoutes(app: FastifyInstance, deps: { taxonomy: TaxonomyService }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/api/v1/admin/google-taxonomy',
    {
      schema: {
        tags: ['catalog'],
        summary: "Load or reload Google's product taxonomy (taxonomy-with-ids format)",
        body: loadBody,
        response: { 200: loadResponse, ...errorResponses },
      },
      config: { auth: { kind: 'platform_admin' }, audit: { action: 'catalog.google_taxonomy.load', resourceType: 'google_taxonomy' } },
    },
    async (request) => {
      const out = await deps.taxonomy.loadFrom(request.body.url ?? BUNDLED_TAXONOMY_PATH);
      return { loaded: out.loaded, errors: out.errors.slice(0, 100) };
    },
  );
}
