export type { FastifyPluginAsyncZod, ZodTypeProvider } from "fastify-type-provider-zod";
export {
  type AccessTokenClaims,
  AccessTokenClaimsSchema,
  type Identity,
  type VerifyOptions,
  verifyAccessToken,
} from "./access-token.ts";
export { type AuthOptions, authPlugin } from "./auth-plugin.ts";
export { type BaseConfig, BaseConfigSchema, ConfigError, type ConfigProblem, loadConfig } from "./config.ts";
export { type App, type CreateAppOptions, createApp } from "./create-app.ts";
export {
  codeOfStatus,
  ERROR_CODES,
  type ErrorCode,
  type ErrorCodeEntry,
  type ErrorCodeOfStatus,
  type ErrorStatus,
  GENERIC_ERROR_CODES,
  type RouteErrorCatalog,
  type RouteErrorCodeEntry,
  routeErrorCodes,
  SERVICE_ERROR_CODES,
} from "./error-codes.ts";
export { installErrorHandling } from "./error-handler.ts";
export {
  AppError,
  badRequest,
  conflict,
  type ErrorResponse,
  ErrorResponseSchema,
  forbidden,
  isAppError,
  notFound,
  unauthorized,
} from "./errors.ts";
export type { ReadinessChecks } from "./health.ts";
export { type LoggerOverride, REDACT_PATHS } from "./logger.ts";
export { type MembershipTable, membershipProjection } from "./membership-projection.ts";
export {
  createOrgGuard,
  type LookupRole,
  type RequireOrgRole,
} from "./org-guard.ts";
export {
  type IsRevoked,
  type RevocationCache,
  type RevocationCacheOptions,
  revocationCache,
} from "./revocation.ts";
export { type Closer, type RunningService, type RunServiceOptions, runService } from "./run-service.ts";
export {
  type AnyRunner,
  type BaseContext,
  type ConsumerGroup,
  consumedTopics,
  defineService,
  type Job,
  type RuntimeConfig,
  type RuntimeDb,
  runMain,
  type ServiceContext,
  type ServiceDefinition,
  type StartedService,
  type StartOptions,
  startService,
} from "./runtime.ts";
export {
  DEFAULT_JSON_MAX_DEPTH,
  type InputProblem,
  inspectInput,
  mayHoldUnsafeText,
  UnsafeInputError,
  unsafeTextReason,
} from "./safe-input.ts";
export { Wakeup } from "./wakeup.ts";
export { type ThreadOptions, WorkerConsumerRunner } from "./worker-runner.ts";
