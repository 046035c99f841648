import { type EventPayload, type Site, topics } from "@energy/contracts";
import type { Subscription } from "@energy/kafka";
import { inTx, type Tx } from "./tx.ts";

const upsertSite = (tx: Tx, s: Site) => {
  const data = { orgId: s.orgId, timezone: s.timezone };
  return tx.site.upsert({ where: { id: s.siteId }, create: { id: s.siteId, ...data }, update: data });
};

/** A site's time zone is its devices': their commissioning dates and local timestamps are read in it. */
export const siteSubscription: Subscription = {
  topic: topics.registrySite.name,
  handlers: {
    "site.created": inTx(upsertSite),
    "site.updated": inTx(upsertSite),
    "site.deleted": inTx((tx, p: EventPayload<typeof topics.registrySite, "site.deleted">) =>
      tx.site.deleteMany({ where: { id: p.siteId } }),
    ),
  },
};
