import { fileURLToPath } from "node:url";
import {
  type CountedRead,
  type IssuanceRequest,
  type IssuanceWindowsRequested,
  issuanceRequestsOf,
  topics,
} from "@energy/contracts";
import { startTestService } from "@energy/service-kit/testing";
import type { NewReservation } from "../src/commands.ts";
import type { Db } from "../src/db.ts";
import { issuanceOptions, runIssuance } from "../src/issuance.ts";
import { reservation } from "../src/service.ts";

export const serviceDir = fileURLToPath(new URL("..", import.meta.url));

/**
 * The reservation service as server.ts starts it (the same declaration and runtime), on a fresh database
 * and topic prefix of the real PostgreSQL and Kafka, without listening (drive it with app.inject). The
 * topics it owns and consumes exist (tests publish as meter-read, the registry and certificate do); its
 * consumer groups run only when a test asks for them, and its issuance job never: tests run passes with
 * `issue()`. Windows close at their end (WINDOW_CLOSE_DELAY_SECONDS 0) unless `env` says otherwise.
 */
export async function startReservation(env: Record<string, string> = {}, opts: { consumers?: boolean } = {}) {
  const service = await startTestService(reservation, {
    env: { WINDOW_CLOSE_DELAY_SECONDS: "0", ...env },
    consumers: opts.consumers ?? false,
    jobs: false,
  });
  const issuance = issuanceOptions(service.ctx);
  return {
    ...service,
    kafka: service.ctx.kafka,
    producer: service.ctx.producer,
    auth: (sub: string) => service.auth(sub),
    /** One issuance pass, as the service's job runs it. */
    issue: (now = new Date()) => runIssuance(issuance, now),
  };
}
export type Service = Awaited<ReturnType<typeof startReservation>>;

/** An organization with members, written as the registry projection would. */
export async function seedOrg(
  db: Db,
  orgId: string,
  kind: "buyer" | "developer",
  members: Record<string, "owner" | "admin" | "operator" | "viewer"> = {},
) {
  await db.organization.create({ data: { id: orgId, name: `Org ${orgId}`, kind } });
  for (const [identityId, role] of Object.entries(members)) {
    await db.membership.create({ data: { orgId, identityId, role } });
  }
}

/** Devices of a developer organization, written as the registry projection would. */
export async function seedDevices(
  db: Db,
  orgId: string,
  ids: string[],
  fields: { countryCode?: string; fuelCode?: string; capacityW?: number } = {},
) {
  await db.device.createMany({
    data: ids.map((id) => ({
      id,
      orgId,
      siteId: `sit-${orgId}`,
      name: id,
      type: "inverter",
      state: "active",
      countryCode: fields.countryCode ?? "IND",
      fuelCode: fields.fuelCode ?? "ES100",
      capacityW: fields.capacityW ?? 5_000,
    })),
  });
}

export const HOUR = 3_600_000;

/** The start of the current UTC hour minus `hours`. */
export const hoursAgo = (hours: number) => new Date(Math.floor(Date.now() / HOUR) * HOUR - hours * HOUR);

/** A counted read as meter-read publishes it (whole Wh over [start, end)). */
export function countedRead(
  readId: string,
  start: Date,
  end: Date,
  energyWh: number,
  version = 1,
): CountedRead {
  return {
    readId,
    version,
    readType: "history",
    source: "api",
    start: start.toISOString(),
    end: end.toISOString(),
    energyWh,
    valueWh: energyWh,
    eligible: true,
    flags: [],
    contentHash: Buffer.from(`${readId}:${version}`).toString("hex").padEnd(64, "0").slice(0, 64),
    recordedAt: new Date().toISOString(),
  };
}

/** A reservation as the command takes it (hourly, UTC, no target, authority to exceed), with overrides. */
export function newReservation(
  deviceIds: string[],
  start: Date,
  end: Date,
  overrides: Partial<NewReservation> = {},
): NewReservation {
  return {
    buyerOrgId: "org-buyer",
    createdBy: "usr-buyer",
    name: "batch",
    deviceIds,
    targetVolumeWh: null,
    start,
    end,
    frequency: "hourly",
    timezone: "UTC",
    authorityToExceed: true,
    buyerAddress: "0x410CB6672F7ebE397F866fC2CE1020cB18Ac6C5F",
    continueIfUnavailable: false,
    continueIfTargetBelow: true,
    ...overrides,
  };
}

/** A reservation body for the API (the seed's input), with overrides. */
export function reservationBody(deviceIds: string[], overrides: Record<string, unknown> = {}) {
  return {
    name: "Netflix 2026",
    deviceIds,
    targetVolumeInMegaWattHour: 100,
    reservationStartDate: hoursAgo(3).toISOString(),
    reservationEndDate: new Date(Date.now() + 30 * 24 * HOUR).toISOString(),
    frequency: "hourly",
    authorityToExceed: true,
    blockchainAddress: "0x410CB6672F7ebE397F866fC2CE1020cB18Ac6C5F",
    continueWithReservationIfOneOrMoreDevicesUnavailableForReservation: false,
    continueWithReservationIfTargetCapacityIsLessThanDeviceTotalCapacityBetweenDuration: true,
    ...overrides,
  };
}

/**
 * The issuance requests in messages of reservation.issuance-request.v1, in order: each window of an
 * `issuance.windows-requested` record as its own request (`issuanceRequestsOf`), an `issuance.requested` as it is.
 */
export function requestsIn(
  messages: { value: string | null; headers: Record<string, string> }[],
): IssuanceRequest[] {
  return messages.flatMap((m) => {
    const type = JSON.parse(m.headers.envelope!).type as string;
    const payload = JSON.parse(m.value!);
    return type === "issuance.windows-requested"
      ? issuanceRequestsOf(payload as IssuanceWindowsRequested)
      : [payload as IssuanceRequest];
  });
}

/** How many issuance-request records the service has written (the relay sent them all when its outbox is empty). */
export const issuanceRecords = (db: Db) =>
  db.outboxMessage.count({ where: { topic: topics.reservationIssuanceRequest.name } });
