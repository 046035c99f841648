import { describe, expect, it } from "vitest";
import {
  catalog,
  EVENT_TYPE_PATTERN,
  type EventPayload,
  findEventSchema,
  ServiceNameSchema,
  topicNames,
  topics,
} from "../src/index.ts";

const device: EventPayload<typeof topics.registryDevice, "device.registered"> = {
  deviceId: "dev-hybrid-inverter-01",
  orgId: "org-sourceful-home",
  siteId: "sit-main-street-42",
  type: "inverter",
  state: "pending",
  name: "Hybrid inverter",
  commIdentityId: "zap-04772a97",
  externalId: null,
  make: "Deye",
  model: null,
  capacityW: 3000,
  commissioningDate: "2023-04-01",
  countryCode: "SE",
  fuelCode: null,
};

describe("topic catalog", () => {
  it.each(catalog.map((topic) => [topic.name, topic] as const))(
    "%s is named <service>.<entity>.v<N> by its owner",
    (name, topic) => {
      expect(name).toMatch(/^[a-z-]+\.[a-z-]+\.v\d+$/);
      expect(name.split(".")[0]).toBe(topic.owner);
      expect(ServiceNameSchema.options).toContain(topic.owner);
      expect(topic.key).not.toBe("");
    },
  );

  it.each(catalog.flatMap((topic) => Object.keys(topic.events).map((type) => [topic.name, type] as const)))(
    "%s: event type %s is <entity>.<past-tense-verb>",
    (_name, type) => {
      expect(type).toMatch(EVENT_TYPE_PATTERN);
    },
  );

  it("declares every topic once and each service owns at least one", () => {
    expect(new Set(topicNames).size).toBe(topicNames.length);
    expect(new Set(catalog.map((topic) => topic.owner))).toEqual(new Set(ServiceNameSchema.options));
    expect(topics.registryDevice.name).toBe("registry.device.v1");
  });
});

describe("findEventSchema", () => {
  it("finds the payload schema of a declared event and it validates", () => {
    const schema = findEventSchema("registry.device.v1", "device.registered");
    expect(schema).toBe(topics.registryDevice.events["device.registered"]);
    expect(schema?.safeParse(device).success).toBe(true);
    expect(schema?.safeParse({ ...device, type: "toaster" }).success).toBe(false);
  });

  it("keeps event types of different topics apart", () => {
    const fromRegistry = findEventSchema("registry.device.v1", "device.state_changed");
    const fromIngestion = findEventSchema("ingestion.liveness.v1", "device.state_changed");
    expect(fromRegistry).toBeDefined();
    expect(fromIngestion).toBeDefined();
    expect(fromRegistry).not.toBe(fromIngestion);
  });

  it.each([
    ["an unknown topic", "registry.device.v2", "device.registered"],
    ["an event of another topic", "registry.site.v1", "device.registered"],
    ["an unknown event", "registry.device.v1", "device.exploded"],
    ["an inherited property name", "registry.device.v1", "toString"],
  ])("returns undefined for %s", (_what, topic, type) => {
    expect(findEventSchema(topic, type)).toBeUndefined();
  });
});

describe("event payloads with rules of their own", () => {
  const interval = {
    derId: "der-pv-rooftop",
    deviceId: "dev-hybrid-inverter-01",
    orgId: "org-sourceful-home",
    derType: "solar",
    intervalStart: "2024-05-01T12:30:00.000Z",
    intervalEnd: "2024-05-01T13:00:00.000Z",
    generationWh: 812,
    importWh: null,
    exportWh: null,
    chargeWh: null,
    dischargeWh: null,
    readingCount: 180,
  };
  const computed = topics.ingestionInterval.events["interval.computed"];

  it.each([
    ["a half hour on the clock", {}, []],
    ["energy split by time, to the mWh", { generationWh: 812.125 }, []],
    ["an interval of 15 minutes", { intervalEnd: "2024-05-01T12:45:00.000Z" }, ["intervalEnd"]],
    [
      "an interval off the half hour",
      { intervalStart: "2024-05-01T12:10:00.000Z", intervalEnd: "2024-05-01T12:40:00.000Z" },
      ["intervalStart"],
    ],
    ["negative generation energy", { generationWh: -5 }, ["generationWh"]],
  ])("interval: %s", (_what, changes, paths) => {
    const result = computed.safeParse({ ...interval, ...changes });
    expect(result.success ? [] : result.error.issues.map((issue) => issue.path.join("."))).toEqual(paths);
  });

  it("a registered identity must use its type's key algorithm", () => {
    const registered = topics.registryIdentity.events["identity.registered"];
    const gateway = {
      identityId: "zap-04772a97",
      identityType: "gateway",
      keyId: "k1",
      publicKey: "MFkw…",
      name: null,
    };
    expect(registered.safeParse({ ...gateway, algorithm: "ES256" }).success).toBe(true);
    const wrong = registered.safeParse({ ...gateway, algorithm: "Ed25519" });
    expect(wrong.error?.issues.map((issue) => issue.path.join("."))).toEqual(["algorithm"]);
  });

  it("a telemetry event refuses a reading that breaks a telemetry rule, at readings[1].W", () => {
    const accepted = topics.ingestionTelemetry.events["readings.accepted"];
    const result = accepted.safeParse({
      derId: "der-pv-rooftop",
      deviceId: "dev-hybrid-inverter-01",
      siteId: "sit-main-street-42",
      orgId: "org-sourceful-home",
      gatewayId: "zap-04772a97",
      receivedAt: "2024-05-01T12:00:01.000Z",
      readings: [
        { type: "pv", timestamp: 1_714_564_800_000, W: -100 },
        { type: "pv", timestamp: 1_714_564_805_000, W: 100 },
      ],
    });
    expect(result.error?.issues).toMatchObject([
      { path: ["readings", 1, "W"], message: "W must be <= 0: PV generation is negative" },
    ]);
  });
});
