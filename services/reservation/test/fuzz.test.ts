import { describeInputFuzz } from "@energy/testing/fuzz";
import { reservationBody, seedDevices, seedOrg, startReservation } from "./helpers.ts";

/** Malformed input to every route of the reservation's OpenAPI document: 4xx, never 5xx (packages/testing README). */
describeInputFuzz("reservation", async () => {
  const svc = await startReservation();
  await seedOrg(svc.db, "org-fuzz", "buyer", { "usr-fuzz": "owner" });
  await seedOrg(svc.db, "org-fuzz-dev", "developer");
  await seedDevices(svc.db, "org-fuzz-dev", ["dev-fuzz-1", "dev-fuzz-2"]);
  const headers = svc.auth("usr-fuzz");
  const created = await svc.app.inject({
    method: "POST",
    url: "/organizations/org-fuzz/reservations",
    headers,
    payload: reservationBody(["dev-fuzz-1"]),
  });
  if (created.statusCode !== 201) throw new Error(`reservation: ${created.statusCode} ${created.body}`);
  return {
    app: svc.app,
    headers,
    params: { orgId: "org-fuzz", reservationId: created.json().id as string },
    close: svc.close,
  };
});
