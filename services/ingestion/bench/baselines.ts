/**
 * What the ingestion path competes with, measured in the same run on the same machine, so that a noisy
 * machine does not hide a regression (end to end is printed as a ratio to the slower of the two):
 * - PostgreSQL: raw `COPY … FROM STDIN` (text format, as the store sends it) of the same reading rows into a table equivalent to
 *   `reading` (`CREATE TABLE … (LIKE reading INCLUDING ALL)`: same columns and primary key), through psql;
 * - Kafka: raw kafkajs produce (acks -1, the batches' messages in flight as the service sends them) and
 *   consume (one group consumer, eachBatch) of the same messages the service produces: one per DER and
 *   batch, the readings.accepted payload, keyed by DER, on a topic with the telemetry topic's partitions.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createKafka } from "@energy/kafka";
import type { TelemetryItem } from "@energy/simulation";
import { copyText } from "../src/store/apply-readings.ts";

/** Where a DER sits (the projection's rows). */
export interface DerScope {
  deviceId: string;
  siteId: string;
  orgId: string;
  gatewayId: string;
}

const column = (value: string | null) => (value === null ? "\\N" : copyText(value));

/**
 * `COPY` of every reading of `batches` into a fresh copy of the reading table, `times` times (each into a
 * new table); readings/s of each run, and their median, which the ratio uses: one COPY of ~400,000 rows
 * moved 87,000-134,000/s from run to run on an unshared machine (the cause was not found).
 */
export async function copyBaseline(
  databaseUrl: string,
  batches: TelemetryItem[][],
  scopes: Map<string, DerScope>,
  times = 3,
): Promise<{ rows: number; perSecond: number; runs: number[] }> {
  const receivedAt = new Date().toISOString();
  const lines: string[] = [];
  for (const items of batches) {
    for (const { derId, reading } of items) {
      const scope = scopes.get(derId)!;
      lines.push(
        [
          column(derId),
          column(new Date(reading.timestamp).toISOString()),
          column(receivedAt),
          column(scope.deviceId),
          column(scope.gatewayId),
          column(JSON.stringify(reading)),
        ].join("\t"),
      );
    }
  }
  const text = `${lines.join("\n")}\n`;
  const rates: number[] = [];
  for (let run = 0; run < times; run++) {
    await psql(databaseUrl, [
      "-c",
      "DROP TABLE IF EXISTS baseline_reading; CREATE TABLE baseline_reading (LIKE reading INCLUDING ALL)",
    ]);
    const started = performance.now();
    await psql(
      databaseUrl,
      [
        "-c",
        "COPY baseline_reading (der_id, reading_at, received_at, device_id, gateway_id, reading) FROM STDIN",
      ],
      text,
    );
    rates.push((lines.length * 1000) / (performance.now() - started));
    await psql(databaseUrl, ["-c", "DROP TABLE baseline_reading"]);
  }
  const sorted = [...rates].sort((a, b) => a - b);
  return { rows: lines.length, perSecond: sorted[Math.floor(sorted.length / 2)]!, runs: rates };
}

/** "median of a / b / c" of a copyBaseline result, its runs in order, for the benches' tables. */
export function copyRuns(copy: { runs: number[] }): string {
  return `median of ${copy.runs.map((r) => Math.round(r).toLocaleString("en-US")).join(" / ")}`;
}

function psql(databaseUrl: string, args: string[], stdin?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", databaseUrl, ...args], {
      stdio: ["pipe", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`psql failed (${code}): ${err}`)),
    );
    child.stdin.end(stdin ?? "");
  });
}

/** Raw kafkajs produce + consume of the messages the service would produce for `batches`; readings/s. */
export async function kafkaBaseline(opts: {
  brokers: string;
  topicPrefix: string;
  partitions: number;
  batches: TelemetryItem[][];
  scopes: Map<string, DerScope>;
  /** produce requests in flight, as the service has one per gateway batch in flight */
  inFlight: number;
}): Promise<{ messages: number; readings: number; ms: number; perSecond: number }> {
  const receivedAt = new Date().toISOString();
  const requests = opts.batches.map((items) => {
    const byDer = new Map<string, TelemetryItem["reading"][]>();
    for (const { derId, reading } of items) {
      const list = byDer.get(derId);
      if (list) list.push(reading);
      else byDer.set(derId, [reading]);
    }
    return [...byDer].map(([derId, readings]) => {
      const scope = opts.scopes.get(derId)!;
      return {
        key: derId,
        value: JSON.stringify({ derId, ...scope, receivedAt, readings }),
        headers: {
          id: randomUUID(),
          type: "readings.accepted",
          schemaVersion: "1",
          source: "ingestion",
          occurredAt: receivedAt,
        },
      };
    });
  });
  const messages = requests.reduce((n, r) => n + r.length, 0);
  const readings = opts.batches.reduce((n, b) => n + b.length, 0);
  const topic = `${opts.topicPrefix}bench-baseline`;
  const kafka = createKafka({ brokers: opts.brokers, clientId: "ingestion-bench-baseline" });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: opts.partitions }], waitForLeaders: true });
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: `${opts.topicPrefix}bench-baseline`, maxWaitTimeInMs: 100 });
  try {
    await Promise.all([producer.connect(), consumer.connect()]);
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let consumed = 0;
    let allConsumed: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      allConsumed = resolve;
    });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) JSON.parse(message.value!.toString());
        consumed += batch.messages.length;
        if (consumed >= messages) allConsumed();
      },
    });
    // the group has joined once the consumer fetched (nothing yet): give it its assignment first
    await new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.FETCH_START, () => {
        off();
        resolve();
      });
    });
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: opts.inFlight }, async () => {
        while (next < requests.length) {
          const batch = requests[next++]!;
          await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages: batch }] });
        }
      }),
    );
    await done;
    const ms = performance.now() - started;
    return { messages, readings, ms, perSecond: (readings * 1000) / ms };
  } finally {
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
}
