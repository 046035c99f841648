import { describe, expect, it } from "vitest";
import { EnvelopeSchema } from "../src/index.ts";

const envelope = {
  id: "3b241101-e2bb-4255-8caf-4136c566a962",
  type: "device.registered",
  schemaVersion: 1,
  source: "registry",
  occurredAt: "2024-05-01T12:00:00.000Z",
  correlationId: "req-7f3a",
  causationId: null,
};

/** The paths zod refuses when the envelope has these changes. */
function refusedPaths(changes: Record<string, unknown>) {
  const result = EnvelopeSchema.safeParse({ ...envelope, ...changes });
  return result.success ? [] : result.error.issues.map((issue) => issue.path.join("."));
}

describe("envelope", () => {
  it.each([
    ["a message started by a request", {}],
    ["a message caused by another", { causationId: "9f6c6a5e-2d4b-4a39-9d3a-1f8b3f0c7a11" }],
    ["an event type with an underscore verb", { type: "identity.key_added" }],
    ["an event type with a hyphenated entity", { type: "device-group.created" }],
    ["the meter-read service", { source: "meter-read" }],
  ])("accepts %s", (_what, changes) => {
    expect(refusedPaths(changes)).toEqual([]);
  });

  it.each([
    ["an id that is not a uuid", { id: "42" }, "id"],
    ["an event type without a verb", { type: "device" }, "type"],
    ["an event type in camelCase", { type: "device.stateChanged" }, "type"],
    ["an event type with three parts", { type: "registry.device.registered" }, "type"],
    ["schemaVersion 0", { schemaVersion: 0 }, "schemaVersion"],
    ["a fractional schemaVersion", { schemaVersion: 1.5 }, "schemaVersion"],
    ["an unknown service", { source: "billing" }, "source"],
    ["a local time", { occurredAt: "2024-05-01 12:00" }, "occurredAt"],
    ["an empty correlation id", { correlationId: "" }, "correlationId"],
    ["an empty causation id", { causationId: "" }, "causationId"],
    ["a missing causation id", { causationId: undefined }, "causationId"],
  ])("refuses %s, naming %s", (_what, changes, path) => {
    expect(refusedPaths(changes)).toEqual([path]);
  });
});
