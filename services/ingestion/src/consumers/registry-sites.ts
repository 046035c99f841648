import { type Site, topics } from "@energy/contracts";
import { defineSubscription, type Tx } from "../context.ts";

const upsertSite = (tx: Tx, s: Site) => {
  const data = { orgId: s.orgId, name: s.name, timezone: s.timezone };
  return tx.site.upsert({ where: { id: s.siteId }, create: { id: s.siteId, ...data }, update: data });
};

/** Sites and their time zones (local days and months of the energy queries). */
export const registrySites = defineSubscription(topics.registrySite, {
  "site.created": (site, { tx }) => upsertSite(tx, site),
  "site.updated": (site, { tx }) => upsertSite(tx, site),
  "site.deleted": ({ siteId }, { tx }) => tx.site.deleteMany({ where: { id: siteId } }),
});
