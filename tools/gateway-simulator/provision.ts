/**
 * Puts the simulated gateways into a running registry, as an organization member would, and logs each
 * gateway in with its own key.
 *
 * For gateway i: an ES256 (P-256) key kept in <dataDir>/simulator/gateway-<i>.key; a gateway identity
 * registered with it; a site; the gateway claimed by the organization for that site (with the gateway's
 * signature of the registry's claim challenge, as a gateway proves possession); the devices and DERs
 * of the site plan (@energy/simulation's site-plan.ts), each device talking through the gateway (commIdentityId). Idempotent:
 * the ids are kept in <dataDir>/simulator/state.json and checked against the registry on every run, and
 * what is missing (a wiped registry, a new device count) is created again.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as signWith,
} from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ApiClient, ApiError, TokenSource } from "@energy/client";
import { type DerKey, planSite, type SimulatedGateway } from "@energy/simulation";

// --- registry calls: the shared client (packages/client) -------------------------------------------------

// The simulators call the registry and the ocpp service with it under these names.
export { ApiClient as RegistryClient, ApiError as RegistryError, TokenSource } from "@energy/client";

/** The Kafka bridge's signature of a batch body: ES256 over its UTF-8 bytes, raw r||s, base64url. */
export function signBatch(privateKey: KeyObject, body: string): string {
  return signWith("sha256", Buffer.from(body, "utf8"), {
    key: privateKey,
    dsaEncoding: "ieee-p1363",
  }).toString("base64url");
}

// --- the organization member who provisions -----------------------------------------------------------

export interface Operator {
  identityId: string;
  privateKey: KeyObject;
  orgId: string;
}

/** The demo user and organization that tools/dev.ts creates (.data/demo.json, .data/keys/demo-user.key). */
export function demoOperator(dataDir: string): Operator {
  const marker = join(dataDir, "demo.json");
  const keyFile = join(dataDir, "keys", "demo-user.key");
  if (!existsSync(marker) || !existsSync(keyFile)) {
    throw new Error(
      `no demo organization in ${dataDir} (demo.json and keys/demo-user.key): start the platform first ` +
        "(bash tools/platform.sh start), or pass --org, --operator and --operator-key",
    );
  }
  const demo = JSON.parse(readFileSync(marker, "utf8")) as { userId: string; orgId: string };
  return { identityId: demo.userId, orgId: demo.orgId, privateKey: createPrivateKey(readFileSync(keyFile)) };
}

// --- state ------------------------------------------------------------------------------------------------

interface StoredDevice {
  deviceId: string;
  ders: Partial<Record<DerKey, string>>;
}

interface StoredGateway {
  gatewayId: string;
  orgId?: string;
  siteId?: string;
  /** `<orgId>/<siteId>` the claim was made for. */
  claimed?: string;
  devices: Record<string, StoredDevice>;
}

interface StoredState {
  version: 1;
  gateways: Record<string, StoredGateway>;
}

export function simulatorDir(dataDir: string): string {
  return join(dataDir, "simulator");
}

function readState(file: string): StoredState {
  if (!existsSync(file)) return { version: 1, gateways: {} };
  return JSON.parse(readFileSync(file, "utf8")) as StoredState;
}

function writeState(file: string, state: StoredState): void {
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** The gateway's P-256 key, made once. */
function gatewayKey(dir: string, index: number): KeyObject {
  const file = join(dir, `gateway-${index}.key`);
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  }
  return createPrivateKey(readFileSync(file));
}

// --- provisioning -----------------------------------------------------------------------------------------

export interface ProvisionOptions {
  registryUrl: string;
  /** The platform's data directory (.data); the simulator keeps its keys and ids in <dataDir>/simulator. */
  dataDir: string;
  gateways: number;
  devices: number;
  /** The seed of the site plans and curves. */
  seed: string;
  operator: Operator;
  log?: (message: string) => void;
}

export interface ProvisionedGateway extends SimulatedGateway {
  index: number;
  orgId: string;
  siteId: string;
  deviceIds: Record<string, string>;
  privateKey: KeyObject;
  tokens: TokenSource;
}

export async function provision(opts: ProvisionOptions): Promise<ProvisionedGateway[]> {
  const log = opts.log ?? (() => {});
  const client = new ApiClient(opts.registryUrl);
  const dir = simulatorDir(opts.dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stateFile = join(dir, "state.json");
  const state = readState(stateFile);
  const { orgId } = opts.operator;
  const operator = new TokenSource(client, opts.operator.identityId, opts.operator.privateKey);
  const orgPath = `/organizations/${orgId}`;
  try {
    await operator.token();
  } catch (error) {
    throw new Error(`could not log in as ${opts.operator.identityId}: ${(error as Error).message}`);
  }
  const call = async <T>(method: string, path: string, body?: unknown) =>
    client.request<T>(method, path, { body, token: await operator.token() });
  const notFound = (error: unknown) => error instanceof ApiError && error.status === 404;

  const result: ProvisionedGateway[] = [];
  for (let index = 0; index < opts.gateways; index++) {
    const plan = planSite(opts.seed, index, opts.devices);
    const stored: StoredGateway = state.gateways[index] ?? { gatewayId: "", devices: {} };
    state.gateways[index] = stored;
    const save = () => writeState(stateFile, state);

    // The gateway identity: known and able to log in, or registered now.
    let privateKey = gatewayKey(dir, index);
    let tokens: TokenSource | null = null;
    if (stored.gatewayId) {
      tokens = new TokenSource(client, stored.gatewayId, privateKey);
      try {
        await tokens.token();
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 401) throw error;
        log(`gateway ${index + 1}: ${stored.gatewayId} is unknown to the registry; registering it again`);
        tokens = null;
      }
    }
    if (!tokens) {
      const register = (key: KeyObject) =>
        call<{ id: string }>("POST", "/identities", {
          type: "gateway",
          name: `Simulated gateway ${index + 1} (${plan.location.city})`,
          publicKey: createPublicKey(key).export({ type: "spki", format: "pem" }).toString(),
        });
      let identity: { id: string };
      try {
        identity = await register(privateKey);
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== "public_key_in_use") throw error;
        // The key belongs to an identity whose id was lost with state.json: start with a new key.
        const file = join(dir, `gateway-${index}.key`);
        renameSync(file, `${file}.replaced-${Date.now()}`);
        privateKey = gatewayKey(dir, index);
        identity = await register(privateKey);
      }
      Object.assign(stored, { gatewayId: identity.id, claimed: undefined });
      save();
      tokens = new TokenSource(client, identity.id, privateKey);
      await tokens.token();
      log(`gateway ${index + 1}: registered ${identity.id}`);
    }
    const { gatewayId } = stored;

    // The site, in the operator's organization.
    if (stored.orgId !== orgId) Object.assign(stored, { orgId, siteId: undefined, devices: {} });
    const siteName = `Simulated site ${index + 1} (${plan.location.city})`;
    if (stored.siteId) {
      try {
        await call("GET", `${orgPath}/sites/${stored.siteId}`);
      } catch (error) {
        if (!notFound(error)) throw error;
        Object.assign(stored, { siteId: undefined, devices: {} });
      }
    }
    if (!stored.siteId) {
      const sites = await call<{ items: { id: string; name: string }[] }>("GET", `${orgPath}/sites`);
      const site =
        sites.items.find((s) => s.name === siteName) ??
        (await call<{ id: string }>("POST", `${orgPath}/sites`, {
          name: siteName,
          address: `${plan.location.city}, ${plan.location.countryCode}`,
          timezone: plan.location.timezone,
        }));
      Object.assign(stored, { siteId: site.id, claimed: undefined });
      save();
      log(`gateway ${index + 1}: site ${site.id} (${siteName})`);
    }
    const siteId = stored.siteId!;

    const claim = `${orgId}/${siteId}`;
    if (stored.claimed !== claim) {
      // The claim proves possession: the registry's challenge names the organization, the gateway signs it.
      const { challengeId, message } = await call<{ challengeId: string; message: string }>(
        "POST",
        `${orgPath}/gateways/${gatewayId}/claim-challenge`,
      );
      const signature = signWith("sha256", Buffer.from(message, "utf8"), privateKey).toString("base64url");
      await call("POST", `${orgPath}/gateways/${gatewayId}/claim`, { siteId, challengeId, signature });
      stored.claimed = claim;
      save();
    }

    // Devices (found by externalId) and their DERs (found by type and name).
    const existing = await call<{ items: { id: string; externalId: string | null; siteId: string }[] }>(
      "GET",
      `${orgPath}/devices?siteId=${encodeURIComponent(siteId)}`,
    );
    const derIds: Partial<Record<DerKey, string>> = {};
    const deviceIds: Record<string, string> = {};
    for (const device of plan.devices) {
      const externalId = `sim-${gatewayId}-${device.key}`;
      let deviceId = existing.items.find((d) => d.externalId === externalId)?.id;
      if (!deviceId) {
        const commissioned = new Date(Date.now() - plan.profile.yearsInService * 365.25 * 86_400_000);
        const created = await call<{ id: string }>("POST", `${orgPath}/devices`, {
          siteId,
          type: device.type,
          name: device.name,
          make: "Simulated",
          model: device.model,
          commIdentityId: gatewayId,
          externalId,
          address: `${plan.location.city}, ${plan.location.countryCode}`,
          latitude: plan.location.latitude,
          longitude: plan.location.longitude,
          countryCode: plan.location.countryCode,
          capacity: device.capacityKw,
          commissioningDate: commissioned.toISOString().slice(0, 10),
          gridInterconnection: true,
          energyStorage: device.storageKwh !== null,
          ...(device.storageKwh !== null ? { energyStorageCapacity: device.storageKwh } : {}),
        });
        deviceId = created.id;
        log(`gateway ${index + 1}: device ${deviceId} (${device.name})`);
      }
      deviceIds[device.key] = deviceId;
      const ders = await call<{ items: { id: string; derType: string; name: string }[] }>(
        "GET",
        `${orgPath}/devices/${deviceId}/ders`,
      );
      const storedDers: Partial<Record<DerKey, string>> = {};
      for (const der of device.ders) {
        let derId = ders.items.find((d) => d.derType === der.derType && d.name === der.name)?.id;
        if (!derId) {
          derId = (
            await call<{ id: string }>("POST", `${orgPath}/devices/${deviceId}/ders`, {
              derType: der.derType,
              name: der.name,
              ratedPowerW: der.ratedPowerW,
            })
          ).id;
        }
        derIds[der.key] = derId;
        storedDers[der.key] = derId;
      }
      stored.devices[device.key] = { deviceId, ders: storedDers };
      save();
    }
    result.push({ gatewayId, index, orgId, siteId, plan, derIds, deviceIds, privateKey, tokens });
  }
  return result;
}
