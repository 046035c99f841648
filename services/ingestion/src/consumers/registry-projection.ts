import {
  ConsumerRunner,
  type ConsumerRunnerOptions,
  type EventHandler,
  type EventProducer,
  type HandlerContext,
  type Logger,
} from "@energy/kafka";
import type { Db } from "../db.ts";
import type { Prisma } from "../generated/prisma/client.ts";

export const PROJECTION_GROUP_ID = "ingestion.registry-projection";

type Tx = Prisma.TransactionClient;
const txOf = (ctx: HandlerContext): Tx => {
  if (!ctx.tx) throw new Error("the registry projection needs a database transaction");
  return ctx.tx as unknown as Tx;
};

/** A handler that gets the runner's transaction (which also records the envelope id: applied once). */
const inTx =
  <P>(apply: (tx: Tx, payload: P) => Promise<unknown>): EventHandler<P> =>
  async (payload, ctx) => {
    await apply(txOf(ctx), payload);
  };

interface DeviceSnapshot {
  deviceId: string;
  orgId: string;
  siteId: string;
  type: string;
  name: string;
  state: string;
  commIdentityId: string | null;
}
interface DerSnapshot {
  derId: string;
  deviceId: string;
  siteId: string;
  orgId: string;
  derType: string;
  name: string;
  ratedPowerW: number | null;
}
interface SiteSnapshot {
  siteId: string;
  orgId: string;
  name: string;
  timezone: string;
}
interface KeySnapshot {
  identityId: string;
  keyId: string;
  algorithm: string;
  publicKey: string;
  identityType?: string;
}

const upsertDevice = (tx: Tx, d: DeviceSnapshot) => {
  const data = {
    orgId: d.orgId,
    siteId: d.siteId,
    type: d.type,
    name: d.name,
    state: d.state,
    commIdentityId: d.commIdentityId,
  };
  return tx.device.upsert({ where: { id: d.deviceId }, create: { id: d.deviceId, ...data }, update: data });
};

const upsertDer = (tx: Tx, d: DerSnapshot) => {
  const data = {
    deviceId: d.deviceId,
    siteId: d.siteId,
    orgId: d.orgId,
    derType: d.derType,
    name: d.name,
    ratedPowerW: d.ratedPowerW,
  };
  return tx.der.upsert({ where: { id: d.derId }, create: { id: d.derId, ...data }, update: data });
};

const upsertSite = (tx: Tx, s: SiteSnapshot) => {
  const data = { orgId: s.orgId, name: s.name, timezone: s.timezone };
  return tx.site.upsert({ where: { id: s.siteId }, create: { id: s.siteId, ...data }, update: data });
};

/** Keys of every identity are kept (gateways sign raw Kafka batches with theirs). */
async function addKey(tx: Tx, k: KeySnapshot) {
  const known =
    k.identityType ?? (await tx.identityKey.findFirst({ where: { identityId: k.identityId } }))?.identityType;
  const data = {
    identityId: k.identityId,
    identityType: known ?? "unknown",
    algorithm: k.algorithm,
    publicKey: k.publicKey,
  };
  await tx.identityKey.upsert({
    where: { keyId: k.keyId },
    create: { keyId: k.keyId, ...data },
    update: data,
  });
}

/**
 * Keeps ingestion's copy of what it needs from the registry: machine keys (raw batch signatures),
 * revoked identities (whose unexpired access tokens are refused), memberships (who may read an
 * organization's data), sites (time zones), devices (which gateway serves them, whether orphaned)
 * and DERs. Snapshots are upserted, so replaying from the start
 * rebuilds the same tables.
 */
export function registryProjection(opts: {
  kafka: ConsumerRunnerOptions["kafka"];
  producer: EventProducer;
  db: Db;
  topicPrefix?: string;
  logger?: Logger;
  groupId?: string;
}): ConsumerRunner {
  return new ConsumerRunner({
    kafka: opts.kafka,
    producer: opts.producer,
    db: opts.db,
    groupId: opts.groupId ?? PROJECTION_GROUP_ID,
    topicPrefix: opts.topicPrefix,
    ...(opts.logger ? { logger: opts.logger } : {}),
    subscriptions: [
      {
        topic: "registry.identity.v1",
        handlers: {
          "identity.registered": inTx(addKey),
          "identity.key_added": inTx(addKey),
          "identity.key_revoked": inTx((tx, p: { keyId: string }) =>
            tx.identityKey.updateMany({ where: { keyId: p.keyId }, data: { revokedAt: new Date() } }),
          ),
          "identity.revoked": async (p: { identityId: string }, ctx) => {
            const tx = txOf(ctx);
            await tx.identityKey.updateMany({
              where: { identityId: p.identityId, revokedAt: null },
              data: { revokedAt: new Date() },
            });
            // the auth check refuses its unexpired tokens from this row on (app.ts: revocationCache)
            const revokedAt = new Date(ctx.envelope.occurredAt);
            await tx.revokedIdentity.upsert({
              where: { identityId: p.identityId },
              create: { identityId: p.identityId, revokedAt },
              update: {},
            });
          },
        },
      },
      {
        topic: "registry.membership.v1",
        handlers: {
          "membership.added": inTx((tx, p: { orgId: string; identityId: string; role: string }) =>
            tx.membership.upsert({
              where: { orgId_identityId: { orgId: p.orgId, identityId: p.identityId } },
              create: p,
              update: { role: p.role },
            }),
          ),
          "membership.role_changed": inTx((tx, p: { orgId: string; identityId: string; to: string }) =>
            tx.membership.updateMany({
              where: { orgId: p.orgId, identityId: p.identityId },
              data: { role: p.to },
            }),
          ),
          "membership.removed": inTx((tx, p: { orgId: string; identityId: string }) =>
            tx.membership.deleteMany({ where: { orgId: p.orgId, identityId: p.identityId } }),
          ),
        },
      },
      {
        topic: "registry.organization.v1",
        handlers: {
          // The creator is the owner; registry.membership.v1 carries later members.
          "organization.created": inTx((tx, p: { orgId: string; ownerIdentityId: string }) =>
            tx.membership.upsert({
              where: { orgId_identityId: { orgId: p.orgId, identityId: p.ownerIdentityId } },
              create: { orgId: p.orgId, identityId: p.ownerIdentityId, role: "owner" },
              update: {},
            }),
          ),
        },
      },
      {
        topic: "registry.site.v1",
        handlers: {
          "site.created": inTx(upsertSite),
          "site.updated": inTx(upsertSite),
          "site.deleted": inTx((tx, p: { siteId: string }) =>
            tx.site.deleteMany({ where: { id: p.siteId } }),
          ),
        },
      },
      {
        topic: "registry.device.v1",
        handlers: {
          "device.registered": inTx(upsertDevice),
          "device.updated": inTx(upsertDevice),
          "device.state_changed": inTx((tx, p: { deviceId: string; to: string }) =>
            tx.device.updateMany({ where: { id: p.deviceId }, data: { state: p.to } }),
          ),
          "device.deleted": inTx(async (tx, p: { deviceId: string }) => {
            await tx.der.deleteMany({ where: { deviceId: p.deviceId } });
            await tx.device.deleteMany({ where: { id: p.deviceId } });
          }),
        },
      },
      {
        topic: "registry.der.v1",
        handlers: {
          "der.created": inTx(upsertDer),
          "der.updated": inTx(upsertDer),
          "der.deleted": inTx((tx, p: { derId: string }) => tx.der.deleteMany({ where: { id: p.derId } })),
        },
      },
    ],
  });
}
