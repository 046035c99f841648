import { describe, expect, it } from "vitest";
import { createEnvelope, envelopeFromHeaders, envelopeToHeaders, FatalMessageError } from "../src/index.ts";

const asBuffers = (h: Record<string, string>) =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Buffer.from(v)]));

describe("the envelope on the wire", () => {
  it("round-trips every field, including correlation and causation ids", () => {
    const plain = createEnvelope({ type: "device.registered", source: "registry" });
    expect(envelopeFromHeaders(asBuffers(envelopeToHeaders(plain)))).toEqual(plain);
    expect(plain.correlationId).toBe(plain.id);
    const caused = createEnvelope({
      type: "readings.accepted",
      source: "ingestion",
      correlationId: 'req "42"',
      causationId: plain.id,
      schemaVersion: 2,
    });
    expect(envelopeFromHeaders(asBuffers(envelopeToHeaders(caused)))).toEqual(caused);
  });

  it.each([
    ["no header", {}, /no "envelope" header/],
    ["not JSON", { envelope: "{id:" }, /not JSON/],
    [
      "a bad id",
      {
        envelope:
          '{"id":"42","type":"device.registered","schemaVersion":1,"source":"registry","occurredAt":"2026-01-01T00:00:00.000Z"}',
      },
      /id/,
    ],
    [
      "an unknown source",
      {
        envelope: `{"id":"${crypto.randomUUID()}","type":"device.registered","schemaVersion":1,"source":"billing","occurredAt":"2026-01-01T00:00:00.000Z"}`,
      },
      /source/,
    ],
    [
      "a type that is not <entity>.<verb>",
      {
        envelope: `{"id":"${crypto.randomUUID()}","type":"DeviceRegistered","schemaVersion":1,"source":"registry","occurredAt":"2026-01-01T00:00:00.000Z"}`,
      },
      /type/,
    ],
  ])("refuses %s as a fatal message naming what is wrong", (_, headers, message) => {
    expect(() => envelopeFromHeaders(asBuffers(headers as Record<string, string>))).toThrow(
      FatalMessageError,
    );
    expect(() => envelopeFromHeaders(asBuffers(headers as Record<string, string>))).toThrow(message);
  });
});
