/**
 * The platform's services and the local ports they run on: tools/dev.ts starts each on its port, the
 * `energy` CLI calls them there unless told another URL (docker-compose.yml publishes the same ports).
 * The one list of them; add a service here.
 */
export const LOCAL_PORTS = {
  registry: 4001,
  ingestion: 4002,
  ocpp: 4003,
  "meter-read": 4004,
  reservation: 4005,
  certificate: 4006,
} as const;

export type ServiceName = keyof typeof LOCAL_PORTS;
export const SERVICE_NAMES = Object.keys(LOCAL_PORTS) as ServiceName[];

export const isServiceName = (name: string): name is ServiceName => Object.hasOwn(LOCAL_PORTS, name);
