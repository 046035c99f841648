import { type Site, topics } from "@energy/contracts";
import { defineSubscription, type Tx } from "../context.ts";

const upsertSite = (tx: Tx, s: Site) => {
  const data = { orgId: s.orgId, timezone: s.timezone };
  return tx.site.upsert({ where: { id: s.siteId }, create: { id: s.siteId, ...data }, update: data });
};

/** A site's time zone is its devices': their commissioning dates and local timestamps are read in it. */
export const registrySite = defineSubscription(topics.registrySite, {
  "site.created": (site, { tx }) => upsertSite(tx, site),
  "site.updated": (site, { tx }) => upsertSite(tx, site),
  "site.deleted": ({ siteId }, { tx }) => tx.site.deleteMany({ where: { id: siteId } }),
});
