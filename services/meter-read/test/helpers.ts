import { startTestService } from "@energy/service-kit/testing";
import { meterRead } from "../src/service.ts";

/**
 * meter-read as server.ts starts it (the same declaration and runtime), on a fresh database and topic
 * prefix of the real PostgreSQL and Kafka, without listening (drive it with app.inject). The topics it owns
 * and consumes exist (tests publish as the registry and ingestion do); its consumer groups (registry
 * projection, telemetry intervals) run only when a test asks for them.
 */
export async function startMeterRead(opts: { consumers?: boolean; env?: Record<string, string> } = {}) {
  const service = await startTestService(meterRead, {
    ...(opts.env ? { env: opts.env } : {}),
    consumers: opts.consumers ?? false,
  });
  return {
    ...service,
    kafka: service.ctx.kafka,
    producer: service.ctx.producer,
    auth: (sub: string, typ = "user") => service.auth(sub, typ),
  };
}
export type MeterRead = Awaited<ReturnType<typeof startMeterRead>>;

/** A device as the projection writes it, with members by role. */
export async function seedDevice(
  db: MeterRead["db"],
  opts: {
    orgId: string;
    deviceId: string;
    siteId?: string;
    externalId?: string | null;
    capacityW?: number | null;
    commissioningDate?: string | null;
    onboardedAt?: Date;
    yieldValue?: number | null;
    timezone?: string;
    members?: Record<string, "owner" | "admin" | "operator" | "viewer">;
  },
) {
  const siteId = opts.siteId ?? `sit-${opts.orgId}`;
  await db.site.upsert({
    where: { id: siteId },
    create: { id: siteId, orgId: opts.orgId, timezone: opts.timezone ?? "Europe/Stockholm" },
    update: {},
  });
  const capacityW = opts.capacityW === undefined ? 10_000 : opts.capacityW;
  await db.device.create({
    data: {
      id: opts.deviceId,
      orgId: opts.orgId,
      siteId,
      externalId: opts.externalId ?? null,
      capacityW,
      commissioningDate: opts.commissioningDate === undefined ? "2020-01-01" : opts.commissioningDate,
      onboardedAt: opts.onboardedAt ?? new Date("2020-01-01T00:00:00Z"),
      yieldValue: opts.yieldValue ?? null,
      state: "active",
    },
  });
  if (capacityW !== null) {
    await db.deviceCapacity.create({
      data: { deviceId: opts.deviceId, fromAt: new Date("2020-01-01T00:00:00Z"), capacityW },
    });
  }
  for (const [identityId, role] of Object.entries(opts.members ?? {})) {
    await db.membership.upsert({
      where: { orgId_identityId: { orgId: opts.orgId, identityId } },
      create: { orgId: opts.orgId, identityId, role },
      update: { role },
    });
  }
}

/** Hourly history reads from `startIso`, `count` of them, each `wh` Wh. */
export function hourly(startIso: string, count: number, wh: (i: number) => number) {
  const t0 = Date.parse(startIso);
  return Array.from({ length: count }, (_, i) => ({
    starttimestamp: new Date(t0 + i * 3_600_000).toISOString(),
    endtimestamp: new Date(t0 + (i + 1) * 3_600_000).toISOString(),
    value: wh(i),
  }));
}
