import { z } from 'zod';
import { SETUP_STEPS } from './onboarding.core.ts';

const stepKey = z.enum(SETUP_STEPS);
export const checklistResponse = z.object({
  steps: z.array(
    z.object({
      key: stepKey.describe(
        'import_catalog: items exist; import_orders: a purchase was recorded; train_model: a model version exists; create_api_key: ' +
          'an unrevoked key exists; connect_store: a Shopify or WooCommerce connection exists; install_snippet: the SDK started a session',
      ),
      done: z.boolean(),
      count: z.number().int().nullable().describe('The count behind the step (items, models, keys, connections), else null'),
    }),
  ),
  completed: z.number().int(),
  next: stepKey.nullable().describe('The first step not done, in checklist order'),
});
export type ChecklistResponse = z.infer<typeof checklistResponse>;
