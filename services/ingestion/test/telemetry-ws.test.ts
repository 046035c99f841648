import type { AddressInfo } from "node:net";
import { after, endOffsets, messagesOn, readTopic } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type Ingestion, seedSite, startIngestion } from "./helpers.ts";

const GATEWAY = "gw-ws-1";
let ing: Ingestion;
let url: string;
let admin: ReturnType<Ingestion["testKafka"]["kafka"]["admin"]>;
const telemetryTopic = () => `${ing.testKafka.topicPrefix}ingestion.telemetry.v1`;

beforeAll(async () => {
  ing = await startIngestion();
  admin = ing.testKafka.kafka.admin();
  await admin.connect();
  await seedSite(ing.db, {
    orgId: "org-ws",
    siteId: "site-ws",
    deviceId: "dev-ws",
    gatewayId: GATEWAY,
    ders: { "der-ws-pv": "solar", "der-ws-meter": "meter" },
  });
  await ing.app.listen({ port: 0, host: "127.0.0.1" });
  url = `ws://127.0.0.1:${(ing.app.server.address() as AddressInfo).port}/v1/telemetry/ws`;
});
afterAll(async () => {
  await admin?.disconnect();
  await ing?.close();
});

/**
 * A connected gateway socket with a way to await the answer to each frame; for each answer, how many
 * messages the telemetry topic held the moment it arrived (asked before anything else is done with it).
 */
async function connect(headers: Record<string, string>) {
  const socket = new WebSocket(url, { headers });
  const answers: Array<Record<string, unknown>> = [];
  const onTopicAtAnswer: Array<Promise<number>> = [];
  const waiters: Array<() => void> = [];
  socket.on("message", (data) => {
    onTopicAtAnswer.push(messagesOn(admin, telemetryTopic()));
    answers.push(JSON.parse(data.toString()));
    for (const wake of waiters.splice(0)) wake();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return {
    socket,
    answers,
    onTopicAtAnswer,
    async answerTo(batchId: string | null, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = answers.find((a) => a.batchId === batchId);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no answer to ${batchId}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
  };
}

const reading = (minute: number, W: number) => ({
  derId: "der-ws-pv",
  reading: { type: "pv", timestamp: Date.now() - 3_600_000 + minute * 60_000, W },
});

describe("the WebSocket stream", () => {
  it("answers every batch by its id once its readings are on Kafka, several in flight", async () => {
    const gw = await connect(ing.auth(GATEWAY));
    const ends = await endOffsets(admin, telemetryTopic());
    const before = await messagesOn(admin, telemetryTopic());
    for (let b = 0; b < 5; b++) {
      gw.socket.send(
        JSON.stringify({ batchId: `b-${b}`, items: [reading(b * 2, -100), reading(b * 2 + 1, -200)] }),
      );
    }
    for (let b = 0; b < 5; b++)
      expect(await gw.answerTo(`b-${b}`)).toEqual({ batchId: `b-${b}`, accepted: 2, rejected: [] });
    // one message per batch (one DER): the n-th answer to arrive found at least n of them on the topic
    const atAnswer = await Promise.all(gw.onTopicAtAnswer);
    expect(atAnswer.map((count, n) => count >= before + n + 1)).toEqual([true, true, true, true, true]);
    const onKafka = after(
      ends,
      await readTopic(ing.testKafka.kafka, telemetryTopic(), { count: before + 5 }),
    );
    // one message per DER and batch, with the batch's two readings
    expect(onKafka.map((m) => JSON.parse(m.value!).readings.length)).toEqual([2, 2, 2, 2, 2]);

    gw.socket.send(JSON.stringify({ batchId: "mixed", items: [reading(30, -5), reading(31, 50)] }));
    expect(await gw.answerTo("mixed")).toMatchObject({
      accepted: 1,
      rejected: [{ index: 1, reasons: [{ field: "reading.W" }] }],
    });
    gw.socket.close();
  });

  it("times every frame from its arrival to its answer on /metrics, by outcome", async () => {
    const counted = async () => {
      const text = await (await ing.app.inject({ method: "GET", url: "/metrics" })).body;
      const count = (outcome: string) =>
        Number(
          text.match(
            new RegExp(
              `^ingestion_ws_frame_duration_seconds_count\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)$`,
              "m",
            ),
          )?.[1] ?? 0,
        );
      return { answered: count("answered"), error: count("error") };
    };
    const before = await counted();
    const gw = await connect(ing.auth(GATEWAY));
    for (const b of [0, 1, 2])
      gw.socket.send(JSON.stringify({ batchId: `t-${b}`, items: [reading(50 + b, -1)] }));
    gw.socket.send("{oops");
    for (const b of [0, 1, 2]) await gw.answerTo(`t-${b}`);
    await gw.answerTo(null);
    expect(await counted()).toEqual({ answered: before.answered + 3, error: before.error + 1 });
    gw.socket.close();
  });

  it("refuses an item of a frame with a NUL or a lone surrogate naming the field, and takes the others", async () => {
    // The frame's text is checked whole (a string gets a NUL or a lone surrogate only through a \u escape):
    // a frame with such an escape has its items checked one by one; one without, with raw non-ASCII text and
    // an escaped pair (an emoji), is taken as it is.
    const gw = await connect(ing.auth(GATEWAY));
    const item = (minute: number, extra: string) =>
      `{"derId":"der-ws-pv","reading":{"type":"pv","timestamp":${Date.now() - 3_600_000 + minute * 60_000},"W":-5${extra}}}`;
    gw.socket.send(
      `{"batchId":"bad-text","items":[${item(1, "")},${item(2, ',"make":"De\\u0000ye"')},${item(3, ',"model":"x\\ud800"')},${item(4, ',"make":"\\u00e9\\ud83d\\ude00"')}]}`,
    );
    const answer = (await gw.answerTo("bad-text")) as {
      accepted: number;
      rejected: Array<{ index: number; reasons: Array<{ field: string; message: string }> }>;
    };
    expect(answer.accepted).toBe(2);
    expect(answer.rejected.map((r) => [r.index, r.reasons[0]?.field])).toEqual([
      [1, "reading.make"],
      [2, "reading.model"],
    ]);
    expect(answer.rejected[0]?.reasons[0]?.message).toMatch(/NUL/);
    expect(answer.rejected[1]?.reasons[0]?.message).toMatch(/lone surrogate/);
    gw.socket.send(`{"batchId":"plain","items":[${item(5, ',"make":"Dëye 😀"')}]}`);
    expect(await gw.answerTo("plain")).toMatchObject({ accepted: 1, rejected: [] });
    gw.socket.close();
  });

  it.each([
    ["not JSON", "{oops", null, "invalid_json"],
    ["no items", JSON.stringify({ batchId: "x1" }), "x1", "invalid_frame"],
    ["no batch id", JSON.stringify({ items: [] }), null, "invalid_frame"],
    ["an empty batch", JSON.stringify({ batchId: "x2", items: [] }), "x2", "invalid_batch"],
  ])(
    "answers a frame with %s with an error naming it, and stays open",
    async (_what, frame, batchId, code) => {
      const gw = await connect(ing.auth(GATEWAY));
      gw.socket.send(frame);
      expect(await gw.answerTo(batchId)).toMatchObject({ batchId, error: { code } });
      gw.socket.send(JSON.stringify({ batchId: "after", items: [reading(40, -1)] }));
      expect(await gw.answerTo("after")).toMatchObject({ accepted: 1 });
      gw.socket.close();
    },
  );

  it.each([
    ["without a token", {}, 401],
    ["with a user's token", "user", 403],
  ])("refuses the upgrade %s", async (_what, who, status) => {
    const headers = typeof who === "string" ? ing.auth("usr-1", who) : who;
    const socket = new WebSocket(url, { headers });
    const refused = await new Promise<number>((resolve) => {
      socket.on("unexpected-response", (req, res) => {
        resolve(res.statusCode ?? 0);
        // with this listener ws leaves the refused request open: end it
        res.resume();
        req.destroy();
      });
      socket.on("open", () => resolve(101));
      socket.on("error", () => {});
    });
    expect(refused).toBe(status);
  });
});
