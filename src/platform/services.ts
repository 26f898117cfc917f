import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.ts';
import type { Db } from './database.ts';
import type { JobQueue } from './jobs.queue.ts';
import type { SecretBox } from './secret-box.ts';
import type { ObjectStorage } from './storage.ts';

/** What every domain module receives from the platform (small and explicit; no base class). */
export interface PlatformServices {
  readonly db: Db;
  /**
   * For reads that may lag the primary by a bounded time (DATABASE_REPLICA_MAX_LAG_MS): reports. The streaming replica
   * while it keeps up, else the primary; `db` without a replica. Never for a read that must see a write just made.
   */
  readonly reader: Db;
  readonly config: Config;
  readonly jobs: JobQueue;
  readonly storage: ObjectStorage;
  /** Encryption at rest for secrets that must be read back in clear. */
  readonly secrets: SecretBox;
  readonly log: FastifyBaseLogger;
  readonly clock: () => Date;
  /** 'pglite' (embedded, single connection) or 'postgres'. */
  readonly databaseKind: 'pglite' | 'postgres';
}
