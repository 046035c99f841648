import { describeCrossOrgIsolation } from "@energy/testing/cross-org";
import { seedCharger, startOcpp } from "./helpers.ts";

/**
 * Every organization-scoped route of ocpp's OpenAPI document (chargers, passwords, registrations, commands, id tags), called
 * by the owner of another organization: 404, for the victim organization and for its chargers and commands.
 */
describeCrossOrgIsolation(
  "ocpp",
  async () => {
    const ocpp = await startOcpp({ COMMAND_TIMEOUT_SECONDS: "2" });
    await seedCharger(ocpp.db, { chargePointId: "dev-victim-cp", orgId: "org-victim", owner: "usr-victim" });
    await seedCharger(ocpp.db, { chargePointId: "dev-rival-cp", orgId: "org-rival", owner: "usr-rival" });
    // a command the victim sent its charger (answered at once: the charger is not connected)
    const sent = await ocpp.app.inject({
      method: "POST",
      url: "/v1/orgs/org-victim/chargers/dev-victim-cp/commands",
      headers: ocpp.auth("usr-victim"),
      payload: { command: "reset", type: "soft" },
    });
    const commandId = sent.json().commandId as string;
    if (!commandId) throw new Error(`command: ${sent.statusCode} ${sent.body}`);
    await ocpp.db.idTag.create({ data: { orgId: "org-victim", idTag: "TAG-VICTIM", status: "Accepted" } });
    return {
      app: ocpp.app,
      headers: ocpp.auth("usr-rival"),
      ownOrgId: "org-rival",
      theirs: { orgId: "org-victim", chargePointId: "dev-victim-cp", commandId, idTag: "TAG-VICTIM" },
      bodies: {
        "PUT /v1/orgs/{orgId}/chargers/{chargePointId}/password": {
          payload: { password: "another-horse-battery-2" },
        },
        "PUT /v1/orgs/{orgId}/chargers/{chargePointId}/registration": { payload: { status: "Rejected" } },
        "POST /v1/orgs/{orgId}/chargers/{chargePointId}/commands": {
          payload: { command: "reset", type: "soft" },
        },
        "PUT /v1/orgs/{orgId}/id-tags/{idTag}": { payload: { status: "Blocked" } },
      },
      close: ocpp.close,
    };
  },
  {
    ownOrgVariantExempt: {
      // an id tag is a name inside one organization: the caller's own TAG-VICTIM is its own, not the victim's
      "PUT /v1/orgs/{orgId}/id-tags/{idTag}": "id tags are named per organization",
    },
  },
);
