export {
  type AnyEventPayload,
  BatchConsumerRunner,
  type BatchConsumerRunnerOptions,
  type BatchConsumerStats,
  type BatchContext,
  type BatchHandler,
  type BatchSubscription,
  defineBatchSubscription,
  registerBatchConsumerMetrics,
} from "./batch-consumer.ts";
export { type KafkaConfig, KafkaConfigSchema } from "./config.ts";
export {
  ConsumerRunner,
  type ConsumerRunnerOptions,
  type ConsumerStats,
  defineSubscription,
  type EventHandler,
  type EventHandlers,
  type HandlerContext,
  type Subscription,
} from "./consumer.ts";
export type { Logger, SqlClient, TransactionalDb } from "./db.ts";
export type { DecodedMessage } from "./decode.ts";
export { createEnvelope, type EnvelopeInit, envelopeFromHeaders, envelopeToHeaders } from "./envelope.ts";
export { classifyError, FatalMessageError, InvalidMessageError } from "./errors.ts";
export { createKafka } from "./kafka.ts";
export { consumerGroupLag, consumerLagReadiness, type PartitionLag } from "./lag.ts";
export {
  checkMessageSize,
  DEFAULT_MAX_MESSAGE_BYTES,
  MessageTooLargeError,
  maxMessageBytes,
  setMaxMessageBytes,
} from "./message-size.ts";
export {
  brokerRefusal,
  enqueueEvent,
  enqueueEvents,
  OUTBOX_COLUMNS,
  type OutboxBacklog,
  OutboxRelay,
  type OutboxRelayOptions,
  type OutboxRelayStats,
  outboxBacklog,
  outboxReadiness,
  outboxRows,
  outboxUnnest,
  registerOutboxBacklogMetrics,
} from "./outbox.ts";
export {
  type EventOptions,
  EventProducer,
  event,
  type OutgoingEvent,
  type PreparedMessage,
  prepareEvent,
  validateEvent,
} from "./producer.ts";
export type { RetryOptions } from "./retry.ts";
export { consumersFor } from "./subscriptions.ts";
