import type { EventPayload, topics } from "@energy/contracts";
import type { Subscription } from "@energy/kafka";
import type { Tx } from "../db.ts";
import { inTx } from "./in-tx.ts";

type Der = EventPayload<typeof topics.registryDer, "der.created">;

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

export const registryDers: Subscription = {
  topic: "registry.der.v1",
  handlers: {
    "der.created": inTx(upsertDer),
    "der.updated": inTx(upsertDer),
    "der.deleted": inTx((tx, p: EventPayload<typeof topics.registryDer, "der.deleted">) =>
      tx.portDer.deleteMany({ where: { id: p.derId } }),
    ),
  },
};
