import { getAddress, ZeroAddress } from "ethers";

export type AddressCheck = { ok: true; address: string } | { ok: false; reason: string };

/**
 * Whether certificates can be minted to `raw`: a 20-byte hex address, not the zero address (tokens sent
 * there are lost), and when written in mixed case, with a valid EIP-55 checksum (a typo in one
 * character is then caught). Returns the checksummed form.
 */
export function checkTargetAddress(raw: string): AddressCheck {
  if (!/^0x[0-9a-fA-F]{40}$/.test(raw))
    return { ok: false, reason: `invalid address ${raw}: not 20 hex bytes` };
  let address: string;
  try {
    address = getAddress(raw);
  } catch {
    return { ok: false, reason: `invalid address ${raw}: bad EIP-55 checksum` };
  }
  if (address === ZeroAddress) return { ok: false, reason: "invalid address: the zero address" };
  return { ok: true, address };
}
