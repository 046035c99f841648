import { waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { basic, boot16, boot201, type Ocpp, PASSWORD, seedCharger, startOcpp } from "./helpers.ts";

// Hostile payloads for OCPP actions over a real websocket, for both versions: each is answered with the
// CALLERROR its version's specification names for the problem (OCPP-J 1.6 §4.2.3, 2.0.1 part 4 §4.3),
// the text says what was wrong, nothing reaches the database, and the same connection keeps working.

const MAX_FRAME = 100_000;
let ocpp: Ocpp;

beforeAll(async () => {
  ocpp = await startOcpp({ OCPP_MAX_FRAME_BYTES: String(MAX_FRAME) });
  for (const id of ["dev-hostile-16", "dev-hostile-201", "dev-hostile-big", "dev-hostile-inf"]) {
    await seedCharger(ocpp.db, { chargePointId: id });
  }
  await ocpp.db.idTag.create({ data: { orgId: "org-ocpp-test", idTag: "TAG-OK", status: "Accepted" } });
});
afterAll(async () => {
  await ocpp?.close();
});

/** A bare websocket charger, for frames no library would send. */
async function rawCharger(id: string, protocol: "ocpp1.6" | "ocpp2.0.1") {
  const ws = new WebSocket(`${ocpp.endpoint}/${id}`, [protocol], {
    headers: { authorization: basic(id, PASSWORD) },
  });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const answers: unknown[][] = [];
  ws.on("message", (data) => answers.push(JSON.parse(data.toString())));
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  let n = 0;
  const raw = (frame: string, id: string): Promise<unknown[]> => {
    ws.send(frame);
    return waitFor(`answer to ${id}`, () => answers.find((a) => a[1] === id));
  };
  const callRaw = (action: string, params: unknown, id = `h-${++n}`) =>
    raw(JSON.stringify([2, id, action, params]), id);
  return { ws, raw, callRaw, closed, open: () => ws.readyState === WebSocket.OPEN };
}

const deep = (levels: number, inner = "1") => `${'{"a":'.repeat(levels)}${inner}${"}".repeat(levels)}`;
const deepArray = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;

type Case = {
  name: string;
  /** the CALL as JSON text (raw, so that it can hold what JSON.stringify cannot write) */
  frame: (id: string) => string;
  code: string;
  /** what the CALLERROR's text must mention */
  says: RegExp;
};

const call = (action: string, params: unknown) => (id: string) => JSON.stringify([2, id, action, params]);
const callText = (action: string, paramsJson: string) => (id: string) =>
  `[2,${JSON.stringify(id)},${JSON.stringify(action)},${paramsJson}]`;

/** The 1.6 cases: FormationViolation is 1.6's spelling of a malformed payload. */
const v16Cases: Case[] = [
  {
    name: "NUL in a string",
    frame: call("Authorize", { idTag: "TAG\u0000OK" }),
    code: "PropertyConstraintViolation",
    says: /params\.idTag.*NUL/,
  },
  {
    name: "a lone surrogate",
    frame: callText("Authorize", '{"idTag":"TAG\\ud800"}'),
    code: "PropertyConstraintViolation",
    says: /params\.idTag.*surrogate/,
  },
  {
    name: "a lone low surrogate in a key",
    frame: callText("Heartbeat", '{"\\udc00":1}'),
    code: "PropertyConstraintViolation",
    says: /additional/i,
  },
  {
    name: "an integer beyond 32 bits",
    frame: call("StatusNotification", { connectorId: 2 ** 53, errorCode: "NoError", status: "Available" }),
    code: "TypeConstraintViolation",
    says: /params\.connectorId.*32-bit/,
  },
  {
    name: "1e308 as an integer",
    frame: callText(
      "StartTransaction",
      '{"connectorId":1,"idTag":"TAG-OK","meterStart":1e308,"timestamp":"2026-12-01T08:00:00Z"}',
    ),
    code: "TypeConstraintViolation",
    says: /params\.meterStart/,
  },
  {
    name: "a negative integer beyond 32 bits",
    frame: call("StatusNotification", { connectorId: -(2 ** 40), errorCode: "NoError", status: "Available" }),
    code: "TypeConstraintViolation",
    says: /connectorId/,
  },
  {
    name: "a meter value of 1e308 W",
    frame: call("MeterValues", {
      connectorId: 1,
      meterValue: [
        {
          timestamp: "2026-12-01T08:00:00Z",
          sampledValue: [{ value: "1e308", measurand: "Power.Active.Import", unit: "W" }],
        },
      ],
    }),
    code: "PropertyConstraintViolation",
    says: /reading\.W/,
  },
  {
    name: "JSON 10,000 levels deep",
    frame: callText("DataTransfer", `{"vendorId":"x","data":${deep(10_000, '"s"')}}`),
    code: "FormationViolation",
    says: /nests deeper than 32/,
  },
  {
    name: "an array 10,000 levels deep as params",
    frame: callText("Heartbeat", deepArray(10_000)),
    code: "FormationViolation",
    says: /nests deeper/,
  },
  {
    name: "a number where a string goes",
    frame: call("Authorize", { idTag: 12345 }),
    code: "TypeConstraintViolation",
    says: /idTag.*string/,
  },
  {
    name: "a string where an integer goes",
    frame: call("StatusNotification", { connectorId: "1", errorCode: "NoError", status: "Available" }),
    code: "TypeConstraintViolation",
    says: /connectorId.*integer/,
  },
  {
    name: "an object where an array goes",
    frame: call("MeterValues", { connectorId: 1, meterValue: {} }),
    code: "TypeConstraintViolation",
    says: /meterValue.*array/,
  },
  { name: "null params", frame: call("Heartbeat", null), code: "TypeConstraintViolation", says: /object/ },
  {
    name: "a frame over the limit",
    frame: call("Authorize", { idTag: "X".repeat(MAX_FRAME) }),
    code: "FormationViolation",
    says: /over the limit of 100000/,
  },
  {
    name: "a string over its maxLength",
    frame: call("Authorize", { idTag: "X".repeat(21) }),
    code: "FormationViolation",
    says: /idTag/,
  },
];

/** The 2.0.1 cases: FormatViolation is 2.0.1's spelling. */
const token = (idToken: unknown) => ({ idToken: { idToken, type: "ISO14443" } });
const status201 = (evseId: unknown, connectorId: unknown = 1) => ({
  timestamp: "2026-12-01T08:00:00Z",
  connectorStatus: "Available",
  evseId,
  connectorId,
});
const v201Cases: Case[] = [
  {
    name: "NUL in a string",
    frame: call("Authorize", token("TAG\u0000OK")),
    code: "PropertyConstraintViolation",
    says: /params\.idToken\.idToken.*NUL/,
  },
  {
    name: "a lone surrogate",
    frame: callText("Authorize", '{"idToken":{"idToken":"\\udfffTAG","type":"ISO14443"}}'),
    code: "PropertyConstraintViolation",
    says: /surrogate/,
  },
  {
    name: "an integer beyond 32 bits",
    frame: call("StatusNotification", status201(2 ** 53)),
    code: "TypeConstraintViolation",
    says: /params\.evseId.*32-bit/,
  },
  {
    name: "1e308 as an integer",
    frame: callText(
      "StatusNotification",
      '{"timestamp":"2026-12-01T08:00:00Z","connectorStatus":"Available","evseId":1,"connectorId":1e308}',
    ),
    code: "TypeConstraintViolation",
    says: /connectorId/,
  },
  {
    name: "a meter value of 1e308 W",
    frame: call("MeterValues", {
      evseId: 1,
      meterValue: [
        {
          timestamp: "2026-12-01T08:00:00Z",
          sampledValue: [{ value: 1e308, measurand: "Power.Active.Import" }],
        },
      ],
    }),
    code: "PropertyConstraintViolation",
    says: /reading\.W/,
  },
  {
    name: "JSON 10,000 levels deep in customData",
    frame: callText("Heartbeat", `{"customData":{"vendorId":"x","a":${deep(10_000)}}}`),
    code: "FormatViolation",
    says: /nests deeper than 32/,
  },
  {
    name: "an array 10,000 levels deep as params",
    frame: callText("Heartbeat", deepArray(10_000)),
    code: "FormatViolation",
    says: /nests deeper/,
  },
  {
    name: "a number where a string goes",
    frame: call("Authorize", token(12345)),
    code: "TypeConstraintViolation",
    says: /idToken.*string/,
  },
  {
    name: "a string where an integer goes",
    frame: call("StatusNotification", status201("1")),
    code: "TypeConstraintViolation",
    says: /evseId.*integer/,
  },
  { name: "null params", frame: call("Heartbeat", null), code: "TypeConstraintViolation", says: /object/ },
  {
    name: "a frame over the limit",
    frame: call("Authorize", token("X".repeat(MAX_FRAME))),
    code: "FormatViolation",
    says: /over the limit of 100000/,
  },
  {
    name: "a string over its maxLength",
    frame: call("Authorize", token("X".repeat(37))),
    code: "FormatViolation",
    says: /idToken/,
  },
];

describe.each([
  { version: "ocpp1.6" as const, id: "dev-hostile-16", boot: boot16, cases: v16Cases },
  { version: "ocpp2.0.1" as const, id: "dev-hostile-201", boot: boot201, cases: v201Cases },
])("hostile payloads over $version", ({ version, id, boot, cases }) => {
  it("each gets the CALLERROR its version names, and the connection and later valid calls still work", async () => {
    const cp = await rawCharger(id, version);
    expect((await cp.callRaw("BootNotification", boot))[0]).toBe(3);
    const outcomes: Array<{ name: string; answer: unknown[] }> = [];
    for (const [i, c] of cases.entries()) {
      const messageId = `bad-${i}`;
      outcomes.push({ name: c.name, answer: await cp.raw(c.frame(messageId), messageId) });
      // after each one, the connection still answers a valid call
      expect((await cp.callRaw("Heartbeat", {}))[0], `Heartbeat after ${c.name}`).toBe(3);
    }
    for (const [i, c] of cases.entries()) {
      const { answer } = outcomes[i]!;
      expect({ name: c.name, type: answer[0], id: answer[1], code: answer[2] }).toEqual({
        name: c.name,
        type: 4,
        id: `bad-${i}`,
        code: c.code,
      });
      expect(String(answer[3]), c.name).toMatch(c.says);
      // the text never leaks the internals
      expect(String(answer[3]), c.name).not.toMatch(/prisma|invocation|postgres/i);
    }
    expect(cp.open()).toBe(true);
    // nothing hostile was kept: no status for the huge connector ids, no transaction
    expect(await ocpp.db.connector.count({ where: { chargePointId: id } })).toBe(0);
    expect(await ocpp.db.chargingTransaction.count({ where: { chargePointId: id } })).toBe(0);
    // and a valid call that changes state still does
    const status =
      version === "ocpp1.6" ? { connectorId: 1, errorCode: "NoError", status: "Available" } : status201(1);
    expect((await cp.callRaw("StatusNotification", status))[0]).toBe(3);
    expect(await ocpp.db.connector.count({ where: { chargePointId: id } })).toBe(1);
    expect(await ocpp.db.chargerSession.count({ where: { chargePointId: id } })).toBe(1);
    cp.ws.close();
  });
});

describe("a sampled value that is not a finite number", () => {
  it("is skipped, never read as 0 or Infinity (1.6 sends values as text)", async () => {
    const cp = await rawCharger("dev-hostile-inf", "ocpp1.6");
    expect((await cp.callRaw("BootNotification", boot16))[0]).toBe(3);
    const answer = await cp.callRaw("MeterValues", {
      connectorId: 1,
      meterValue: [
        {
          timestamp: "2026-12-01T08:00:00Z",
          sampledValue: [{ value: "1e999", measurand: "Power.Active.Import", unit: "W" }],
        },
      ],
    });
    expect(answer[0]).toBe(3);
    const readings = await ocpp.db.outboxMessage.findMany({
      where: { key: "dev-hostile-inf", type: "reading.measured" },
    });
    for (const r of readings) expect((r.payload as { reading: { W?: number } }).reading.W).toBeUndefined();
    cp.ws.close();
  });
});

describe("a frame far over the limit", () => {
  it("closes the socket with 1009 (RFC 6455) before it is read whole; the charger reconnects and is answered", async () => {
    const cp = await rawCharger("dev-hostile-big", "ocpp1.6");
    expect((await cp.callRaw("BootNotification", boot16))[0]).toBe(3);
    cp.ws.send(JSON.stringify([2, "huge", "Authorize", { idTag: "X".repeat(MAX_FRAME * 5) }]));
    expect(await cp.closed).toBe(1009);
    const again = await rawCharger("dev-hostile-big", "ocpp1.6");
    expect((await again.callRaw("BootNotification", boot16))[0]).toBe(3);
    expect((await again.callRaw("Heartbeat", {}))[0]).toBe(3);
    again.ws.close();
  });
});
