import { topics } from "@energy/contracts";
import { createEnvelope, envelopeToHeaders } from "@energy/kafka";
import { describe, expect, it } from "vitest";
import { resolveTarget } from "../src/commands/api.ts";
import { serviceUrl } from "../src/config.ts";
import { formatMessage, readMessage } from "../src/decode.ts";

const topic = topics.registryOrganization.name;
const headers = (type: string) => envelopeToHeaders(createEnvelope({ type, source: "registry" }));
const message = (value: string | null, h?: Record<string, string>) => ({
  partition: 0,
  offset: "7",
  key: Buffer.from("org-1"),
  value: value === null ? null : Buffer.from(value),
  ...(h ? { headers: h } : {}),
});
const org = { orgId: "org-1", name: "Co-op", kind: "developer", ownerIdentityId: "usr-1" };

describe("a message read against the catalog", () => {
  it("decodes a valid event, and prints its header line and payload", () => {
    const read = readMessage(topic, message(JSON.stringify(org), headers("organization.created")));
    expect(read).toMatchObject({ valid: true, type: "organization.created", key: "org-1", payload: org });
    const [line, ...rest] = formatMessage(read).split("\n");
    expect(line).toMatch(
      new RegExp(
        `^── ${topic.replaceAll(".", "\\.")} partition 0 offset 7 · key org-1 · organization\\.created · \\S+Z · from registry · id `,
      ),
    );
    expect(JSON.parse(rest.join("\n"))).toEqual(org);
  });

  it.each([
    ["no envelope", message("{}"), null, 'message has no "envelope" header'],
    [
      "an envelope that is not JSON",
      message("{}", { envelope: "{nope" }),
      null,
      'the "envelope" header is not JSON',
    ],
    [
      "an event type the topic does not have",
      message("{}", headers("organization.exploded")),
      "organization.exploded",
      `event type "organization.exploded" is not in the catalog of ${topic}`,
    ],
    [
      "no value",
      message(null, headers("organization.created")),
      "organization.created",
      "message has no value",
    ],
    [
      "a value that is not JSON",
      message("not json", headers("organization.created")),
      "organization.created",
      "the value is not JSON",
    ],
    [
      "a payload that breaks the schema",
      message(JSON.stringify({ ...org, kind: "pirate", name: "" }), headers("organization.created")),
      "organization.created",
      "invalid organization.created: payload.name: ",
    ],
  ])("reports %s as invalid, with the reason", (_, raw, type, reason) => {
    const read = readMessage(topic, raw);
    expect(read.valid).toBe(false);
    if (read.valid) return;
    expect(read.type).toBe(type);
    expect(read.reason).toContain(reason);
    expect(formatMessage(read)).toContain(`INVALID${type ? ` ${type}` : ""}: ${read.reason}`);
  });
});

describe("which service a request goes to", () => {
  it.each([
    [["/organizations", undefined, undefined], "http://127.0.0.1:4001", "/organizations"],
    [["/organizations", undefined, "http://reg.example:8080"], "http://reg.example:8080", "/organizations"],
    [["/x", "ingestion", "http://reg.example:8080"], "http://127.0.0.1:4002", "/x"],
    [["/x", "meter-read", undefined], "http://127.0.0.1:4004", "/x"],
    [["/x", "http://svc.example:9000/", undefined], "http://svc.example:9000", "/x"],
    [
      ["http://127.0.0.1:4003/v1/orgs/o/chargers?limit=2", undefined, undefined],
      "http://127.0.0.1:4003",
      "/v1/orgs/o/chargers?limit=2",
    ],
  ] as const)("%j → %s %s", ([target, service, registry], baseUrl, path) => {
    expect(resolveTarget(target, service, registry)).toMatchObject({ baseUrl, path });
  });

  it("takes a service's URL from ENERGY_<SERVICE>_URL first", () => {
    const env = { ENERGY_METER_READ_URL: "http://mr:1", ENERGY_REGISTRY_URL: "http://reg:2" };
    expect(serviceUrl("meter-read", { env })).toBe("http://mr:1");
    expect(serviceUrl("registry", { env, sessionRegistryUrl: "http://session:3" })).toBe("http://reg:2");
    expect(serviceUrl("registry", { env: {}, sessionRegistryUrl: "http://session:3" })).toBe(
      "http://session:3",
    );
  });

  it("refuses a path that is neither /… nor a URL, and an unknown service", () => {
    expect(() => resolveTarget("organizations", undefined, undefined)).toThrow(/must start with \//);
    expect(() => resolveTarget("/x", "billing", undefined)).toThrow(/unknown service "billing"/);
  });
});
