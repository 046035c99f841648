import type { DerType, DeviceType } from "@energy/contracts";
import { describe, expect, it } from "vitest";
import {
  type DeviceRuleInput,
  derOnDeviceViolation,
  deviceRuleViolations,
  utcToday,
} from "../src/domain/device-rules.ts";
import { SDG_MAX_MASK, sdgGoalsToMask, sdgMaskToGoals, sdgToMask } from "../src/domain/sdg.ts";

describe("SDG benefits: goal numbers ⇄ bitmask", () => {
  const cases: [number[], number][] = [
    [[], 0],
    [[1], 1],
    [[2], 2],
    [[7], 64],
    [[1, 7, 13], 1 + 64 + 4096],
    [[17], 1 << 16],
    [Array.from({ length: 17 }, (_, i) => i + 1), SDG_MAX_MASK],
  ];
  it.each(cases)("goals %j ⇄ mask %i", (goals, mask) => {
    expect(sdgGoalsToMask(goals)).toBe(mask);
    expect(sdgMaskToGoals(mask)).toEqual(goals);
    expect(sdgToMask(mask)).toBe(mask);
    expect(sdgToMask(goals)).toBe(mask);
  });

  it("counts a duplicate goal once and sorts", () => {
    expect(sdgMaskToGoals(sdgGoalsToMask([13, 7, 7]))).toEqual([7, 13]);
  });

  it.each([[0], [18], [1.5], [-1]])("refuses goal %s", (goal) => {
    expect(() => sdgGoalsToMask([goal])).toThrow(RangeError);
  });

  it.each([[-1], [SDG_MAX_MASK + 1], [0.5]])("refuses mask %s", (mask) => {
    expect(() => sdgMaskToGoals(mask)).toThrow(RangeError);
  });
});

describe("device rules beyond one field", () => {
  const today = "2025-06-15";
  const ok: DeviceRuleInput = { energyStorage: false, energyStorageCapacity: null, commissioningDate: null };
  const cases: [string, Partial<DeviceRuleInput>, string[]][] = [
    ["nothing set", {}, []],
    ["storage with capacity", { energyStorage: true, energyStorageCapacity: 10 }, []],
    ["storage without capacity", { energyStorage: true }, ["energyStorageCapacity"]],
    [
      "storage with zero capacity",
      { energyStorage: true, energyStorageCapacity: 0 },
      ["energyStorageCapacity"],
    ],
    ["capacity without storage", { energyStorageCapacity: 5 }, []],
    ["commissioned in the past", { commissioningDate: "2019-03-01" }, []],
    ["commissioned today", { commissioningDate: today }, []],
    ["commissioned tomorrow", { commissioningDate: "2025-06-16" }, ["commissioningDate"]],
    [
      "both broken",
      { energyStorage: true, commissioningDate: "2030-01-01" },
      ["energyStorageCapacity", "commissioningDate"],
    ],
  ];
  it.each(cases)("%s", (_name, device, fields) => {
    const violations = deviceRuleViolations({ ...ok, ...device }, today);
    expect(violations.map((v) => v.field)).toEqual(fields);
    for (const v of violations) expect(v.message).toContain(v.field);
  });

  it("takes today in UTC", () => {
    expect(utcToday(new Date("2025-06-15T23:59:59.999Z"))).toBe("2025-06-15");
  });
});

describe("DER types allowed on device types", () => {
  const cases: [DerType, DeviceType, boolean][] = [
    ["solar", "inverter", true],
    ["solar", "battery", false],
    ["solar", "energy_meter", false],
    ["battery", "inverter", true],
    ["battery", "battery", true],
    ["battery", "ev_charger", false],
    ["meter", "energy_meter", true],
    ["meter", "battery", true],
    ["meter", "v2x_charger", false],
    ["ev_charger_port", "ev_charger", true],
    ["ev_charger_port", "v2x_charger", true],
    ["ev_charger_port", "inverter", false],
  ];
  it.each(cases)("%s on %s: %s", (derType, deviceType, allowed) => {
    const violation = derOnDeviceViolation(derType, deviceType);
    expect(violation === null).toBe(allowed);
    if (violation) {
      expect(violation.field).toBe("derType");
      expect(violation.message).toContain(derType);
      expect(violation.message).toContain(deviceType);
    }
  });

  it("lists the allowed device types", () => {
    expect(derOnDeviceViolation("solar", "energy_meter")?.message).toMatch(/allowed on: inverter\)$/);
    expect(derOnDeviceViolation("meter", "ev_charger")?.message).toContain("inverter, battery, energy_meter");
  });
});
