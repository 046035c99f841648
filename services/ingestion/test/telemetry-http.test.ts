import { gzipSync } from "node:zlib";
import { after, endOffsets, messagesOn, readTopic, waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ingestion, seedSite, startIngestion } from "./helpers.ts";

const GATEWAY = "gw-http-1";
const OTHER_GATEWAY = "gw-http-2";
const now = Date.now();
/** A plausible reading time for the refusals (each is refused for its own reason, not its time). */
const T0 = now - 60_000;

let ing: Ingestion;
let admin: ReturnType<Ingestion["testKafka"]["kafka"]["admin"]>;
const telemetryTopic = () => `${ing.testKafka.topicPrefix}ingestion.telemetry.v1`;
const rejectedTopic = () => `${ing.testKafka.topicPrefix}ingestion.telemetry-rejected.v1`;

beforeAll(async () => {
  ing = await startIngestion();
  admin = ing.testKafka.kafka.admin();
  await admin.connect();
  await seedSite(ing.db, {
    orgId: "org-a",
    siteId: "site-a",
    deviceId: "dev-inverter",
    gatewayId: GATEWAY,
    ders: { "der-pv": "solar", "der-bat": "battery", "der-meter": "meter" },
  });
  await seedSite(ing.db, {
    orgId: "org-a",
    siteId: "site-a",
    deviceId: "dev-charger",
    gatewayId: GATEWAY,
    deviceType: "v2x_charger",
    ders: { "der-port": "ev_charger_port" },
  });
  // the other gateway's device, in another organization
  await seedSite(ing.db, {
    orgId: "org-b",
    siteId: "site-b",
    deviceId: "dev-b",
    gatewayId: OTHER_GATEWAY,
    ders: { "der-b-pv": "solar" },
  });
  await seedSite(ing.db, {
    orgId: "org-a",
    siteId: "site-a",
    deviceId: "dev-orphan",
    gatewayId: GATEWAY,
    ders: { "der-orphan-pv": "solar" },
  });
  await ing.db.device.update({ where: { id: "dev-orphan" }, data: { state: "orphaned" } });
});
afterAll(async () => {
  await admin?.disconnect();
  await ing?.close();
});

function send(body: unknown, headers: Record<string, string> = {}, gateway = GATEWAY) {
  return ing.app.inject({
    method: "POST",
    url: "/v1/telemetry",
    headers: { ...ing.auth(gateway), ...headers },
    payload: body as string,
  });
}

let tick = 0;
/** A distinct timestamp per reading, in the recent past. */
const ts = () => now - 600_000 + ++tick * 1000;

const ACCEPTED: Array<[string, string, Record<string, unknown>]> = [
  ["a PV reading with only type and timestamp (nothing else read)", "der-pv", { type: "pv" }],
  [
    "PV generating (negative W) with its counter",
    "der-pv",
    { type: "pv", W: -2450, total_generation_Wh: 1_200_000 },
  ],
  ["PV at night (W 0)", "der-pv", { type: "pv", W: 0, mppt1_V: 12.5, heatsink_C: 9.25 }],
  ["a battery charging (positive W)", "der-bat", { type: "battery", W: 1800, A: 3.9, SoC_nom_fract: 0.42 }],
  ["a battery discharging (negative W)", "der-bat", { type: "battery", W: -900, SoC_nom_fract: 0 }],
  [
    "a full battery (SoC 1)",
    "der-bat",
    { type: "battery", SoC_nom_fract: 1, total_charge_Wh: 5, total_discharge_Wh: 3 },
  ],
  [
    "a meter importing (positive W)",
    "der-meter",
    { type: "meter", W: 3200, Hz: 50.01, L1_V: 231.2, total_import_Wh: 9 },
  ],
  ["a meter exporting (negative W)", "der-meter", { type: "meter", W: -1500, total_export_Wh: 4 }],
  ["fields not read are null", "der-meter", { type: "meter", W: null, L2_V: null, total_import_Wh: null }],
  [
    "a charger port with two power bands",
    "der-port",
    { type: "ev_charger_port", W: 7400, lower_limit_W: [0, 4000], upper_limit_W: [0, 11000] },
  ],
  [
    "a charger port that may not charge ([0] / [0])",
    "der-port",
    { type: "ev_charger_port", W: 0, lower_limit_W: [0], upper_limit_W: [0], connector_status: "available" },
  ],
  [
    "a charger port with the deprecated status",
    "der-port",
    { type: "ev_charger_port", status: "SuspendedEV" },
  ],
  [
    "a charger port with the deprecated plug_connected",
    "der-port",
    { type: "ev_charger_port", plug_connected: true },
  ],
  ["a V2X charger discharging to the grid (negative W)", "der-port", { type: "v2x_charger", W: -5000 }],
  ["a V2X charger with only dc_W (W derived)", "der-port", { type: "v2x_charger", dc_W: 10_000 }],
];

const REFUSED: Array<[string, unknown, string]> = [
  ["PV with positive W", { derId: "der-pv", reading: { type: "pv", timestamp: T0, W: 120 } }, "reading.W"],
  [
    "W not an integer",
    { derId: "der-meter", reading: { type: "meter", timestamp: T0, W: 1.5 } },
    "reading.W",
  ],
  [
    "a volt value given as text",
    { derId: "der-meter", reading: { type: "meter", timestamp: T0, L1_V: "230" } },
    "reading.L1_V",
  ],
  [
    "state of charge above 1",
    { derId: "der-bat", reading: { type: "battery", timestamp: T0, SoC_nom_fract: 1.2 } },
    "reading.SoC_nom_fract",
  ],
  [
    "state of charge below 0",
    { derId: "der-bat", reading: { type: "battery", timestamp: T0, SoC_nom_fract: -0.1 } },
    "reading.SoC_nom_fract",
  ],
  [
    "a negative energy counter",
    { derId: "der-pv", reading: { type: "pv", timestamp: T0, total_generation_Wh: -3 } },
    "reading.total_generation_Wh",
  ],
  [
    "a charger port delivering negative power",
    { derId: "der-port", reading: { type: "ev_charger_port", timestamp: T0, W: -10 } },
    "reading.W",
  ],
  [
    "power bands of different lengths",
    {
      derId: "der-port",
      reading: { type: "ev_charger_port", timestamp: T0, lower_limit_W: [0], upper_limit_W: [0, 11000] },
    },
    "reading.lower_limit_W",
  ],
  [
    "a band whose lower limit is above its upper",
    {
      derId: "der-port",
      reading: { type: "ev_charger_port", timestamp: T0, lower_limit_W: [5000], upper_limit_W: [4000] },
    },
    "reading.lower_limit_W[0]",
  ],
  [
    "overlapping bands",
    {
      derId: "der-port",
      reading: {
        type: "ev_charger_port",
        timestamp: T0,
        lower_limit_W: [0, 3000],
        upper_limit_W: [4000, 9000],
      },
    },
    "reading.lower_limit_W[1]",
  ],
  [
    "an upper limit without a lower",
    { derId: "der-port", reading: { type: "ev_charger_port", timestamp: T0, upper_limit_W: [7000] } },
    "reading.lower_limit_W",
  ],
  [
    "an unknown connector_status",
    { derId: "der-port", reading: { type: "ev_charger_port", timestamp: T0, connector_status: "plugged" } },
    "reading.connector_status",
  ],
  [
    "an unknown charging_state",
    { derId: "der-port", reading: { type: "ev_charger_port", timestamp: T0, charging_state: "filling" } },
    "reading.charging_state",
  ],
  ["an unknown reading type", { derId: "der-pv", reading: { type: "wind", timestamp: T0 } }, "reading.type"],
  ["no timestamp", { derId: "der-pv", reading: { type: "pv", W: -1 } }, "reading.timestamp"],
  [
    "a timestamp an hour ahead",
    { derId: "der-pv", reading: { type: "pv", timestamp: now + 3_600_000 } },
    "reading.timestamp",
  ],
  [
    "a reading from 1970 (the device's clock not set)",
    { derId: "der-pv", reading: { type: "pv", timestamp: 1000, W: -1 } },
    "reading.timestamp",
  ],
  [
    "a reading from the last day of 1999 (before MIN_READING_TIMESTAMP)",
    { derId: "der-pv", reading: { type: "pv", timestamp: Date.parse("1999-12-31T23:59:59Z") } },
    "reading.timestamp",
  ],
  // PostgreSQL text and jsonb cannot hold these: refused before the answer, never accepted and then lost
  [
    'a make with a NUL character ("De\\u0000ye")',
    { derId: "der-pv", reading: { type: "pv", timestamp: T0, make: "De\u0000ye" } },
    "reading.make",
  ],
  [
    "a make with a lone surrogate",
    { derId: "der-pv", reading: { type: "pv", timestamp: T0, make: "De\ud800ye" } },
    "reading.make",
  ],
  [
    "a 900 kB make",
    { derId: "der-pv", reading: { type: "pv", timestamp: T0, make: "x".repeat(900_000) } },
    "reading.make",
  ],
  [
    "a 1 MB charger status",
    { derId: "der-port", reading: { type: "ev_charger_port", timestamp: T0, status: "C".repeat(1_000_000) } },
    "reading.status",
  ],
  [
    "a derId with a NUL character",
    { derId: "der-\u0000pv", reading: { type: "pv", timestamp: T0 } },
    "derId",
  ],
  ["no derId", { reading: { type: "pv", timestamp: T0 } }, "derId"],
  ["no reading", { derId: "der-pv" }, "reading"],
  ["an item that is not an object", 42, "item"],
  ["a DER nobody registered", { derId: "der-nowhere", reading: { type: "pv", timestamp: T0 } }, "derId"],
  [
    "a DER of a device another gateway serves",
    { derId: "der-b-pv", reading: { type: "pv", timestamp: T0 } },
    "derId",
  ],
  [
    "a DER of an orphaned device",
    { derId: "der-orphan-pv", reading: { type: "pv", timestamp: T0 } },
    "derId",
  ],
  [
    "a battery reading for a PV DER",
    { derId: "der-pv", reading: { type: "battery", timestamp: T0 } },
    "reading.type",
  ],
];

describe("POST /v1/telemetry", () => {
  it.each(ACCEPTED)("accepts %s, on Kafka before the answer", async (_what, derId, reading) => {
    const item = { derId, reading: { ...reading, timestamp: ts() } };
    const before = await messagesOn(admin, telemetryTopic());
    const res = await send([item]);
    // read the topic the moment the answer is here, before looking at the answer
    const atAnswer = await messagesOn(admin, telemetryTopic());
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ accepted: 1, rejected: [] });
    expect(atAnswer).toBe(before + 1);
  });

  it("publishes every accepted reading keyed by DER, normalized, with both times", async () => {
    // one batch per accepted case above, each of one reading: one message each, after those already there
    const from = await messagesOn(admin, telemetryTopic());
    const sent = new Set<number>();
    for (const [, derId, reading] of ACCEPTED) {
      const timestamp = ts();
      sent.add(timestamp);
      expect((await send([{ derId, reading: { ...reading, timestamp } }])).json().accepted).toBe(1);
    }
    const messages = (
      await readTopic(ing.testKafka.kafka, telemetryTopic(), { count: from + ACCEPTED.length })
    ).filter((m) => JSON.parse(m.value!).readings.some((r: { timestamp: number }) => sent.has(r.timestamp)));
    expect(messages).toHaveLength(ACCEPTED.length);
    for (const m of messages) expect(m.key).toBe(JSON.parse(m.value!).derId);
    const payloads = messages.flatMap((m) => {
      const { readings, ...batch } = JSON.parse(m.value!);
      return readings.map((reading: unknown) => ({ ...batch, reading }));
    });
    expect(payloads).toHaveLength(ACCEPTED.length);
    const port = payloads.filter((p) => p.derId === "der-port").map((p) => p.reading);
    // the deprecated fields mapped onto connector_status / charging_state
    expect(port).toContainEqual(
      expect.objectContaining({
        status: "SuspendedEV",
        connector_status: "occupied",
        charging_state: "suspended_ev",
      }),
    );
    expect(port).toContainEqual(
      expect.objectContaining({ plug_connected: true, connector_status: "occupied" }),
    );
    // V2X W derived from dc_W * 0.95 when absent
    expect(port).toContainEqual(expect.objectContaining({ type: "v2x_charger", dc_W: 10_000, W: 9500 }));
    // not read stays null, never a made-up 0
    const nulls = payloads.find((p) => p.reading.type === "meter" && p.reading.W === null);
    expect(nulls.reading).toMatchObject({ W: null, L2_V: null, total_import_Wh: null });
    for (const p of payloads) {
      expect(p).toMatchObject({ orgId: "org-a", siteId: "site-a", gatewayId: GATEWAY });
      expect(Date.parse(p.receivedAt)).toBeGreaterThan(p.reading.timestamp);
    }
  });

  it.each(REFUSED)("refuses %s, naming the field", async (_what, item, field) => {
    const res = await send([item]);
    expect(res.statusCode, res.body).toBe(200);
    const outcome = res.json();
    expect(outcome.accepted).toBe(0);
    expect(outcome.rejected).toHaveLength(1);
    expect(outcome.rejected[0].index).toBe(0);
    expect(outcome.rejected[0].reasons.map((r: { field: string }) => r.field)).toContain(field);
    for (const reason of outcome.rejected[0].reasons)
      expect(reason.message).toContain(reason.field.replace(/^reading\./, ""));
  });

  it("stores and publishes every refused reading with its reasons", async () => {
    const storedBefore = await ing.db.rejectedReading.findMany({ select: { id: true } });
    const ends = await endOffsets(admin, rejectedTopic());
    const publishedFrom = { ends, total: [...ends.values()].reduce((a, b) => a + b, 0) };
    for (const [, item] of REFUSED) expect((await send([item])).json().rejected).toHaveLength(1);
    const known = new Set(storedBefore.map((r) => r.id));
    const stored = (await ing.db.rejectedReading.findMany({ orderBy: { id: "asc" } })).filter(
      (r) => !known.has(r.id),
    );
    expect(stored).toHaveLength(REFUSED.length);
    expect(stored.every((r) => r.gatewayId === GATEWAY && r.channel === "http")).toBe(true);
    const other = stored.find((r) => r.derId === "der-b-pv")!;
    expect(other.reasons).toEqual([
      { field: "derId", message: expect.stringContaining(`gateway ${GATEWAY} does not serve device dev-b`) },
    ]);
    expect(other.raw).toEqual({ derId: "der-b-pv", reading: { type: "pv", timestamp: T0 } });
    // kept as the item came, the characters jsonb cannot hold written out
    const nul = stored.find((r) =>
      /"field":"reading\.make","message":"[^"]*NUL/.test(JSON.stringify(r.reasons)),
    );
    expect(nul?.raw).toEqual({
      derId: "der-pv",
      reading: { type: "pv", timestamp: T0, make: "De\\u0000ye" },
    });
    const published = await waitFor("the refusals on the topic", async () =>
      (await messagesOn(admin, rejectedTopic())) >= publishedFrom.total + REFUSED.length
        ? readTopic(ing.testKafka.kafka, rejectedTopic(), { count: publishedFrom.total + REFUSED.length })
        : null,
    );
    // what this test published: each partition beyond its end offset before
    const mine = after(publishedFrom.ends, published);
    expect(mine).toHaveLength(REFUSED.length);
    expect(mine.map((m) => JSON.parse(m.value!).reasons[0].field).sort()).toEqual(
      REFUSED.map(([, , f]) => f).sort(),
    );
  });

  it("accepts the good items of a mixed batch and refuses only the bad ones, by index", async () => {
    const res = await send([
      { derId: "der-pv", reading: { type: "pv", timestamp: ts(), W: -10 } },
      { derId: "der-pv", reading: { type: "pv", timestamp: ts(), W: 10 } },
      { derId: "der-meter", reading: { type: "meter", timestamp: ts(), W: 10 } },
    ]);
    expect(res.json()).toEqual({
      accepted: 2,
      rejected: [
        { index: 1, reasons: [{ field: "reading.W", message: "W must be <= 0: PV generation is negative" }] },
      ],
    });
  });

  it("takes NDJSON and gzip", async () => {
    const lines = [
      JSON.stringify({ derId: "der-pv", reading: { type: "pv", timestamp: ts(), W: -1 } }),
      "",
      JSON.stringify({ derId: "der-pv", reading: { type: "pv", timestamp: ts(), W: -2 } }),
    ].join("\n");
    const ndjson = await send(lines, { "content-type": "application/x-ndjson" });
    expect(ndjson.json()).toEqual({ accepted: 2, rejected: [] });
    const array = JSON.stringify([{ derId: "der-pv", reading: { type: "pv", timestamp: ts(), W: -3 } }]);
    const gz = await send(gzipSync(array) as unknown as string, {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
    expect(gz.statusCode, gz.body).toBe(200);
    expect(gz.json()).toEqual({ accepted: 1, rejected: [] });
    const gzNdjson = await send(gzipSync(lines) as unknown as string, {
      "content-type": "application/x-ndjson",
      "content-encoding": "gzip",
    });
    expect(gzNdjson.json()).toEqual({ accepted: 2, rejected: [] });
  });

  it.each([
    ["malformed JSON", "[{", { "content-type": "application/json" }, 400, "invalid_json"],
    [
      "a malformed NDJSON line",
      '{"derId":"x"}\n{oops',
      { "content-type": "application/x-ndjson" },
      400,
      "invalid_json",
    ],
    ["an object instead of a batch", { derId: "der-pv" }, {}, 400, "invalid_batch"],
    ["an empty batch", [], {}, 400, "invalid_batch"],
    [
      "an unknown encoding",
      "[]",
      { "content-type": "application/json", "content-encoding": "br" },
      415,
      "unsupported_encoding",
    ],
    [
      "a corrupt gzip body",
      "not gzip",
      { "content-type": "application/json", "content-encoding": "gzip" },
      400,
      "bad_request",
    ],
  ])("refuses %s as a whole", async (_what, body, headers, status, code) => {
    const res = await send(body, headers as Record<string, string>);
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json().error.code, res.body).toBe(code);
  });

  it("refuses a batch above the item limit, naming it", async () => {
    const items = Array.from({ length: ing.config.BATCH_MAX_READINGS + 1 }, () => ({
      derId: "der-pv",
      reading: { type: "pv", timestamp: T0 },
    }));
    const res = await send(items);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: "batch_too_large",
      message: expect.stringContaining(String(ing.config.BATCH_MAX_READINGS)),
    });
  });

  it("answers 401 without a token and 403 to an identity that is not a gateway", async () => {
    const item = [{ derId: "der-pv", reading: { type: "pv", timestamp: ts() } }];
    const anonymous = await ing.app.inject({ method: "POST", url: "/v1/telemetry", payload: item });
    expect(anonymous.statusCode).toBe(401);
    const user = await ing.app.inject({
      method: "POST",
      url: "/v1/telemetry",
      payload: item,
      headers: ing.auth("usr-1", "user"),
    });
    expect(user.statusCode).toBe(403);
    expect(user.json().error.message).toContain("only gateway identities");
  });
});
