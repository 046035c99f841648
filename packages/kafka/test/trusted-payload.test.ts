import { topics } from "@energy/contracts";
import { describe, expect, it } from "vitest";
import { event, InvalidMessageError, prepareEvent } from "../src/index.ts";

// enqueueEvents' trustedPayload (meter-read's 10,000 reads per request): the payload is not parsed again,
// the event type still has to be one the topic declares.
describe("a trusted payload", () => {
  const org = { orgId: "org-1", name: "Org", kind: "developer", ownerIdentityId: "usr-1" } as const;

  it("is taken as it is, keyed and enveloped like a validated one", () => {
    const e = event(topics.registryOrganization, "organization.created", org);
    const trusted = prepareEvent("registry", e, { trustedPayload: true });
    const checked = prepareEvent("registry", e);
    expect(trusted.payload).toBe(e.payload);
    expect(trusted.key).toBe(checked.key);
    expect(trusted.envelope.type).toBe("organization.created");
  });

  it("still needs an event type of its topic", () => {
    const wrong = { topic: topics.registryOrganization, type: "organization.exploded", payload: org };
    expect(() => prepareEvent("registry", wrong, { trustedPayload: true })).toThrow(InvalidMessageError);
  });

  it("is parsed by its contract when not trusted", () => {
    const bad = { topic: topics.registryOrganization, type: "organization.created", payload: { orgId: 1 } };
    expect(() => prepareEvent("registry", bad)).toThrow(InvalidMessageError);
  });
});
