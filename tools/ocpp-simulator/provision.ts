/**
 * Puts simulated chargers into a running registry and ocpp service, as an organization member would: a
 * site, one `ev_charger` device per charger (found again by externalId) with one `ev_charger_port` DER per
 * connector named `ev-port-<n>` (the ocpp service maps connector n to it), and a password set through the
 * ocpp service's API once its projection knows the device. Passwords are kept in
 * <dataDir>/ocpp-simulator/passwords.json. Idempotent.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Operator, RegistryClient, RegistryError, TokenSource } from "../gateway-simulator/provision.ts";
import type { Version } from "./charger.ts";

export interface ProvisionedCharger {
  chargePointId: string;
  password: string;
  version: Version;
  orgId: string;
  siteId: string;
}

export async function provisionChargers(opts: {
  registryUrl: string;
  ocppUrl: string;
  dataDir: string;
  operator: Operator;
  /** the version of each charger, in order */
  versions: Version[];
  /** the OCPP security profile of each charger, in order (2: over wss only; default 1) */
  securityProfiles?: Array<1 | 2>;
  connectors: number;
  log?: (message: string) => void;
}): Promise<ProvisionedCharger[]> {
  const log = opts.log ?? (() => {});
  const dir = join(opts.dataDir, "ocpp-simulator");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const passwordsFile = join(dir, "passwords.json");
  const passwords: Record<string, string> = existsSync(passwordsFile)
    ? JSON.parse(readFileSync(passwordsFile, "utf8"))
    : {};
  const registry = new RegistryClient(opts.registryUrl);
  const ocpp = new RegistryClient(opts.ocppUrl);
  const operator = new TokenSource(registry, opts.operator.identityId, opts.operator.privateKey);
  const { orgId } = opts.operator;
  const orgPath = `/organizations/${orgId}`;
  const call = async <T>(method: string, path: string, body?: unknown) =>
    registry.request<T>(method, path, { body, token: await operator.token() });

  const siteName = "Simulated chargers";
  const sites = await call<{ items: { id: string; name: string }[] }>("GET", `${orgPath}/sites`);
  const site =
    sites.items.find((s) => s.name === siteName) ??
    (await call<{ id: string }>("POST", `${orgPath}/sites`, {
      name: siteName,
      address: "Charging depot, Stockholm",
      timezone: "Europe/Stockholm",
    }));
  const existing = await call<{ items: { id: string; externalId: string | null }[] }>(
    "GET",
    `${orgPath}/devices?siteId=${encodeURIComponent(site.id)}`,
  );
  const result: ProvisionedCharger[] = [];
  for (const [index, version] of opts.versions.entries()) {
    // externalIds are letters, digits, '-' and '_' (the registry refuses the dots of "1.6")
    const externalId = `sim-charger-${index + 1}-v${version.replaceAll(".", "")}`;
    let deviceId = existing.items.find((d) => d.externalId === externalId)?.id;
    if (!deviceId) {
      deviceId = (
        await call<{ id: string }>("POST", `${orgPath}/devices`, {
          siteId: site.id,
          type: "ev_charger",
          name: `Simulated charger ${index + 1} (OCPP ${version})`,
          make: "Simulated",
          model: `SimCharger ${version}`,
          externalId,
          countryCode: "SE",
          capacity: 22,
        })
      ).id;
      log(`charger ${index + 1}: device ${deviceId}`);
    }
    const ders = await call<{ items: { name: string }[] }>("GET", `${orgPath}/devices/${deviceId}/ders`);
    for (let n = 1; n <= opts.connectors; n++) {
      if (ders.items.some((d) => d.name === `ev-port-${n}`)) continue;
      await call("POST", `${orgPath}/devices/${deviceId}/ders`, {
        derType: "ev_charger_port",
        name: `ev-port-${n}`,
        ratedPowerW: 11_000,
      });
    }
    passwords[deviceId] ??= randomBytes(18).toString("base64url");
    writeFileSync(passwordsFile, `${JSON.stringify(passwords, null, 2)}\n`, { mode: 0o600 });
    // The ocpp service learns of the device from registry.device.v1: retry until its projection has it.
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await ocpp.request("PUT", `/v1/orgs/${orgId}/chargers/${deviceId}/password`, {
          body: { password: passwords[deviceId], securityProfile: opts.securityProfiles?.[index] ?? 1 },
          token: await operator.token(),
        });
        break;
      } catch (error) {
        const retriable = error instanceof RegistryError && (error.status === 404 || error.status === 0);
        if (!retriable || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    result.push({ chargePointId: deviceId, password: passwords[deviceId]!, version, orgId, siteId: site.id });
  }
  return result;
}
