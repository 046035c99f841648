import { type Der, topics } from "@energy/contracts";
import { defineSubscription, type Tx } from "../context.ts";

const upsertDer = (tx: Tx, d: Der) => {
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

/** DERs: what a reading's derId may be, and of which type. */
export const registryDers = defineSubscription(topics.registryDer, {
  "der.created": (der, { tx }) => upsertDer(tx, der),
  "der.updated": (der, { tx }) => upsertDer(tx, der),
  "der.deleted": ({ derId }, { tx }) => tx.der.deleteMany({ where: { id: derId } }),
});
