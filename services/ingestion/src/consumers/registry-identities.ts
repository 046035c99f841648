import { type EventPayload, topics } from "@energy/contracts";
import { defineSubscription, type Tx } from "../context.ts";

type Key = EventPayload<typeof topics.registryIdentity, "identity.key_added"> & { identityType?: string };

/** Keys of every identity are kept (gateways sign raw Kafka batches with theirs). */
async function addKey(tx: Tx, key: Key) {
  const known =
    key.identityType ??
    (await tx.identityKey.findFirst({ where: { identityId: key.identityId } }))?.identityType;
  const data = {
    identityId: key.identityId,
    identityType: known ?? "unknown",
    algorithm: key.algorithm,
    publicKey: key.publicKey,
  };
  await tx.identityKey.upsert({
    where: { keyId: key.keyId },
    create: { keyId: key.keyId, ...data },
    update: data,
  });
}

/**
 * Identities' public keys (raw batch signatures are checked against them) and revocations (a revoked
 * identity's unexpired access tokens are refused).
 */
export const registryIdentities = defineSubscription(topics.registryIdentity, {
  "identity.registered": (identity, { tx }) => addKey(tx, identity),
  "identity.key_added": (key, { tx }) => addKey(tx, key),
  "identity.key_revoked": ({ keyId }, { tx }) =>
    tx.identityKey.updateMany({ where: { keyId }, data: { revokedAt: new Date() } }),
  "identity.revoked": async ({ identityId }, { tx, envelope }) => {
    await tx.identityKey.updateMany({
      where: { identityId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    // the auth check refuses its unexpired tokens from this row on (app.ts: revocationCache)
    await tx.revokedIdentity.upsert({
      where: { identityId },
      create: { identityId, revokedAt: new Date(envelope.occurredAt) },
      update: {},
    });
  },
});
