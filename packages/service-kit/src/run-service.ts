import type { FastifyInstance } from "fastify";

/** Something to close on shutdown: a consumer, a producer, a database client. */
export type Closer = { name: string; close: () => Promise<unknown> };

export type RunServiceOptions = {
  app: Pick<FastifyInstance, "listen" | "close" | "log">;
  port: number;
  host: string;
  /** Closed in this order after the HTTP server: consumers, then producers, then the database. */
  closers: Closer[];
  /** Time limit of the whole shutdown; when exceeded the process exits with 1. Default 10 s. */
  timeoutMs?: number;
  /** How to end the process; default `process.exit` (tests pass their own). */
  exit?: (code: number) => void;
};

export type RunningService = { url: string; shutdown: (reason: string) => Promise<void> };

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * Listens, then on SIGINT/SIGTERM (or an uncaught error) stops accepting requests, waits for those in
 * flight, closes each closer in order within the time limit, and exits. A second signal exits at once.
 */
export async function runService(opts: RunServiceOptions): Promise<RunningService> {
  const { app, closers, timeoutMs = 10_000 } = opts;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const url = await app.listen({ port: opts.port, host: opts.host });
  app.log.info({ url, docs: `${url}/docs` }, "service started");

  let stopping: Promise<void> | undefined;

  const shutdown = (reason: string, exitCode = 0): Promise<void> => {
    stopping ??= (async () => {
      app.log.info({ reason }, "shutting down");
      const timer = setTimeout(() => {
        app.log.error({ timeoutMs }, "shutdown timed out, exiting");
        exit(1);
      }, timeoutMs);
      let code = exitCode;
      const steps: Closer[] = [{ name: "http server", close: () => app.close() }, ...closers];
      for (const step of steps) {
        try {
          await step.close();
          app.log.info({ closed: step.name }, "closed");
        } catch (err) {
          code = 1;
          app.log.error({ err, closer: step.name }, "close failed");
        }
      }
      clearTimeout(timer);
      removeListeners();
      app.log.info({ exitCode: code }, "stopped");
      exit(code);
    })();
    return stopping;
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      app.log.warn({ signal }, "second signal, exiting now");
      exit(1);
      return;
    }
    void shutdown(signal);
  };
  const onFatal = (err: unknown) => {
    app.log.fatal({ err }, "uncaught error");
    void shutdown("uncaught error", 1);
  };
  const removeListeners = () => {
    for (const signal of SIGNALS) process.off(signal, onSignal);
    process.off("uncaughtException", onFatal);
    process.off("unhandledRejection", onFatal);
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  process.on("uncaughtException", onFatal);
  process.on("unhandledRejection", onFatal);

  return { url, shutdown: (reason) => shutdown(reason) };
}
