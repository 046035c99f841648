import { Counter, Gauge, type Registry } from "prom-client";

/** One runner as its metrics see it: its group, its counters, and its lag by "topic:partition". */
export interface RunnerMetricsSource<F extends string> {
  group: string;
  counters(): Readonly<Record<F, number>>;
  lag(): Readonly<Record<string, number>>;
}

/** A family of runner metrics: counters fed from the source's fields, and one lag gauge. */
export interface RunnerMetricsFamily<F extends string> {
  counters: ReadonlyArray<{ name: string; help: string; field: F }>;
  lag: { name: string; help: string };
}

// The metrics are created once per registry and family; every runner registered on that registry adds
// its own series (by group), so several runners, of either kind, can share a service's registry.
const sourcesByRegistry = new WeakMap<Registry, Map<object, Set<RunnerMetricsSource<string>>>>();

/** Exposes a runner's counters and lag on a registry, creating the family's metrics on first use. */
export function registerRunnerMetrics<F extends string>(
  registry: Registry,
  family: RunnerMetricsFamily<F>,
  source: RunnerMetricsSource<F>,
): void {
  let families = sourcesByRegistry.get(registry);
  if (!families) {
    families = new Map();
    sourcesByRegistry.set(registry, families);
  }
  const known = families.get(family) as Set<RunnerMetricsSource<F>> | undefined;
  if (known) {
    known.add(source);
    return;
  }
  const sources = new Set([source]);
  families.set(family, sources as unknown as Set<RunnerMetricsSource<string>>);
  for (const { name, help, field } of family.counters) {
    new Counter({
      name,
      help,
      labelNames: ["group"],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of sources) this.inc({ group: s.group }, s.counters()[field]);
      },
    });
  }
  new Gauge({
    name: family.lag.name,
    help: family.lag.help,
    labelNames: ["group", "topic", "partition"],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of sources) {
        for (const [key, lag] of Object.entries(s.lag())) {
          const i = key.lastIndexOf(":");
          this.set({ group: s.group, topic: key.slice(0, i), partition: key.slice(i + 1) }, lag);
        }
      }
    },
  });
}
