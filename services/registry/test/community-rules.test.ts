import type { CommunityAssetType as AssetType } from "@energy/contracts";
import { describe, expect, it } from "vitest";
import {
  assetPropertiesViolation,
  assetsReferencing,
  memberRemovalViolation,
  relationshipViolation,
} from "../src/domain/community-rules.ts";

describe("asset properties per type", () => {
  const accepted: [AssetType, Record<string, unknown>][] = [
    ["pv", { capacity_kwp: 6.2, orientation: 180, tilt: 30, installation_date: "2023-05-01" }],
    ["storage", { capacity_kwh: 10, max_power_kw: 5, chemistry: "LFP" }],
    ["meter", {}],
    ["meter", { meter_type: "smart", pod: "IT001E12345678", direction: "bidirectional" }],
    ["ev_charger", { max_power_kw: 11, connector_type: "Type2", num_connectors: 2, smart_charging: true }],
    ["heat_pump", { thermal_power_kw: 8, cop: 4.1, heat_source: "air", reversible: true }],
    ["load", { rated_power_kw: 2, load_type: "boiler", controllable: true, priority: 3 }],
  ];
  it.each(accepted)("accepts %s %j", (type, properties) => {
    expect(assetPropertiesViolation(type, properties)).toBeNull();
  });

  const refused: [AssetType, Record<string, unknown>, string][] = [
    ["pv", {}, "properties.capacity_kwp"],
    ["pv", { capacity_kwp: -1 }, "properties.capacity_kwp"],
    ["pv", { capacity_kwp: 5, tilt: 120 }, "properties.tilt"],
    ["pv", { capacity_kwp: 5, capacity_kwh: 3 }, "properties.capacity_kwh"],
    ["storage", { capacity_kwh: "10" }, "properties.capacity_kwh"],
    ["meter", { direction: "sideways" }, "properties.direction"],
    ["ev_charger", { max_power_kw: 11, num_connectors: 0 }, "properties.num_connectors"],
    ["heat_pump", { thermal_power_kw: 8, heat_source: "lava" }, "properties.heat_source"],
    ["load", { rated_power_kw: 1, priority: 1.5 }, "properties.priority"],
  ];
  it.each(refused)("refuses %s %j naming %s", (type, properties, field) => {
    const violation = assetPropertiesViolation(type, properties);
    expect(violation?.field).toBe(field);
    expect(violation?.code).toBe("invalid_asset_properties");
    expect(violation?.message).toContain(field);
  });
});

describe("asset relationships", () => {
  const known = new Set(["meter-1", "pv-1"]);
  const cases: [string, Parameters<typeof relationshipViolation>[1], string | null][] = [
    ["meter-2", { measures: ["pv-1"], pairedWith: ["meter-1"] }, null],
    ["meter-2", {}, null],
    ["meter-2", { measures: ["pv-9"] }, "pv-9"],
    ["meter-2", { pairedWith: ["meter-1", "elsewhere"] }, "elsewhere"],
    ["pv-1", { pairedWith: ["pv-1"] }, "pv-1"],
  ];
  it.each(cases)("%s %j → %s", (key, relationships, offending) => {
    const violation = relationshipViolation(key, relationships, known);
    if (offending === null) expect(violation).toBeNull();
    else expect(violation?.message).toContain(offending);
  });

  it("finds the assets that name an asset", () => {
    const assets = [
      { key: "m", relationships: { measures: ["pv"] } },
      { key: "b", relationships: { pairedWith: ["pv"] } },
      { key: "pv", relationships: {} },
    ];
    expect(assetsReferencing("pv", assets)).toEqual(["m", "b"]);
    expect(assetsReferencing("m", assets)).toEqual([]);
  });
});

describe("removing a community member", () => {
  it.each([
    ["anna", [], null],
    ["anna", ["pv-anna"], "member anna still owns assets: pv-anna"],
    ["anna", ["meter-anna", "battery-anna"], "member anna still owns assets: battery-anna, meter-anna"],
  ] as [string, string[], string | null][])("%s owning %j: %s", (member, owned, violation) => {
    expect(memberRemovalViolation(member, owned)).toBe(violation);
  });
});
