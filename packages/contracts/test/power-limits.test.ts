import { describe, expect, it } from "vitest";
import { powerLimitIssues, validateReading } from "../src/index.ts";
import { evChargerPortExample, T, v2xChargerExample } from "./seed-examples.ts";

const chargers = [
  ["ev_charger_port", evChargerPortExample],
  ["v2x_charger", v2xChargerExample],
] as const;

/** The charger example with only the given power limits. */
function withLimits(example: object, upper_limit_W: unknown, lower_limit_W: unknown) {
  return { ...example, timestamp: T, upper_limit_W, lower_limit_W };
}

// [what, upper_limit_W, lower_limit_W]
const accepted: [string, unknown, unknown][] = [
  ["AC idle + charge bands", [0, 11000], [0, 4500]],
  ["V2X discharge, idle and charge bands", [-500, 50, 7000], [-7000, -50, 500]],
  ["the collapsed pair (no power allowed)", [0], [0]],
  ["bands listed out of order", [7000, -500], [500, -7000]],
  ["both absent", undefined, undefined],
  ["both null", null, null],
];

// [upper_limit_W, lower_limit_W, field named, words in the message]
const refused: [unknown, unknown, string, string][] = [
  [[0, 11000], undefined, "lower_limit_W", "lower_limit_W is required when upper_limit_W is given"],
  [null, [0, 4500], "upper_limit_W", "upper_limit_W is required when lower_limit_W is given"],
  [[0, 11000], [0], "lower_limit_W", "as many entries as upper_limit_W (1 vs 2)"],
  [[], [], "upper_limit_W", "upper_limit_W must not be empty"],
  [[0, 4500], [0, 11000], "lower_limit_W[1]", "lower_limit_W[1] (11000) must be <= upper_limit_W[1] (4500)"],
  [[-500, 50, 7000], [-7000, -600, 500], "lower_limit_W[1]", "overlaps band [-7000, -500]"],
  [[0, 11000], [0, 0], "lower_limit_W[1]", "power bands must not overlap"],
  [[0, 11000.5], [0, 4500], "upper_limit_W[1]", "upper_limit_W[1] must be an integer"],
  [11000, 4500, "upper_limit_W", "upper_limit_W must be an array of integer watts"],
];

describe.each(chargers)("power limits of %s", (_type, example) => {
  it.each(accepted)("accepts %s", (_what, upper, lower) => {
    expect(validateReading(withLimits(example, upper, lower)).ok).toBe(true);
  });

  it.each(refused)("refuses upper %j / lower %j, naming %s", (upper, lower, field, words) => {
    const result = validateReading(withLimits(example, upper, lower));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toContainEqual({ field, message: expect.stringContaining(words) });
  });
});

it("reports every band that breaks a rule", () => {
  // band 1 is upside down, band 3 lies inside band 2
  const issues = powerLimitIssues({
    upper_limit_W: [0, 3000, 11000, 10000],
    lower_limit_W: [0, 4000, 4500, 9000],
  });
  expect(issues.map((issue) => issue.path)).toEqual([
    ["lower_limit_W", 1],
    ["lower_limit_W", 3],
  ]);
});
