import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { topics } from "@energy/contracts";
import { EventProducer } from "@energy/kafka";
import { readTopic, waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ingestion, seedSite, startIngestion } from "./helpers.ts";

// Trusted bridges put gateway batches on ingestion.raw.v1; each carries the gateway's ES256 signature
// over the body, checked against the gateway's registered key before anything in it is used.

const GATEWAY = "gw-raw-1";
const gatewayKey = generateKeyPairSync("ec", { namedCurve: "P-256" });
const strangerKey = generateKeyPairSync("ec", { namedCurve: "P-256" });
let ing: Ingestion;
let bridge: EventProducer;

beforeAll(async () => {
  ing = await startIngestion({}, { consumers: true }); // the raw batch consumer among them
  await seedSite(ing.db, {
    orgId: "org-r",
    siteId: "site-r",
    deviceId: "dev-r",
    gatewayId: GATEWAY,
    ders: { "der-r-pv": "solar" },
  });
  await seedSite(ing.db, {
    orgId: "org-r",
    siteId: "site-r",
    deviceId: "dev-r2",
    gatewayId: "gw-raw-other",
    ders: { "der-r2-pv": "solar" },
  });
  await ing.db.identityKey.create({
    data: {
      keyId: "key-raw-1",
      identityId: GATEWAY,
      identityType: "gateway",
      algorithm: "ES256",
      publicKey: gatewayKey.publicKey.export({ type: "spki", format: "pem" }).toString(),
    },
  });
  bridge = new EventProducer(ing.kafka, { source: "ingestion", topicPrefix: ing.testKafka.topicPrefix });
  await bridge.connect();
});
afterAll(async () => {
  await bridge?.disconnect();
  await ing?.close();
});

const signed = (
  body: string,
  key: KeyObject = gatewayKey.privateKey,
  encoding: "ieee-p1363" | "der" = "ieee-p1363",
) => sign("sha256", Buffer.from(body), { key, dsaEncoding: encoding }).toString("base64url");

let minute = 0;
const body = (...derIds: string[]) =>
  JSON.stringify(
    derIds.map((derId) => ({
      derId,
      reading: { type: "pv", timestamp: Date.now() - 3_600_000 + ++minute * 60_000, W: -10 },
    })),
  );

async function put(payload: { body: string; signature: string; gatewayId?: string }, key?: string) {
  await bridge.publish(
    topics.ingestionRaw,
    "batch.received",
    { gatewayId: GATEWAY, receivedAt: new Date().toISOString(), ...payload },
    { key: key ?? payload.gatewayId ?? GATEWAY },
  );
}

/** The readings a batch body carries, as `derId@timestamp` (how they are found on the topic). */
const readingsOf = (batch: string): string[] =>
  (JSON.parse(batch) as Array<{ derId: string; reading: { timestamp: number } }>).map(
    (r) => `${r.derId}@${r.reading.timestamp}`,
  );
const readingsIn = (messages: Array<{ value: string | null }>) =>
  new Set(
    messages.flatMap((m) => {
      const p = JSON.parse(m.value!);
      return p.readings.map((r: { timestamp: number }) => `${p.derId}@${r.timestamp}`);
    }),
  );
/** All messages of the telemetry topic so far (a fresh reader needs a few seconds to join under load). */
const everything = () =>
  readTopic(ing.testKafka.kafka, `${ing.testKafka.topicPrefix}ingestion.telemetry.v1`, {
    count: Number.MAX_SAFE_INTEGER,
    timeoutMs: 6_000,
  });
/** Waits until every reading named is on the topic (a raw batch redelivered after a rebalance publishes its readings again); returns all messages. */
const untilOnTopic = (what: string, readings: string[]) =>
  waitFor(
    what,
    async () => {
      const all = await everything();
      const seen = readingsIn(all);
      return readings.every((r) => seen.has(r)) ? all : null;
    },
    { timeoutMs: 45_000 },
  );
/**
 * Puts a good batch behind, with the same message key (same partition: handled after what came before),
 * and waits for it on the topic; returns the readings on the topic by then.
 */
async function caughtUp(key = GATEWAY) {
  const sentinel = body("der-r-pv");
  await put({ body: sentinel, signature: signed(sentinel) }, key);
  return readingsIn(await untilOnTopic("a good batch put behind on the topic", readingsOf(sentinel)));
}
const refusals = () =>
  ing.db.rejectedReading.findMany({ where: { channel: "kafka" }, orderBy: { id: "asc" } });

describe("signed raw batches on ingestion.raw.v1", () => {
  it("publishes the readings of a batch signed by the gateway's key (P1363 or DER signature)", async () => {
    const first = body("der-r-pv", "der-r-pv");
    await put({ body: first, signature: signed(first) });
    const second = `${body("der-r-pv")}\n`;
    await put({ body: second, signature: signed(second, gatewayKey.privateKey, "der") });
    const messages = await untilOnTopic("both batches on the topic", [
      ...readingsOf(first),
      ...readingsOf(second),
    ]);
    // one message per DER and batch: the first batch's two readings travel together
    const firstMessage = messages.find((m) => readingsIn([m]).has(readingsOf(first)[0]!))!;
    expect([...readingsIn([firstMessage])].sort()).toEqual(readingsOf(first).sort());
    expect(new Set(messages.map((m) => JSON.parse(m.value!).gatewayId))).toEqual(new Set([GATEWAY]));
  });

  it.each<[string, () => { body: string; signature: string; gatewayId?: string }]>([
    ["a body changed after signing", () => ({ body: body("der-r-pv"), signature: signed(body("der-r-pv")) })],
    [
      "a batch signed with another key",
      () => {
        const batch = body("der-r-pv");
        return { body: batch, signature: signed(batch, strangerKey.privateKey) };
      },
    ],
    ["a signature that is not base64", () => ({ body: body("der-r-pv"), signature: "%%%" })],
    [
      "a gateway without a registered key",
      () => {
        const batch = body("der-r-pv");
        return { body: batch, signature: signed(batch), gatewayId: "gw-unknown" };
      },
    ],
  ])("refuses %s whole: stored with the reason, nothing published", async (_what, make) => {
    const before = (await refusals()).length;
    const batch = make();
    await put(batch);
    const stored = await waitFor("the refusal stored", async () => {
      const rows = await refusals();
      return rows.length > before ? rows[rows.length - 1] : null;
    });
    expect(stored.reasons).toEqual([
      { field: "signature", message: expect.stringMatching(/^signature: .*the batch was not read$/) },
    ]);
    const onTopic = await caughtUp(batch.gatewayId);
    for (const reading of readingsOf(batch.body)) expect(onTopic.has(reading), reading).toBe(false);
  });

  it("refuses a signed batch that cannot be read, naming why", async () => {
    const garbage = "[{not json";
    await put({ body: garbage, signature: signed(garbage) });
    const stored = await waitFor("the refusal stored", async () =>
      (await refusals()).find((r) => JSON.stringify(r.reasons).includes("body")),
    );
    expect(stored.reasons).toEqual([{ field: "body", message: expect.stringContaining("not valid JSON") }]);
  });

  it("refuses a key once revoked", async () => {
    await ing.db.identityKey.update({ where: { keyId: "key-raw-1" }, data: { revokedAt: new Date() } });
    try {
      const later = body("der-r-pv");
      const before = (await refusals()).length;
      await put({ body: later, signature: signed(later) });
      const stored = await waitFor("the refusal stored", async () => {
        const rows = await refusals();
        return rows.length > before ? rows[rows.length - 1] : null;
      });
      expect(stored.reasons).toEqual([
        {
          field: "signature",
          message: expect.stringContaining(`gateway ${GATEWAY} has no registered ES256 key`),
        },
      ]);
      await ing.db.identityKey.update({ where: { keyId: "key-raw-1" }, data: { revokedAt: null } });
      // the key is good again: the batch behind is published, the refused one is not
      const onTopic = await caughtUp();
      expect(onTopic.has(readingsOf(later)[0]!)).toBe(false);
    } finally {
      await ing.db.identityKey.update({ where: { keyId: "key-raw-1" }, data: { revokedAt: null } });
    }
  });

  it("in a good batch, still refuses the reading for a device the gateway does not serve", async () => {
    const mixed = body("der-r-pv", "der-r2-pv");
    await put({ body: mixed, signature: signed(mixed) });
    const stored = await waitFor("the refusal stored", async () =>
      (await refusals()).find((r) => r.derId === "der-r2-pv"),
    );
    expect(stored.reasons).toEqual([
      { field: "derId", message: expect.stringContaining(`gateway ${GATEWAY} does not serve device dev-r2`) },
    ]);
    const [served, notServed] = readingsOf(mixed);
    await untilOnTopic("the served reading on the topic", [served!]);
    const onTopic = await caughtUp();
    expect(onTopic.has(notServed!)).toBe(false);
  });
});
