import { randomUUID } from "node:crypto";
import { catalog, findTopic, topics } from "@energy/contracts";
import { Kafka, logLevel } from "kafkajs";
import { parseCommand } from "../args.ts";
import { kafkaSettings } from "../config.ts";
import { formatMessage, readMessage } from "../decode.ts";
import { CliError, usageError } from "../errors.ts";

export const TAIL_HELP = `usage: energy tail <topic> [--key <key>] [--type <event.type>]… [--from-beginning] [--brokers <list>]
                   [--prefix <prefix>] [--json] [--max <n>]

Prints a topic's messages, each decoded and validated against the topic catalog (packages/contracts):
its envelope, event type and payload. A message that breaks the contract is printed as INVALID with the
reason; tailing goes on. From now on, unless --from-beginning. Ctrl-C stops.

  <topic>             a catalog topic, e.g. ${topics.registryDevice.name} (energy tail --list shows them all)
  --key <key>         only messages with this key (the entity id the topic is keyed by)
  --type <type>       only this event type (repeat for several)
  --from-beginning    the topic's whole retained history first
  --brokers <list>    default $KAFKA_BROKERS, else 127.0.0.1:9092 (tools/dev.ts's broker)
  --prefix <prefix>   topic name prefix of the environment (default $KAFKA_TOPIC_PREFIX, else none)
  --json              one JSON object per line: topic, partition, offset, key, valid, type, envelope,
                      payload (or reason and value)
  --max <n>           stop after n messages printed
  --list              list the catalog's topics, their keys and event types`;

export async function tail(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand("tail", argv, {
    key: { type: "string" },
    type: { type: "string", multiple: true },
    "from-beginning": { type: "boolean" },
    brokers: { type: "string" },
    prefix: { type: "string" },
    json: { type: "boolean" },
    max: { type: "string" },
    list: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(TAIL_HELP);
    return 0;
  }
  if (values.list) {
    for (const t of catalog) {
      console.log(`${t.name}  (key: ${t.key})  ${Object.keys(t.events).join(", ")}`);
    }
    return 0;
  }
  const [topicName, ...extra] = positionals;
  if (!topicName) throw usageError(`tail: a topic is required\n\n${TAIL_HELP}`);
  if (extra.length > 0) throw usageError(`tail: one topic at a time (got ${positionals.join(" ")})`);
  const topic = findTopic(topicName);
  if (!topic) {
    throw usageError(
      `tail: "${topicName}" is not a topic of the catalog; one of: ${catalog.map((t) => t.name).join(", ")}`,
    );
  }
  const eventTypes = Object.keys(topic.events);
  const types = new Set(values.type ?? []);
  for (const type of types) {
    if (!eventTypes.includes(type)) {
      throw usageError(`tail: ${topic.name} has no event type "${type}"; it has ${eventTypes.join(", ")}`);
    }
  }
  const max = values.max === undefined ? Number.POSITIVE_INFINITY : Number(values.max);
  if (!(Number.isInteger(max) && max > 0) && max !== Number.POSITIVE_INFINITY) {
    throw usageError(`tail: --max must be a positive integer, got "${values.max}"`);
  }
  const { brokers, prefix } = kafkaSettings(values);
  const fullName = `${prefix}${topic.name}`;
  const fromBeginning = values["from-beginning"] ?? false;

  const kafka = new Kafka({
    clientId: "energy-cli",
    brokers: brokers.split(",").map((b) => b.trim()),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (error) {
    throw new CliError(`cannot reach Kafka at ${brokers}: ${(error as Error).message}`);
  }
  // Where "now" is, per partition: taken before subscribing, so nothing published after it is missed.
  let start: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(fullName);
    start = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  } catch (error) {
    await admin.disconnect();
    throw new CliError(`cannot read topic ${fullName} on ${brokers}: ${(error as Error).message}`);
  }

  // A group of its own (never committed to, deleted on exit): kafkajs reads topics through groups only.
  const groupId = `energy-tail-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
  let printed = 0;
  let exitCode = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const stop = () => finish();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  consumer.on(consumer.events.CRASH, (event) => {
    if (event.payload.restart) {
      console.error(`energy tail: ${event.payload.error.message}; reconnecting…`);
      return;
    }
    console.error(`energy tail: the consumer stopped: ${event.payload.error.message}`);
    exitCode = 1;
    finish();
  });

  try {
    await consumer.connect();
    await consumer.subscribe({ topic: fullName, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (printed >= max) return;
        if (!fromBeginning && BigInt(message.offset) < (start.get(partition) ?? 0n)) return;
        if (values.key !== undefined && message.key?.toString("utf8") !== values.key) return;
        let line: string;
        try {
          const read = readMessage(topic.name, { ...message, partition });
          if (types.size > 0 && !(read.type && types.has(read.type))) return;
          line = values.json ? JSON.stringify(read) : formatMessage(read);
        } catch (error) {
          // readMessage does not throw; should printing ever fail, the message is reported, not fatal
          line = `── ${topic.name} partition ${partition} offset ${message.offset} · INVALID: cannot print it (${(error as Error).message})`;
        }
        console.log(line);
        printed++;
        if (printed >= max) finish();
      },
    });
    if (!fromBeginning) {
      for (const [partition, offset] of start)
        consumer.seek({ topic: fullName, partition, offset: String(offset) });
    }
    console.error(
      `energy tail: ${fullName} on ${brokers}, ${fromBeginning ? "from the beginning" : "from now"}` +
        `${values.key !== undefined ? `, key ${values.key}` : ""}${types.size ? `, types ${[...types].join(", ")}` : ""}` +
        " (Ctrl-C stops)",
    );
    await finished;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await consumer.disconnect().catch(() => {});
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
  return exitCode;
}
