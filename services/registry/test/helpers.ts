import { startTestService } from "@energy/service-kit/testing";
import { registry } from "../src/service.ts";

/**
 * The registry as server.ts starts it (the same declaration and runtime, the import worker running), on a
 * fresh database and topic prefix of the real PostgreSQL and Kafka, without listening. Its
 * consumers run only when a test asks for them; `jobs: false` leaves out its jobs (import worker, mail sender).
 */
export async function startRegistry(
  env: Record<string, string> = {},
  opts: { consumers?: boolean; jobs?: boolean } = {},
) {
  return startTestService(registry, { env, consumers: opts.consumers ?? false, jobs: opts.jobs ?? true });
}
