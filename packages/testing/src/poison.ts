import type { IHeaders, Kafka, Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTopic } from "./kafka.ts";
import { waitFor } from "./wait.ts";

/** A catalog topic as the suite needs it: its name without prefix, and its owner (the envelope's source). */
export type PoisonTopic = { name: string; owner: string };

/** One consumed topic's poisoned messages and the valid one sent behind them (same key, so same partition). */
export interface PoisonCase<T extends PoisonTopic = PoisonTopic> {
  topic: T;
  /** the event type the envelopes name */
  type: string;
  key: string;
  /** a payload of the wrong types (a schema refusal) */
  wrongTypes: unknown;
  /** a payload with a NUL where PostgreSQL takes none */
  nul: unknown;
  /** a valid payload: applied although three poisoned ones came before it */
  valid: unknown;
  /** taken just before the messages are sent, and given to `applied` (e.g. a runner's processed count) */
  before?: () => number;
  /** the valid message's effect, once it is there (truthy) */
  applied: (before: number) => Promise<unknown> | unknown;
}

export interface PoisonOptions<T extends PoisonTopic> {
  /** the service's broker and topic prefix (called once the service has started) */
  kafka: () => { kafka: Kafka; topicPrefix: string };
  cases: PoisonCase<T>[];
  /** the envelope header of a message of `type` from `source` (packages/kafka's envelopeToHeaders(createEnvelope(…))) */
  envelopeHeaders: (type: string, source: T["owner"]) => IHeaders;
  /** what the DLQ reason of the NUL message matches (default /0x00|NUL/) */
  nulReason?: RegExp;
  /** per case (default 90 s) */
  timeoutMs?: number;
}

/**
 * Hostile messages on every topic a service consumes: not JSON, the wrong types, a NUL where PostgreSQL takes
 * no NUL. Each goes to the topic's DLQ, in order, with its key, its origin topic and a reason that says why;
 * and the valid message behind them (same key, same partition) is applied all the same. The service's
 * consumers must be running (started with consumers) before the suite's tests run.
 *
 *   describePoisonedMessages("the topics meter-read consumes", {
 *     kafka: () => mr.testKafka, cases, envelopeHeaders: (type, source) => envelopeToHeaders(createEnvelope({ type, source })),
 *   });
 */
export function describePoisonedMessages<T extends PoisonTopic>(what: string, opts: PoisonOptions<T>): void {
  const nulReason = opts.nulReason ?? /0x00|NUL/;
  describe(`poisoned messages on ${what}`, () => {
    let raw: Producer;
    beforeAll(async () => {
      raw = opts.kafka().kafka.producer();
      await raw.connect();
    });
    afterAll(async () => {
      await raw?.disconnect();
    });

    it.each(opts.cases.map((c) => [c.topic.name, c] as const))(
      "%s: invalid JSON, wrong types and a NUL go to the DLQ with a reason; the valid message behind them is applied",
      { timeout: opts.timeoutMs ?? 90_000 },
      async (_name, c) => {
        const { kafka, topicPrefix } = opts.kafka();
        const before = c.before?.() ?? 0;
        const headers = () => opts.envelopeHeaders(c.type, c.topic.owner);
        await raw.send({
          topic: `${topicPrefix}${c.topic.name}`,
          messages: [
            { key: c.key, value: '{"not json', headers: headers() },
            { key: c.key, value: JSON.stringify(c.wrongTypes), headers: headers() },
            { key: c.key, value: JSON.stringify(c.nul), headers: headers() },
            { key: c.key, value: JSON.stringify(c.valid), headers: headers() },
          ],
        });
        await waitFor(`the valid ${c.type}`, () => c.applied(before), { timeoutMs: 60_000 });
        const dead = await readTopic(kafka, `${topicPrefix}${c.topic.name}.dlq`, { count: 3 });
        expect(dead).toHaveLength(3);
        for (const m of dead) {
          expect(m.key).toBe(c.key);
          expect(m.headers["dlq-error"]).toBeTruthy();
          expect(m.headers["dlq-origin-topic"]).toBe(`${topicPrefix}${c.topic.name}`);
        }
        expect(dead[0]!.headers["dlq-error"]).toMatch(/JSON/);
        expect(dead[1]!.headers["dlq-error"]).toMatch(/invalid|expected/i);
        expect(dead[2]!.headers["dlq-error"]).toMatch(nulReason);
      },
    );
  });
}
