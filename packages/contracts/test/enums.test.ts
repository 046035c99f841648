import { describe, expect, it } from "vitest";
import {
  type DerType,
  type DeviceType,
  ID_PREFIXES,
  IDENTITY_KEY_ALGORITHM,
  isDerAllowedOnDevice,
} from "../src/index.ts";

describe("which DERs a device may expose", () => {
  it.each<[DerType, DeviceType, boolean]>([
    ["solar", "inverter", true],
    ["solar", "battery", false],
    ["solar", "energy_meter", false],
    ["battery", "inverter", true],
    ["battery", "battery", true],
    ["battery", "ev_charger", false],
    ["meter", "inverter", true],
    ["meter", "battery", true],
    ["meter", "energy_meter", true],
    ["meter", "v2x_charger", false],
    ["ev_charger_port", "ev_charger", true],
    ["ev_charger_port", "v2x_charger", true],
    ["ev_charger_port", "inverter", false],
  ])("%s on %s: %s", (der, device, allowed) => {
    expect(isDerAllowedOnDevice(der, device)).toBe(allowed);
  });
});

describe("identities", () => {
  it("humans sign with Ed25519, machines with ES256", () => {
    expect(IDENTITY_KEY_ALGORITHM).toEqual({
      user: "Ed25519",
      admin: "Ed25519",
      root: "Ed25519",
      gateway: "ES256",
      device: "ES256",
      integration: "ES256",
    });
  });

  it("gateway ids start with zap-", () => {
    expect(ID_PREFIXES.gateway).toBe("zap-");
  });
});
