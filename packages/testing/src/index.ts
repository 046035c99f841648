export { createTestDatabase, type TestDatabase } from "./database.ts";
export { kafkaBrokers, postgresUrl } from "./env.ts";
export {
  after,
  createTestKafka,
  endOffsets,
  groupCaughtUp,
  headersToStrings,
  messagesOn,
  type ReadMessage,
  readTopic,
  type TestKafka,
} from "./kafka.ts";
export {
  type JsonSchema,
  type OpenApiDocument,
  type RouteInputs,
  routesOf,
  unboundedInputs,
} from "./openapi.ts";
export { waitFor } from "./wait.ts";
