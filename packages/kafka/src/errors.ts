import { ZodError } from "zod";

/**
 * A message that can never be applied (invalid, breaks a rule): it goes to the DLQ at once.
 * Throw it from a handler to say "retrying will not help".
 */
export class FatalMessageError extends Error {
  override readonly name = "FatalMessageError";
}

/** A message refused at produce time: the payload does not match its topic's contract. */
export class InvalidMessageError extends Error {
  override readonly name = "InvalidMessageError";
  constructor(
    message: string,
    readonly issues: Array<{ path: string; message: string }> = [],
  ) {
    super(message);
  }
}

export type ErrorClass = "fatal" | "transient" | "unknown";

// PostgreSQL SQLSTATEs worth waiting out: serialization failure, deadlock, too many connections,
// admin shutdown, cannot connect now; and Prisma's connection/timeout/transaction-conflict codes.
const TRANSIENT_CODES = new Set([
  "40001",
  "40P01",
  "53300",
  "57P01",
  "57P03",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "P1001",
  "P1002",
  "P1008",
  "P1017",
  "P2024",
  "P2028",
  "P2034",
]);

/**
 * Sorts a failure: fatal (to the DLQ now), transient (infrastructure: retry until it works) or
 * unknown (retry a few times, then DLQ).
 */
/**
 * The PostgreSQL SQLSTATE of a database error: on the driver's error (`code`), or inside Prisma's error
 * through the pg driver adapter (`meta.driverAdapterError.cause.originalCode`), or on an error it wraps.
 */
function sqlStateOf(error: unknown, depth = 0): string | null {
  if (typeof error !== "object" || error === null || depth > 4) return null;
  const e = error as {
    code?: unknown;
    originalCode?: unknown;
    meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; code?: unknown } } };
    cause?: unknown;
  };
  const adapter = e.meta?.driverAdapterError?.cause;
  for (const code of [adapter?.originalCode, adapter?.code, e.originalCode, e.code]) {
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith("P")) return code;
  }
  return sqlStateOf(e.cause, depth + 1);
}

export function classifyError(error: unknown): ErrorClass {
  if (error instanceof FatalMessageError || error instanceof InvalidMessageError) return "fatal";
  // An event too large to publish (checked by name: importing message-size.ts here would be a cycle).
  if ((error as { name?: unknown } | null)?.name === "MessageTooLargeError") return "fatal";
  if (error instanceof ZodError || error instanceof SyntaxError) return "fatal";
  const e = error as { code?: unknown; retriable?: unknown; cause?: unknown; name?: unknown } | null;
  const sqlState = sqlStateOf(error);
  // a data exception (class 22: a NUL or bytes that are not UTF-8 in text, a number out of range, text that
  // is not a number): the message's own data can never be stored, however often it is tried
  if (sqlState?.startsWith("22")) return "fatal";
  if (sqlState && TRANSIENT_CODES.has(sqlState)) return "transient";
  if (e && typeof e === "object") {
    if (typeof e.code === "string" && TRANSIENT_CODES.has(e.code)) return "transient";
    if (e.retriable === true) return "transient";
    if (e.name === "PrismaClientInitializationError") return "transient";
    if (e.cause) return classifyError(e.cause) === "transient" ? "transient" : "unknown";
  }
  return "unknown";
}

/** "a.b: message; c: message" from a zod error. */
export function describeZodError(error: ZodError, prefix = ""): Array<{ path: string; message: string }> {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join(".") || "(root)",
    message: issue.message,
  }));
}
