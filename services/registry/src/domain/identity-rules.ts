import type { IdentityType } from "@energy/contracts";

/** Identity types that can be registered through the API (root only comes from ROOT_PUBLIC_KEY). */
export type RegistrableType = Exclude<IdentityType, "root">;

const MACHINES = ["gateway", "device", "integration"] as const;

/**
 * Who may register whom:
 * root and admin → users, admins and machines; user → machines (gateway, device, integration);
 * a machine → nobody. Nobody registers a root.
 */
export const MAY_REGISTER: Record<IdentityType, readonly RegistrableType[]> = {
  root: ["user", "admin", ...MACHINES],
  admin: ["user", "admin", ...MACHINES],
  user: MACHINES,
  gateway: [],
  device: [],
  integration: [],
};

export function mayRegister(caller: IdentityType, type: IdentityType): boolean {
  return (MAY_REGISTER[caller] as readonly IdentityType[]).includes(type);
}

/** An identity may revoke itself; root and admin may revoke anyone but the root. */
export function mayRevokeIdentity(
  caller: { id: string; type: IdentityType },
  target: { id: string; type: IdentityType },
): boolean {
  if (target.type === "root") return false;
  return caller.id === target.id || caller.type === "root" || caller.type === "admin";
}
