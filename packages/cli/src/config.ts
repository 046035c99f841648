/**
 * Where the CLI keeps its session, and which URL each service answers at. The environment is read here
 * only.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { LOCAL_PORTS, type ServiceName } from "@energy/client";

/** $ENERGY_CONFIG_DIR, else $XDG_CONFIG_HOME/energy, else ~/.config/energy. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ENERGY_CONFIG_DIR) return env.ENERGY_CONFIG_DIR;
  return join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "energy");
}

// The platform's services and the ports tools/dev.ts runs them on: one list, in @energy/client.
export { isServiceName, LOCAL_PORTS, SERVICE_NAMES, type ServiceName } from "@energy/client";

/** ENERGY_METER_READ_URL for meter-read, and so on. */
export const urlVariable = (service: ServiceName) =>
  `ENERGY_${service.toUpperCase().replaceAll("-", "_")}_URL`;

/**
 * The base URL of a service: its ENERGY_<SERVICE>_URL variable, else (for the registry) the one the
 * session logged in to, else its local port on 127.0.0.1.
 */
export function serviceUrl(
  service: ServiceName,
  opts: { sessionRegistryUrl?: string; env?: NodeJS.ProcessEnv } = {},
): string {
  const env = opts.env ?? process.env;
  const fromEnv = env[urlVariable(service)];
  if (fromEnv) return fromEnv;
  if (service === "registry" && opts.sessionRegistryUrl) return opts.sessionRegistryUrl;
  return `http://127.0.0.1:${LOCAL_PORTS[service]}`;
}

/** Kafka brokers and topic prefix for `tail`: flags, else KAFKA_BROKERS / KAFKA_TOPIC_PREFIX, else local. */
export function kafkaSettings(
  flags: { brokers?: string | undefined; prefix?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
) {
  return {
    brokers: flags.brokers ?? env.KAFKA_BROKERS ?? "127.0.0.1:9092",
    prefix: flags.prefix ?? env.KAFKA_TOPIC_PREFIX ?? "",
  };
}
