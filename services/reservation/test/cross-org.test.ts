import { describeCrossOrgIsolation } from "@energy/testing/cross-org";
import { reservationBody, seedDevices, seedOrg, startReservation } from "./helpers.ts";

/**
 * Every organization-scoped route of the reservation's OpenAPI document (reservations, their windows and
 * devices, candidates), called by the owner of another buyer organization: 404, for the victim buyer and for
 * its reservations under the caller's own.
 */
describeCrossOrgIsolation("reservation", async () => {
  const svc = await startReservation();
  await seedOrg(svc.db, "org-victim", "buyer", { "usr-victim": "owner" });
  await seedOrg(svc.db, "org-rival", "buyer", { "usr-rival": "owner" });
  await seedOrg(svc.db, "org-dev", "developer");
  await seedDevices(svc.db, "org-dev", ["dev-x-1", "dev-x-2"]);
  const created = await svc.app.inject({
    method: "POST",
    url: "/organizations/org-victim/reservations",
    headers: svc.auth("usr-victim"),
    payload: reservationBody(["dev-x-1"]),
  });
  if (created.statusCode !== 201) throw new Error(`reservation: ${created.statusCode} ${created.body}`);
  return {
    app: svc.app,
    headers: svc.auth("usr-rival"),
    ownOrgId: "org-rival",
    theirs: { orgId: "org-victim", reservationId: created.json().id as string },
    bodies: {
      "POST /organizations/{orgId}/reservations": { payload: reservationBody(["dev-x-2"]) },
      "POST /organizations/{orgId}/reservation-candidates": {
        payload: {
          countryCode: "IND",
          starttime: new Date(Date.now() + 3_600_000).toISOString(),
          endtime: new Date(Date.now() + 25 * 3_600_000).toISOString(),
        },
      },
    },
    close: svc.close,
  };
});
