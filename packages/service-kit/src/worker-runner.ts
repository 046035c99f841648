import { Worker } from "node:worker_threads";
import { type BatchConsumerStats, registerBatchConsumerMetrics } from "@energy/kafka";
import type { FastifyBaseLogger } from "fastify";
import type { Registry } from "prom-client";

/** Where a consumer group's worker thread finds the group: the module declaring the service, and its export. */
export interface ThreadOptions {
  /** the URL of the module that declares the service (`import.meta.url` in its service.ts) */
  module: string;
  /** the name the service's declaration is exported under there */
  export: string;
  /**
   * the worker thread's scheduling priority, a nice value from 0 to 19 (default 0): above 0 its work
   * yields the CPU to the service's own thread (its routes) whenever the two compete (Linux: the nice
   * value is per thread; elsewhere it is left as it is)
   */
  nice?: number;
}

/** What the worker thread is given (src/worker-main.ts reads it). */
export interface WorkerData {
  module: string;
  exportName: string;
  group: string;
  config: unknown;
  nice: number;
}

/** The messages between the two threads. */
export type FromWorker =
  | { t: "started" }
  | { t: "metric-names"; metrics: MetricMeta[] }
  | { t: "start-failed"; error: string }
  | { t: "stats"; stats: BatchConsumerStats }
  | { t: "metrics"; id: number; values: MetricValue[] }
  | { t: "published" }
  | { t: "stopped" };
export type ToWorker = { t: "stop" } | { t: "metrics"; id: number };

export interface MetricMeta {
  name: string;
  help: string;
  type: string;
  aggregator: string;
}
/** One metric as prom-client's `get()` returns it (structured-cloned over the thread boundary). */
export type MetricValue = MetricMeta & { values: unknown[] };

export interface WorkerConsumerRunnerOptions {
  thread: ThreadOptions;
  /** the group's name in the declaration */
  group: string;
  /** its full group id (with prefix), for the metrics' `group` label */
  groupId: string;
  /** the service's parsed configuration (plain data: cloned into the worker) */
  config: unknown;
  logger: FastifyBaseLogger;
  /** the worker committed a transaction that recorded outbox events: wake the relay */
  onPublished: () => void;
  /** how long stop() waits for the worker to drain before it is terminated (default 8 s: within runService's 10 s) */
  stopTimeoutMs?: number;
}

/** Node's flags without those that load modules (`--import x`, `--require=x`, `--loader x`, …). */
function withoutLoaders(argv: readonly string[]): string[] {
  const loading = /^--(import|require|loader|experimental-loader)$|^-r$/;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (loading.test(arg)) i++;
    else if (!/^--(import|require|loader|experimental-loader)=/.test(arg)) out.push(arg);
  }
  return out;
}

const EMPTY_STATS: BatchConsumerStats = {
  processed: 0,
  deadLettered: 0,
  retries: 0,
  errors: 0,
  batches: 0,
  lag: {},
};

/**
 * A batch consumer group run in a worker thread of the service (src/worker-main.ts), with the same face as
 * a BatchConsumerRunner (start, stop, stats, registerMetrics): its handlers' database work and JSON never
 * hold up the event loop that answers requests. The worker has its own database pool, Kafka clients and
 * metrics registry; its counters, lag and metrics are reported to this thread (the service's `/metrics`
 * shows them), its outbox nudges wake the service's relay, and `ready()` is a readiness check (the worker
 * runs). stop() asks the worker to stop consuming and close (the chunk in hand is finished and committed);
 * a worker that ends by itself is logged and started again after a second.
 */
export class WorkerConsumerRunner {
  private worker: Worker | undefined;
  private latest: BatchConsumerStats = EMPTY_STATS;
  /** stats of workers that ended (a restarted worker counts from 0 again) */
  private carried: BatchConsumerStats = EMPTY_STATS;
  private running = false;
  private stopping = false;
  private exited: Promise<void> = Promise.resolve();
  private restartTimer: NodeJS.Timeout | undefined;
  private registry: Registry | undefined;
  private readonly proxied = new Map<string, MetricValue>();
  private nextId = 0;
  private readonly pending = new Map<number, (values: MetricValue[]) => void>();
  private scrape: Promise<void> | undefined;

  constructor(private readonly opts: WorkerConsumerRunnerOptions) {}

  stats(): BatchConsumerStats {
    const a = this.carried;
    const b = this.latest;
    return {
      processed: a.processed + b.processed,
      deadLettered: a.deadLettered + b.deadLettered,
      retries: a.retries + b.retries,
      errors: a.errors + b.errors,
      batches: a.batches + b.batches,
      lag: { ...b.lag },
    };
  }

  registerMetrics(registry: Registry): void {
    this.registry = registry;
    registerBatchConsumerMetrics(registry, this.opts.groupId, () => this.stats());
  }

  /** For /readyz: fails while the worker thread is not running (not started yet, ended, being restarted). */
  async ready(): Promise<void> {
    if (!this.running) throw new Error(`the ${this.opts.group} worker is not running`);
  }

  /** Starts the worker; resolves once its consumer has joined the group, rejects if it could not. */
  start(): Promise<void> {
    this.stopping = false;
    return new Promise<void>((resolve, reject) => {
      const data: WorkerData = {
        module: this.opts.thread.module,
        exportName: this.opts.thread.export,
        group: this.opts.group,
        config: this.opts.config,
        nice: this.opts.thread.nice ?? 0,
      };
      const worker = new Worker(new URL("./worker-entry.mjs", import.meta.url), {
        workerData: data,
        // the service's own flags (e.g. --cpu-prof: one profile per thread), without a loader: the entry
        // registers tsx itself, so the worker also loads TypeScript under vitest
        execArgv: withoutLoaders(process.execArgv),
      });
      this.worker = worker;
      let started = false;
      this.exited = new Promise<void>((done) => worker.once("exit", () => done()));
      worker.once("online", () => {
        this.running = true;
      });
      worker.on("message", (message: FromWorker) => {
        switch (message.t) {
          case "started":
            started = true;
            resolve();
            break;
          case "metric-names":
            this.proxyMetrics(message.metrics);
            break;
          case "start-failed":
            reject(new Error(`the ${this.opts.group} worker could not start: ${message.error}`));
            break;
          case "stats":
            this.latest = message.stats;
            break;
          case "metrics":
            this.pending.get(message.id)?.(message.values);
            this.pending.delete(message.id);
            break;
          case "published":
            this.opts.onPublished();
            break;
          case "stopped":
            break;
        }
      });
      worker.on("error", (err) => {
        this.opts.logger.error({ err }, `the ${this.opts.group} worker failed`);
        if (!started) reject(err);
      });
      worker.once("exit", (code) => {
        this.running = false;
        this.worker = undefined;
        this.carried = this.stats();
        this.latest = { ...EMPTY_STATS, lag: this.latest.lag };
        for (const answer of this.pending.values()) answer([]);
        this.pending.clear();
        if (!started) {
          reject(new Error(`the ${this.opts.group} worker ended during start-up (code ${code})`));
          return;
        }
        if (this.stopping) return;
        this.opts.logger.error({ code }, `the ${this.opts.group} worker ended; starting it again in 1 s`);
        this.restartTimer = setTimeout(() => this.restart(), 1_000);
      });
    });
  }

  private restart(): void {
    if (this.stopping) return;
    this.start().catch((err: unknown) => {
      this.opts.logger.error({ err }, `the ${this.opts.group} worker could not start again`);
      if (!this.stopping) this.restartTimer = setTimeout(() => this.restart(), 1_000);
    });
  }

  /** Stops consuming (the chunk in hand is applied and committed), closes the worker's clients, ends it. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (!worker) return;
    worker.postMessage({ t: "stop" } satisfies ToWorker);
    const timeout = new Promise<"timeout">((done) => {
      const timer = setTimeout(() => done("timeout"), this.opts.stopTimeoutMs ?? 8_000);
      timer.unref();
    });
    if ((await Promise.race([this.exited, timeout])) === "timeout") {
      this.opts.logger.error(`the ${this.opts.group} worker did not stop in time: terminated`);
      await worker.terminate();
    }
  }

  /** The worker's own metrics (its handlers' counters) on the service's registry, read from the worker per scrape. */
  private proxyMetrics(metrics: MetricMeta[]): void {
    const registry = this.registry;
    if (!registry) return;
    for (const meta of metrics) {
      if (registry.getSingleMetric(meta.name)) continue;
      this.proxied.set(meta.name, { ...meta, values: [] });
      registry.registerMetric({
        name: meta.name,
        help: meta.help,
        type: meta.type,
        aggregator: meta.aggregator,
        get: async () => {
          await this.refresh();
          return this.proxied.get(meta.name);
        },
        reset: () => {},
      } as unknown as Parameters<Registry["registerMetric"]>[0]);
    }
  }

  /** One request to the worker for all its metrics per scrape (at most 2 s; else the last values). */
  private refresh(): Promise<void> {
    this.scrape ??= (async () => {
      const worker = this.worker;
      if (!worker || !this.running) return;
      const id = this.nextId++;
      const values = await new Promise<MetricValue[]>((answer) => {
        this.pending.set(id, answer);
        worker.postMessage({ t: "metrics", id } satisfies ToWorker);
        setTimeout(() => {
          this.pending.delete(id);
          answer([]);
        }, 2_000).unref();
      });
      for (const value of values) if (this.proxied.has(value.name)) this.proxied.set(value.name, value);
    })().finally(() => {
      this.scrape = undefined;
    });
    return this.scrape;
  }
}
