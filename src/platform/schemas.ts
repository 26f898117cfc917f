import { z } from 'zod';

/** The one error shape (DESIGN.md), declared on every route so the OpenAPI document shows it. */
export const errorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.object({ field: z.string().optional(), message: z.string() }).loose()).optional(),
    request_id: z.string(),
  }),
});

export const errorResponses = {
  400: errorBody,
  401: errorBody,
  403: errorBody,
  404: errorBody,
  409: errorBody,
  429: errorBody,
} as const;
