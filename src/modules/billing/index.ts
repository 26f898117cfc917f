/**
 * Billing (seed 004): Loupe's plans and their limits, a tenant's subscription through Stripe Checkout and
 * Stripe's subscription webhooks, and the plan limits enforced on tenant routes. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices } from '../../platform/index.ts';
import { createBillingGateway } from './billing.gateway.ts';
import { registerPlanLimits } from './billing.hook.ts';
import { createBillingRepository } from './billing.repository.ts';
import { billingRoutes } from './billing.routes.ts';
import { createBillingService } from './billing.service.ts';

export interface BillingDeps {
  /** Active catalog items of a tenant (catalog's public entry). */
  catalogSize: (tenantId: string) => Promise<number>;
}

export function createBillingModule(platform: PlatformServices, deps: BillingDeps) {
  const cfg = platform.config.billing;
  const billing = createBillingService({
    db: platform.db,
    repo: createBillingRepository(),
    config: cfg,
    gateway: cfg.secretKey ? createBillingGateway(cfg.secretKey, platform.config.stripeApiUrl) : undefined,
    clock: platform.clock,
    catalogSize: deps.catalogSize,
  });
  return {
    /** Installs the plan limits on every tenant route: call before any module registers its routes. */
    installLimits(app: FastifyInstance): void {
      registerPlanLimits(app, billing);
    },
    /** Writes the usage counted in memory (before an erasure; a timer does it every 2 s). */
    flushUsage: () => billing.flush(),
    /** Shutdown: stops the 2 s flush timer and writes the usage counted in memory. */
    stop: () => billing.stop(),
    async routes(app: FastifyInstance): Promise<void> {
      await billingRoutes(app, { billing, config: platform.config });
    },
  };
}
