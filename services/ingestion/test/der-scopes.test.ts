import { waitFor } from "@energy/testing";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DbChanges } from "../src/db-changes.ts";
import { DerScopes } from "../src/ingest/der-scopes.ts";
import { type Ingestion, seedSite, startIngestion } from "./helpers.ts";

// The acknowledgement path reads a batch's DERs from memory while the service listens for changes of the
// der and device tables (migration change_notify). A change made without its trigger (the triggers
// disabled for the statement) shows what is read from memory and what from the database.

const GATEWAY = "gw-scope";
const DER = "der-scope-pv";
const quiet = { warn: () => {} };
let ing: Ingestion;
let databaseUrl: string;
let admin: pg.Client;
const started: DbChanges[] = [];

beforeAll(async () => {
  ing = await startIngestion();
  databaseUrl = ing.config.DATABASE_URL;
  admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await seedSite(ing.db, {
    orgId: "org-scope",
    siteId: "site-scope",
    deviceId: "dev-scope",
    gatewayId: GATEWAY,
    ders: { [DER]: "solar" },
  });
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((c) => c.stop()));
  await admin.query("UPDATE device SET state = 'pending', comm_identity_id = $1 WHERE id = 'dev-scope'", [
    GATEWAY,
  ]);
});
afterAll(async () => {
  await admin?.end();
  await ing?.stop();
});

/** A change the cache is not told of: the table's trigger is off for this one statement. */
async function silently(table: "der" | "device", sql: string, values: unknown[] = []): Promise<void> {
  await admin.query("BEGIN");
  await admin.query(`ALTER TABLE ${table} DISABLE TRIGGER ${table}_changed`);
  await admin.query(sql, values);
  await admin.query(`ALTER TABLE ${table} ENABLE TRIGGER ${table}_changed`);
  await admin.query("COMMIT");
}

async function listening(retryMs = 50): Promise<{ changes: DbChanges; scopes: DerScopes }> {
  const changes = new DbChanges(databaseUrl, retryMs);
  started.push(changes);
  await changes.start(quiet);
  expect(changes.listening).toBe(true);
  return { changes, scopes: new DerScopes(ing.db.pool, changes) };
}

const stateOf = async (scopes: DerScopes) => (await scopes.lookup([DER])).get(DER)?.deviceState;

describe("the DERs of the acknowledgement path", () => {
  it("are read from memory once known, while the service listens", async () => {
    const { scopes } = await listening();
    expect(await stateOf(scopes)).toBe("pending");
    expect(scopes.size).toBe(1);
    await silently("device", "UPDATE device SET state = 'active' WHERE id = 'dev-scope'");
    expect(await stateOf(scopes)).toBe("pending"); // the memory: the database says active
  });

  it("are read again after a change of the device or the DER, whoever made it", async () => {
    const { scopes } = await listening();
    expect(await stateOf(scopes)).toBe("pending");
    // another instance applying the registry's event: a plain statement on the table
    await admin.query("UPDATE device SET state = 'orphaned' WHERE id = 'dev-scope'");
    await waitFor("the orphaned state seen", async () => (await stateOf(scopes)) === "orphaned");
    await admin.query("UPDATE der SET der_type = 'battery' WHERE id = $1", [DER]);
    await waitFor(
      "the DER's new type seen",
      async () => (await scopes.lookup([DER])).get(DER)?.derType === "battery",
    );
    await admin.query("UPDATE der SET der_type = 'solar' WHERE id = $1", [DER]);
  });

  it("through the service: a device orphaned in the projection has its next batch refused", async () => {
    const reading = { type: "pv", timestamp: Date.now() - 60_000, W: -100, total_generation_Wh: 10 };
    const send = () =>
      ing.app.inject({
        method: "POST",
        url: "/v1/telemetry",
        headers: ing.auth(GATEWAY),
        payload: [{ derId: DER, reading }],
      });
    expect((await send()).json().accepted).toBe(1);
    await ing.db.device.update({ where: { id: "dev-scope" }, data: { state: "orphaned" } });
    await waitFor("the orphaned device refused", async () => (await send()).json().accepted === 0);
    const refusal = (await send()).json().rejected[0].reasons[0];
    expect(refusal).toMatchObject({ field: "derId" });
    expect(refusal.message).toContain("orphaned");
  });

  it("are always read from the database while nobody listens", async () => {
    const scopes = new DerScopes(ing.db.pool, new DbChanges(databaseUrl));
    expect(await stateOf(scopes)).toBe("pending");
    await silently("device", "UPDATE device SET state = 'active' WHERE id = 'dev-scope'");
    expect(await stateOf(scopes)).toBe("active");
    expect(scopes.size).toBe(0);
  });

  it("do not keep unknown DER ids: a DER registered later is found at once", async () => {
    const { scopes } = await listening();
    expect((await scopes.lookup(["der-scope-later"])).size).toBe(0);
    await silently(
      "der",
      `INSERT INTO der (id, device_id, site_id, org_id, der_type, name)
       VALUES ('der-scope-later', 'dev-scope', 'site-scope', 'org-scope', 'battery', 'later')`,
    );
    expect((await scopes.lookup(["der-scope-later", DER])).get("der-scope-later")?.derType).toBe("battery");
    await admin.query("DELETE FROM der WHERE id = 'der-scope-later'");
  });

  it("are read from the database once the listening connection is lost, and from memory once it is back", async () => {
    const { changes, scopes } = await listening(50);
    expect(await stateOf(scopes)).toBe("pending");
    // the server ends the listening connection (a restart, a failover, an operator)
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'",
    );
    await waitFor("the loss noticed", async () => !changes.listening);
    expect(scopes.size).toBe(0);
    await silently("device", "UPDATE device SET state = 'active' WHERE id = 'dev-scope'");
    expect(await stateOf(scopes)).toBe("active");
    await waitFor("listening again", async () => changes.listening);
    expect(await stateOf(scopes)).toBe("active");
    await silently("device", "UPDATE device SET state = 'pending' WHERE id = 'dev-scope'");
    expect(await stateOf(scopes)).toBe("active"); // from memory again
  });
});
