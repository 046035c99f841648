/**
 * What packages/kafka needs of a service's Prisma client: raw SQL and interactive transactions.
 * Any generated PrismaClient satisfies it; the outbox and processed-message tables are the models
 * documented in packages/kafka/README.md, added to each service's schema.prisma.
 */
export interface SqlClient {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
}

/** A client with interactive transactions whose transaction client is `Tx` (a service's Prisma.TransactionClient). */
export interface TransactionalDb<Tx = SqlClient> extends SqlClient {
  $transaction<R>(fn: (tx: Tx) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
}

/** Minimal logger shape (pino's). */
export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
