import { Kafka, logLevel } from "kafkajs";

/** A kafkajs client for 127.0.0.1-style broker lists (use 127.0.0.1, not localhost: Node may try IPv6 first). */
export function createKafka(opts: { brokers: string; clientId: string; quiet?: boolean }): Kafka {
  return new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers.split(",").map((b) => b.trim()),
    logLevel: opts.quiet === false ? logLevel.WARN : logLevel.ERROR,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5_000 },
  });
}
