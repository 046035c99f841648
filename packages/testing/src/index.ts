export { createTestDatabase, type TestDatabase } from "./database.ts";
export { kafkaBrokers, postgresUrl } from "./env.ts";
export { createTestKafka, headersToStrings, type ReadMessage, readTopic, type TestKafka } from "./kafka.ts";
export { waitFor } from "./wait.ts";
