/**
 * Benchmark (not a test): envelope-validated produce+consume through packages/kafka against raw
 * kafkajs, on the same broker, in one run. Prints messages/s of each and the ratios (goal >= 0.7).
 *
 * Two raw baselines: "bare" sends only the payload; "same messages" sends what the package puts on the
 * wire (the payload and an `envelope` header, built with JSON.stringify as hand-written code would) and
 * reads both back with JSON.parse. The difference between the two is what carrying an envelope costs in
 * kafkajs itself (it allocates an encoder per header and copies every byte in JavaScript); the ratio to
 * "same messages" is the package's own overhead: validation on both ends, the runner, the bookkeeping.
 * "package batch runner" consumes the same messages through BatchConsumerRunner (chunks to one handler).
 *
 *   bash tools/platform.sh start      # or: node infra/kafka/kafka.ts start
 *   node --import tsx packages/kafka/bench/produce-consume.ts [--messages 100000] [--batch 500] [--rounds 3]
 *
 * Both sides use the same producer settings (idempotent, acks=all), the same batch size, the same
 * payload and a fresh 3-partition topic; the clock runs from the first send to the last message consumed.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { topics } from "@energy/contracts";
import { ensureTopics } from "@energy/infra/topics";
import type { Kafka } from "kafkajs";
import { BatchConsumerRunner, ConsumerRunner, createKafka, EventProducer, event } from "../src/index.ts";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const MESSAGES = arg("--messages", 100_000);
const BATCH = arg("--batch", 500);
const ROUNDS = arg("--rounds", 3);
const BROKERS = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const TOPIC = topics.registryDevice;

const device = (i: number) => ({
  deviceId: `dev-${i}`,
  orgId: "org-bench",
  siteId: "sit-bench",
  type: "inverter" as const,
  state: "active" as const,
  name: `Inverter ${i}`,
  commIdentityId: "zap-bench",
  externalId: `ext-${i}`,
  make: "Deye",
  model: "SUN-10K",
  capacityW: 10_000,
  commissioningDate: "2024-05-01",
  countryCode: "SE",
  fuelCode: "ES100",
});

async function freshTopic(): Promise<string> {
  const prefix = `bench${randomBytes(3).toString("hex")}.`;
  await ensureTopics({ brokers: BROKERS, prefix, only: [TOPIC.name] });
  return prefix;
}

function deadline<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, no) => setTimeout(() => no(new Error(`${what} timed out`)), 300_000)),
  ]);
}

async function raw(kafka: Kafka, withEnvelope: boolean): Promise<number> {
  const prefix = await freshTopic();
  const topic = prefix + TOPIC.name;
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: `${prefix}raw` });
  await Promise.all([producer.connect(), consumer.connect()]);
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
  await consumer.run({
    eachBatch: async ({ batch, resolveOffset }) => {
      for (const m of batch.messages) {
        JSON.parse(m.value!.toString()); // a consumer reads what it gets
        if (withEnvelope) JSON.parse(m.headers!.envelope!.toString());
        resolveOffset(m.offset);
        seen++;
      }
      if (seen >= MESSAGES) done();
    },
  });
  await joined;
  const start = performance.now();
  for (let i = 0; i < MESSAGES; i += BATCH) {
    const messages = [];
    for (let j = i; j < Math.min(i + BATCH, MESSAGES); j++) {
      const headers = withEnvelope
        ? {
            envelope: JSON.stringify({
              id: randomUUID(),
              type: "device.registered",
              schemaVersion: 1,
              source: "registry",
              occurredAt: new Date().toISOString(),
            }),
          }
        : undefined;
      messages.push({ key: `dev-${j}`, value: JSON.stringify(device(j)), headers });
    }
    await producer.send({ topic, acks: -1, messages });
  }
  await deadline(finished, "raw consume");
  const seconds = (performance.now() - start) / 1000;
  await Promise.all([producer.disconnect(), consumer.disconnect()]);
  return MESSAGES / seconds;
}

/** Through the package: EventProducer, and ConsumerRunner (one message at a time) or BatchConsumerRunner. */
async function platform(kafka: Kafka, kind: "message" | "batch"): Promise<number> {
  const prefix = await freshTopic();
  const producer = new EventProducer(kafka, { source: "registry", topicPrefix: prefix });
  await producer.connect();
  let seen = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const common = { kafka, groupId: `${prefix}${kind}`, topicPrefix: prefix, producer };
  const runner =
    kind === "message"
      ? new ConsumerRunner({
          ...common,
          subscriptions: [
            {
              topic: TOPIC,
              handlers: {
                "device.registered": async () => {
                  if (++seen >= MESSAGES) done();
                },
              },
            },
          ],
        })
      : new BatchConsumerRunner({
          ...common,
          subscriptions: [
            {
              topic: TOPIC,
              handler: async (messages) => {
                seen += messages.length;
                if (seen >= MESSAGES) done();
              },
            },
          ],
        });
  await runner.start();
  const start = performance.now();
  for (let i = 0; i < MESSAGES; i += BATCH) {
    const events = [];
    for (let j = i; j < Math.min(i + BATCH, MESSAGES); j++) {
      events.push(event(TOPIC, "device.registered", device(j)));
    }
    await producer.publishAll(events);
  }
  await deadline(finished, `platform consume (${kind})`);
  const seconds = (performance.now() - start) / 1000;
  await runner.stop();
  await producer.disconnect();
  return MESSAGES / seconds;
}

const kafka = createKafka({ brokers: BROKERS, clientId: "bench" });
console.log(
  `broker ${BROKERS}; ${MESSAGES} messages per run, batches of ${BATCH}, ${ROUNDS} rounds each, alternating`,
);
const rates = { bare: [] as number[], same: [] as number[], platform: [] as number[], batch: [] as number[] };
for (let round = 1; round <= ROUNDS; round++) {
  // the package and raw kafkajs with the same messages run back to back, in turn first, so that a burst of
  // load from elsewhere on a shared machine falls on both of a pair as often as on one
  if (round % 2 === 1) {
    rates.same.push(await raw(kafka, true));
    rates.platform.push(await platform(kafka, "message"));
  } else {
    rates.platform.push(await platform(kafka, "message"));
    rates.same.push(await raw(kafka, true));
  }
  rates.bare.push(await raw(kafka, false));
  rates.batch.push(await platform(kafka, "batch"));
  console.log(
    `round ${round}: raw bare ${Math.round(rates.bare.at(-1)!)}, raw same messages ${Math.round(rates.same.at(-1)!)}, ` +
      `packages/kafka ${Math.round(rates.platform.at(-1)!)}, package batch runner ${Math.round(rates.batch.at(-1)!)} msg/s`,
  );
}
const best = (xs: number[]) => Math.max(...xs);
const fmt = (xs: number[]) => `${String(Math.round(best(xs))).padStart(7)} msg/s`;
console.log(`\nbest of ${ROUNDS} rounds, produce+consume in one process:`);
console.log(`  raw kafkajs, bare payload:                     ${fmt(rates.bare)}`);
console.log(`  raw kafkajs, same messages (payload+envelope): ${fmt(rates.same)}`);
console.log(`  packages/kafka (validated, enveloped, runner): ${fmt(rates.platform)}`);
console.log(`  package batch runner (BatchConsumerRunner):    ${fmt(rates.batch)}`);
console.log(
  `ratio to raw with the same messages: ${(best(rates.platform) / best(rates.same)).toFixed(2)} (goal >= 0.70)`,
);
console.log(`ratio to raw bare payload:           ${(best(rates.platform) / best(rates.bare)).toFixed(2)}`);
console.log(
  `batch runner ratio to raw with the same messages: ${(best(rates.batch) / best(rates.same)).toFixed(2)}`,
);
const paired = rates.platform.map((rate, i) => rate / rates.same[i]!);
const median = [...paired].sort((a, b) => a - b)[Math.floor(paired.length / 2)]!;
console.log(
  `per round, packages/kafka ÷ raw with the same messages run back to back: ${paired.map((r) => r.toFixed(2)).join(", ")}; median ${median.toFixed(2)} (goal >= 0.70)`,
);
