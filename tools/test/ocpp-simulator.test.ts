import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureDevCertificates } from "@energy/infra/tls";
import { type Ocpp, seedCharger, startOcpp } from "@energy/ocpp/testing";
import { waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimulatedCharger, type Version } from "../ocpp-simulator/charger.ts";

// The charger simulator against the real ocpp service: each version boots, charges with meter values and
// stops by itself, and obeys a remote start and a remote stop.

const OPERATOR = "usr-sim-operator";
let ocpp: Ocpp;
const chargers: SimulatedCharger[] = [];
// the certificates the start command makes, for the charger over wss (security profile 2)
const tlsDir = mkdtempSync(join(tmpdir(), "sim-tls-"));
const certs = ensureDevCertificates(tlsDir);

beforeAll(async () => {
  ocpp = await startOcpp(
    { OCPP_TLS_PORT: "0", OCPP_TLS_CERT_FILE: certs.certFile, OCPP_TLS_KEY_FILE: certs.keyFile },
    { commands: true },
  );
  await ocpp.db.idTag.create({ data: { orgId: "org-ocpp-test", idTag: "SIM-TAG", status: "Accepted" } });
  for (const [id, version] of [
    ["dev-sim-16", "1.6"],
    ["dev-sim-201", "2.0.1"],
  ] as const) {
    await seedCharger(ocpp.db, { chargePointId: id, owner: OPERATOR });
    chargers.push(charger(id, version, 200));
  }
  await Promise.all(chargers.map((c) => c.start()));
});
afterAll(async () => {
  await Promise.allSettled(chargers.map((c) => c.stop()));
  await ocpp?.close();
  rmSync(tlsDir, { recursive: true, force: true });
});

function charger(identity: string, version: Version, idleMs: number, overTls = false) {
  return new SimulatedCharger({
    endpoint: overTls ? `wss://localhost:${ocpp.tls!.port}/ocpp` : ocpp.endpoint,
    ...(overTls ? { ca: readFileSync(certs.caFile) } : {}),
    identity,
    password: "correct-horse-battery-1",
    version,
    connectors: 1,
    meterIntervalMs: 200,
    heartbeatMs: 60_000,
    idleMs,
    sessionMs: 1_000,
    idTag: "SIM-TAG",
    powerW: 11_000,
  });
}

const command = (chargePointId: string, payload: Record<string, unknown>) =>
  ocpp.app
    .inject({
      method: "POST",
      url: `/v1/orgs/org-ocpp-test/chargers/${chargePointId}/commands`,
      headers: ocpp.auth(OPERATOR),
      payload,
    })
    .then((r) => r.json());

describe("the OCPP charger simulator", () => {
  it.each(["dev-sim-16", "dev-sim-201"])(
    "%s runs sessions on its own: start, meter values, stop",
    async (id) => {
      const ended = await waitFor(
        "a finished session",
        () => ocpp.db.chargingTransaction.findFirst({ where: { chargePointId: id, state: "ended" } }),
        { timeoutMs: 20_000 },
      );
      expect(ended.meterStopWh! - ended.meterStartWh!).toBeGreaterThan(0);
      expect(
        await ocpp.db.transactionEvent.count({ where: { transactionId: ended.id, eventType: "Updated" } }),
      ).toBeGreaterThan(0);
    },
  );

  it.each<[string, Version]>([
    ["dev-sim-remote-16", "1.6"],
    ["dev-sim-remote-201", "2.0.1"],
  ])("%s obeys a remote start and a remote stop", async (id, version) => {
    await seedCharger(ocpp.db, { chargePointId: id, owner: OPERATOR });
    const cp = charger(id, version, 0); // no sessions of its own
    chargers.push(cp);
    await cp.start();
    await waitFor("booted", () =>
      ocpp.db.chargePoint.findFirst({ where: { serialNumber: id, bootStatus: "Accepted" } }),
    );
    expect(await command(id, { command: "remote_start", idTag: "SIM-TAG", connectorId: 1 })).toMatchObject({
      status: "completed",
      response: { status: "Accepted" },
    });
    const open = await waitFor("the remote session", () =>
      ocpp.db.chargingTransaction.findFirst({ where: { chargePointId: id, state: "active" } }),
    );
    expect(
      await command(id, { command: "remote_stop", transactionId: open.ocppTransactionId }),
    ).toMatchObject({
      status: "completed",
    });
    const stopped = await waitFor("stopped", () =>
      ocpp.db.chargingTransaction.findFirst({ where: { id: open.id, state: "ended" } }),
    );
    expect(stopped.stopReason).toBe("Remote");
  });

  it("a charger over wss (security profile 2, the platform's CA) boots and runs a session", async () => {
    await seedCharger(ocpp.db, { chargePointId: "dev-sim-tls", owner: OPERATOR });
    const cp = charger("dev-sim-tls", "2.0.1", 200, true);
    chargers.push(cp);
    await cp.start();
    const ended = await waitFor(
      "a finished session over TLS",
      () =>
        ocpp.db.chargingTransaction.findFirst({ where: { chargePointId: "dev-sim-tls", state: "ended" } }),
      { timeoutMs: 20_000 },
    );
    expect(ended.meterStopWh! - ended.meterStartWh!).toBeGreaterThan(0);
  });
});
