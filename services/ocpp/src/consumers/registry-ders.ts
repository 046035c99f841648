import { type Der, topics } from "@energy/contracts";
import { defineSubscription, type Tx } from "../context.ts";

/**
 * registry.der.v1 → port_der: the ev_charger_port DERs, which receive the connectors' readings
 * (src/domain/connector-der.ts says which connector goes to which). Other DER types are not kept.
 */
async function upsertDer(tx: Tx, d: Der) {
  if (d.derType !== "ev_charger_port") {
    await tx.portDer.deleteMany({ where: { id: d.derId } });
    return;
  }
  const data = { deviceId: d.deviceId, orgId: d.orgId, name: d.name, ratedPowerW: d.ratedPowerW };
  await tx.portDer.upsert({ where: { id: d.derId }, create: { id: d.derId, ...data }, update: data });
}

export const registryDers = defineSubscription(topics.registryDer, {
  "der.created": (der, { tx }) => upsertDer(tx, der),
  "der.updated": (der, { tx }) => upsertDer(tx, der),
  "der.deleted": ({ derId }, { tx }) => tx.portDer.deleteMany({ where: { id: derId } }),
});
