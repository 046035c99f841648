import type pg from "pg";
import { CHANGE_CHANNELS, type DbChanges } from "../db-changes.ts";

/** A DER as ingestion knows it from the registry, with the device that exposes it. */
export interface DerScope {
  derId: string;
  deviceId: string;
  siteId: string;
  orgId: string;
  derType: string;
  commIdentityId: string | null;
  deviceState: string;
}

/**
 * The registry projection's DERs as the acknowledgement path reads them (derId → device, site,
 * organization, type, comm identity, state), kept in memory so that a batch costs no query once its DERs
 * are known.
 *
 * The memory is trusted only while `changes` listens: every statement that changes the der or device
 * table notifies its channel (a trigger: no writer can forget), and each notification empties the cache,
 * whichever instance applied the registry's event. Otherwise every lookup reads the database. A lookup
 * that read the database while a change was announced keeps its rows for its own batch but not in the
 * cache, so an older read never outlives a notification. Unknown DER ids are never kept (a gateway sending
 * made-up ids cannot grow it): its size is bounded by the projection's DERs.
 */
export class DerScopes {
  private readonly cache = new Map<string, DerScope>();
  /** counts the times the cache was emptied */
  private generation = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly changes: DbChanges,
  ) {
    changes.on(CHANGE_CHANNELS.derScope, () => {
      this.generation++;
      this.cache.clear();
    });
  }

  /** The scopes of the registered DERs among derIds; unknown ids are absent from the answer. */
  async lookup(derIds: readonly string[]): Promise<Map<string, DerScope>> {
    const found = new Map<string, DerScope>();
    const missing: string[] = [];
    for (const derId of new Set(derIds)) {
      const scope = this.cache.get(derId);
      if (scope) found.set(derId, scope);
      else missing.push(derId);
    }
    if (missing.length === 0) return found;
    const generation = this.generation;
    // Straight on the pool, not through Prisma: on the acknowledgement's path, where Prisma's work per
    // statement (its query compiler included) cost more CPU than the query.
    const { rows } = await this.pool.query<DerScope>(
      `SELECT der.id AS "derId", der.device_id AS "deviceId", der.site_id AS "siteId", der.org_id AS "orgId",
              der.der_type AS "derType", device.comm_identity_id AS "commIdentityId", device.state AS "deviceState"
         FROM der JOIN device ON device.id = der.device_id
        WHERE der.id = ANY($1::text[])`,
      [missing],
    );
    const keep = this.changes.listening && generation === this.generation;
    for (const row of rows) {
      found.set(row.derId, row);
      if (keep) this.cache.set(row.derId, row);
    }
    return found;
  }

  /** How many DERs are kept in memory. */
  get size(): number {
    return this.cache.size;
  }
}
