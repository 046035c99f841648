import type { MemberRole } from "@energy/contracts";
import { describe, expect, it } from "vitest";
import { addMemberViolation, mayGrant, removalViolation, roleChangeViolation } from "../src/domain/roles.ts";

const ROLES: MemberRole[] = ["owner", "admin", "operator", "viewer"];

describe("who may grant what in an organization", () => {
  it.each([
    // caller, roles it may invite
    ["owner", ["admin", "operator", "viewer"]],
    ["admin", ["admin", "operator", "viewer"]],
    ["operator", ["operator", "viewer"]],
    ["viewer", ["viewer"]],
  ] as [MemberRole, MemberRole[]][])("%s invites %j, never owner", (caller, allowed) => {
    expect(ROLES.filter((role) => mayGrant(caller, role))).toEqual(allowed);
  });

  it.each([
    ["owner", "owner", null],
    ["admin", "owner", "Only an owner may add an owner"],
    ["admin", "admin", null],
    ["owner", "viewer", null],
  ] as [MemberRole, MemberRole, string | null][])("%s adds a member as %s: %s", (caller, role, violation) => {
    expect(addMemberViolation(caller, role)).toBe(violation);
  });

  const forbidden = { code: "forbidden", message: "Only an owner may grant or take away the owner role" };
  const lastOwner = { code: "last_owner", message: "identityId: the organization's last owner" };
  it.each([
    { caller: "owner", from: "admin", to: "owner", owners: 1, violation: null },
    { caller: "admin", from: "admin", to: "owner", owners: 1, violation: forbidden },
    { caller: "admin", from: "owner", to: "admin", owners: 2, violation: forbidden },
    { caller: "owner", from: "owner", to: "admin", owners: 2, violation: null },
    { caller: "owner", from: "owner", to: "viewer", owners: 1, violation: lastOwner },
    { caller: "admin", from: "viewer", to: "operator", owners: 1, violation: null },
    { caller: "admin", from: "viewer", to: "viewer", owners: 1, violation: null },
  ] as const)(
    "$caller changes $from → $to with $owners owner(s)",
    ({ caller, from, to, owners, violation }) => {
      expect(roleChangeViolation(caller, from, to, owners)).toEqual(violation);
    },
  );

  it.each([
    { caller: "admin", role: "operator", owners: 1, violation: null },
    {
      caller: "admin",
      role: "owner",
      owners: 2,
      violation: { code: "forbidden", message: "Only an owner may remove an owner" },
    },
    { caller: "owner", role: "owner", owners: 2, violation: null },
    { caller: "owner", role: "owner", owners: 1, violation: lastOwner },
  ] as const)("$caller removes a $role with $owners owner(s)", ({ caller, role, owners, violation }) => {
    expect(removalViolation(caller, role, owners)).toEqual(violation);
  });
});
