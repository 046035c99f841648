import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ChargingStateSchema,
  ConnectorStatusSchema,
  ControlModeSchema,
  TelemetryReadingSchema,
} from "../src/index.ts";
import { compileReadingModels } from "../src/telemetry/compiled.ts";
import {
  batteryExample,
  evChargerPortExample,
  meterExample,
  pvExample,
  T,
  v2xChargerExample,
  v2xPowerBands,
} from "./seed-examples.ts";

// validateReading accepts through the compiled models and refuses through zod. That is right only if the
// two agree on every input: the compiled check accepts exactly what zod accepts, and returns what zod
// returns. Held here over generated readings near every rule's edge.

const accept = compileReadingModels(TelemetryReadingSchema.options);
const models = TelemetryReadingSchema.options;
const fieldNames = [...new Set(models.flatMap((m) => Object.keys(m.shape)))];

const INT = 2_147_483_647;
const edgeNumbers = [
  0,
  -0,
  1,
  -1,
  0.5,
  INT,
  -INT,
  INT + 1,
  -INT - 1,
  1e15,
  1e15 + 1,
  8.64e15,
  2 ** 53,
  1e300,
];
const words = [
  ...ConnectorStatusSchema.options,
  ...ChargingStateSchema.options,
  ...ControlModeSchema.options,
  "Charging",
  "SuspendedEV",
  "pv",
  "",
];
const value: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.integer({ min: -3000, max: 3000 }),
  fc.constantFrom(...edgeNumbers),
  fc.double(), // NaN and ±Infinity among them: a JavaScript caller can pass them
  fc.constantFrom(...words),
  fc.string({ maxLength: 8 }),
  fc.constantFrom(
    "a\u0000b",
    "x\ud800",
    "\udc00",
    "😀".repeat(100),
    "😀".repeat(101),
    "x".repeat(200),
    "x".repeat(201),
  ),
  fc.array(fc.integer({ min: -50, max: 5000 }), { maxLength: 4 }),
  fc.constantFrom([0], [1000, 0], Array(17).fill(0), ["1"], [1.5]),
  fc.constant({}),
);
const reading = fc
  .record({
    type: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...models.map((m) => m.shape.type.value)) },
      { weight: 1, arbitrary: fc.constantFrom("PV", "unknown", 3, null) },
    ),
    timestamp: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 2e12 }) },
      { weight: 1, arbitrary: fc.constantFrom(-1, 1.5, 8.64e15 + 1, "1796000000000", undefined) },
    ),
    fields: fc.dictionary(fc.oneof(fc.constantFrom(...fieldNames), fc.constantFrom("extra", "W_")), value, {
      maxKeys: 6,
    }),
  })
  .map(({ type, timestamp, fields }) => ({ ...fields, type, timestamp }));

describe("the compiled telemetry models", () => {
  it("accept what zod accepts, return what zod returns, and refuse the rest (seeded, 20,000 readings)", () => {
    let acceptedCount = 0;
    let refusedCount = 0;
    fc.assert(
      fc.property(fc.oneof(reading, value), (input) => {
        const zod = TelemetryReadingSchema.safeParse(input);
        const compiled = accept(input);
        expect(compiled !== undefined, JSON.stringify(zod.error?.issues ?? null)).toBe(zod.success);
        if (zod.success) {
          acceptedCount++;
          // the same fields in the same order (the JSON on Kafka and in the database is the same)
          expect(Object.keys(compiled!)).toEqual(Object.keys(zod.data));
          expect(compiled).toStrictEqual(zod.data);
        } else refusedCount++;
      }),
      { seed: 20261203, numRuns: 20_000 },
    );
    // the generator reaches both sides of the rules
    expect(acceptedCount).toBeGreaterThan(2_000);
    expect(refusedCount).toBeGreaterThan(2_000);
  });

  it("accept every seed example, power bands included, without touching the input", () => {
    const examples = [
      pvExample,
      batteryExample,
      meterExample,
      evChargerPortExample,
      v2xChargerExample,
      { ...v2xChargerExample, ...v2xPowerBands },
    ];
    for (const example of examples) {
      const input: Record<string, unknown> = structuredClone({ ...example, timestamp: T, unknown_field: 1 });
      const before = structuredClone(input);
      const out = accept(input) as Record<string, unknown> | undefined;
      expect(out).toStrictEqual(TelemetryReadingSchema.parse(input));
      expect(input).toStrictEqual(before);
      if (Array.isArray(input.upper_limit_W)) expect(out!.upper_limit_W).not.toBe(input.upper_limit_W);
    }
  });
});
