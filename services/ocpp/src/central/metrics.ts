import { type EventLoopUtilization, performance, type RecordableHistogram } from "node:perf_hooks";
import { Gauge, type Registry } from "prom-client";
import type { CentralSystem } from "./central-system.ts";

const QUANTILES = [0.5, 0.99] as const;

/** p50, p99 and max of a histogram (then reset: each scrape says what happened since the last one). */
function quantiles(h: RecordableHistogram, scale: number): Array<[string, number]> {
  const out: Array<[string, number]> =
    h.count === 0
      ? []
      : [
          ...QUANTILES.map((q): [string, number] => [String(q), h.percentile(q * 100) * scale]),
          ["max", h.max * scale],
        ];
  h.reset();
  return out;
}

/**
 * Where a call's time goes inside the service, on /metrics (reset at each scrape, as prom-client's event
 * loop delay is): the call from ocpp-rpc's hand-over to its answer (`ocpp_call_ms`, by path: batched or
 * alone, i.e. its own transaction; `frame`: from the call's frame reaching the service, before ocpp-rpc parsed it, to its answer
 * handed to the socket), and for each group commit (calls, connections, disconnections) the
 * time items waited for their batch, the time batches took to write, and batch sizes; and how many
 * batches with MeterValues were written in one statement or two (`ocpp_batch_statements`).
 */
export function registerCentralMetrics(registry: Registry, central: CentralSystem): void {
  let elu: EventLoopUtilization = performance.eventLoopUtilization();
  new Gauge({
    name: "ocpp_event_loop_utilization",
    help: "share of the time the main thread was busy (not waiting in the event loop) since the last scrape",
    registers: [registry],
    collect() {
      const now = performance.eventLoopUtilization();
      this.set(performance.eventLoopUtilization(now, elu).utilization);
      elu = now;
    },
  });
  new Gauge({
    name: "ocpp_call_ms",
    help: "calls inside the service since the last scrape, ms: p50, p99, max by path (batched, alone)",
    labelNames: ["path", "quantile"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [path, h] of Object.entries(central.callTiming)) {
        for (const [quantile, v] of quantiles(h, 1 / 1000)) this.set({ path, quantile }, v);
      }
    },
  });
  const perCommit = (
    name: string,
    help: string,
    pick: (t: ReturnType<CentralSystem["groupCommitTiming"]>["calls"]) => RecordableHistogram,
    scale: number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ["commit", "quantile"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [commit, t] of Object.entries(central.groupCommitTiming())) {
          for (const [quantile, v] of quantiles(pick(t), scale)) this.set({ commit, quantile }, v);
        }
      },
    });
  perCommit(
    "ocpp_group_commit_wait_ms",
    "time items waited for their batch since the last scrape, ms",
    (t) => t.waitUs,
    1 / 1000,
  );
  perCommit(
    "ocpp_group_commit_write_ms",
    "time batches took to write since the last scrape, ms",
    (t) => t.runUs,
    1 / 1000,
  );
  perCommit("ocpp_group_commit_batch_size", "items per batch since the last scrape", (t) => t.size, 1);
  let seen = { one: 0, two: 0 };
  new Gauge({
    name: "ocpp_batch_statements",
    help: "batches of calls with MeterValues since the last scrape, by statements: one (the remembered contexts held) or two (a read, then the write)",
    labelNames: ["statements"] as const,
    registers: [registry],
    collect() {
      const now = central.groupCommits().calls.statements;
      this.set({ statements: "one" }, now.one - seen.one);
      this.set({ statements: "two" }, now.two - seen.two);
      seen = now;
    },
  });
}
