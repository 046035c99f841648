import { topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import type { Db } from "./db.ts";
import { newId, ROOT_IDENTITY_ID } from "./domain/ids.ts";

/**
 * Creates the root identity from ROOT_PUBLIC_KEY (already normalized by the config) unless it exists.
 * Idempotent and safe to run from several instances at once; returns whether it created it.
 * A later change of ROOT_PUBLIC_KEY does not replace the root's key (root adds keys through the API).
 */
export async function ensureRootIdentity(db: Db, publicKey: string): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const { count } = await tx.identity.createMany({
      data: [{ id: ROOT_IDENTITY_ID, type: "root", name: "root" }],
      skipDuplicates: true,
    });
    if (count === 0) return false;
    const keyId = newId("key");
    await tx.identityKey.create({
      data: { keyId, identityId: ROOT_IDENTITY_ID, algorithm: "Ed25519", publicKey },
    });
    await enqueueEvent(
      tx,
      topics.registryIdentity,
      "identity.registered",
      {
        identityId: ROOT_IDENTITY_ID,
        identityType: "root",
        name: "root",
        keyId,
        algorithm: "Ed25519",
        publicKey,
      },
      { key: ROOT_IDENTITY_ID },
    );
    return true;
  });
}
