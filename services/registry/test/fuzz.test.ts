import { describeInputFuzz } from "@energy/testing/fuzz";
import { startRegistry } from "./helpers.ts";

/** Malformed input to every route of the registry's OpenAPI document: 4xx, never 5xx (packages/testing README). */
describeInputFuzz("registry", async () => {
  const r = await startRegistry();
  await r.db.identity.create({ data: { id: "usr-fuzz", type: "user", name: "Fuzz" } });
  const headers = { ...r.auth("usr-fuzz") };
  const post = async (url: string, payload: object) => {
    const res = await r.app.inject({ method: "POST", url, headers, payload });
    if (res.statusCode !== 201) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    return res.json() as { id: string; key?: string };
  };
  const orgId = (await post("/organizations", { name: "Fuzz Org", kind: "developer" })).id;
  const siteId = (await post(`/organizations/${orgId}/sites`, { name: "Roof", timezone: "Europe/Stockholm" }))
    .id;
  const deviceId = (await post(`/organizations/${orgId}/devices`, { siteId, type: "inverter", name: "Inv" }))
    .id;
  const derId = (
    await post(`/organizations/${orgId}/devices/${deviceId}/ders`, { derType: "solar", name: "PV" })
  ).id;
  return { app: r.app, headers, params: { orgId, siteId, deviceId, derId, id: "usr-fuzz" }, close: r.close };
});
