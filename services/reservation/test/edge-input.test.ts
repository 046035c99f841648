import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOUR, type Service, seedDevices, seedOrg, startReservation } from "./helpers.ts";

// Hostile input the fuzz test's seed does not reach, each once a 500: a 400 naming the field.

let svc: Service;

beforeAll(async () => {
  svc = await startReservation();
  await seedOrg(svc.db, "org-buyer", "buyer", { "usr-buyer": "owner" });
  await seedOrg(svc.db, "org-dev", "developer");
  await seedDevices(svc.db, "org-dev", ["dev-1"]);
});
afterAll(async () => {
  await svc?.close();
});

describe("device grouping with hostile numbers", () => {
  const grouping = (change: Record<string, unknown>) =>
    svc.app.inject({
      method: "POST",
      url: "/organizations/org-buyer/reservation-candidates",
      headers: svc.auth("usr-buyer"),
      payload: {
        countryCode: "IND",
        starttime: new Date().toISOString(),
        endtime: new Date(Date.now() + 24 * HOUR).toISOString(),
        ...change,
      },
    });

  it("offers the free devices of the country", async () => {
    const res = await grouping({});
    expect(res.statusCode).toBe(200);
    expect(JSON.stringify(res.json())).toContain("dev-1");
  });

  it.each([
    ["targetCapacity", { targetCapacity: 1e308 }],
    ["targetVolume", { targetVolume: 1e308 }],
    ["targetVolume", { targetVolume: -1 }],
  ])("refuses %s out of range with a 400 naming it", async (field, change) => {
    const res = await grouping(change);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("validation_failed");
    expect(JSON.stringify(res.json().error)).toContain(field);
  });
});
