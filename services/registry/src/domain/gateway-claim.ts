/**
 * What a gateway signs to prove its possession to the organization claiming it: the registry's single-use
 * nonce with the gateway's and the organization's ids, one per line, as UTF-8. Naming the organization
 * means a signature shown to one organization cannot be replayed by another; the first line keeps it from
 * ever passing as a login signature (a login signs the bare nonce).
 */
export function claimMessage(claim: { gatewayId: string; orgId: string; nonce: string }): string {
  return [
    "energy-platform gateway claim v1",
    `gateway: ${claim.gatewayId}`,
    `organization: ${claim.orgId}`,
    `nonce: ${claim.nonce}`,
  ].join("\n");
}
