import { describe, expect, it } from "vitest";
import {
  type DerType,
  type DeviceType,
  IdentityRegisteredSchema,
  type IdentityType,
  IdentityTypeSchema,
  isDerAllowedOnDevice,
  type KeyAlgorithm,
  KeyAlgorithmSchema,
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
  const registered = (identityType: IdentityType, algorithm: KeyAlgorithm) =>
    IdentityRegisteredSchema.safeParse({
      identityId: "id-1",
      identityType,
      name: null,
      keyId: "key-1",
      algorithm,
      publicKey: "MCowBQYDK2VwAyEA",
    }).success;

  // an identity.registered event is refused unless the key's algorithm fits the identity's kind
  it.each<[IdentityType, KeyAlgorithm]>([
    ["user", "Ed25519"],
    ["admin", "Ed25519"],
    ["root", "Ed25519"],
    ["gateway", "ES256"],
    ["device", "ES256"],
    ["integration", "ES256"],
  ])("a %s registers with an %s key, not the other", (type, algorithm) => {
    expect(registered(type, algorithm)).toBe(true);
    expect(registered(type, algorithm === "Ed25519" ? "ES256" : "Ed25519")).toBe(false);
  });

  it("every kind of identity, including any added later, accepts exactly one algorithm", () => {
    for (const type of IdentityTypeSchema.options) {
      const accepted = KeyAlgorithmSchema.options.filter((algorithm) => registered(type, algorithm));
      expect(accepted, type).toHaveLength(1);
    }
  });
});
