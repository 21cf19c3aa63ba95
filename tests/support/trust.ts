/**
 * The trust of a session host with nothing configured, on an in-memory database: no TLS, no
 * password, no allow list, no owned names yet. For tests and benchmarks that build sessions
 * without a server.
 *
 * @module
 */

import { Database, MEMORY } from "../../store/database.ts";
import { NameOwners } from "../../server/identity.ts";
import { DatabaseModerationStore, Moderation } from "../../server/moderation.ts";
import type { Trust } from "../../server/trust.ts";

/**
 * A trust with nothing configured, on a database of its own in memory.
 *
 * @returns the trust
 */
export function inMemoryTrust(): Trust {
  const db = Database.open(MEMORY);
  return {
    tlsPort: undefined,
    tlsFingerprint: undefined,
    owners: new NameOwners(db, { nameDays: 90 }),
    password: undefined,
    allow: undefined,
    moderation: new Moderation(new DatabaseModerationStore(db)),
  };
}
