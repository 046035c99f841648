import { IdSchema, type MemberRole } from "@energy/contracts";
import type { RequireOrgRole } from "@energy/service-kit";
import type { JsonRpcProvider } from "ethers";
import { z } from "zod";
import type { Db } from "../db.ts";

/** Who may read an organization's certificates: every member. */
export const READERS = ["owner", "admin", "operator", "viewer"] as const satisfies readonly MemberRole[];
/** Who may retire them: owners and admins. */
export const CLAIMERS = ["owner", "admin"] as const satisfies readonly MemberRole[];

export interface RouteDeps {
  db: Db;
  requireOrgRole: RequireOrgRole;
  provider: JsonRpcProvider;
  registryAddress: string;
  chainId: number;
  /** wakes the chain sender after queuing a claim */
  nudgeChain: () => void;
}

export const OrgParams = z.object({ orgId: IdSchema });
export const CertificateParams = OrgParams.extend({ certificateId: z.uuid() });

type CertificateRow = Awaited<ReturnType<Db["certificate"]["findFirstOrThrow"]>>;

export const CertificateView = z.object({
  certificateId: z
    .string()
    .describe("the transaction certificate id (also in the document and the issuance log)"),
  requestId: z.string(),
  reservationId: z.string(),
  buyerOrgId: z.string(),
  ownerAddress: z.string(),
  deviceIds: z.array(z.string()),
  periodStart: z.iso.datetime(),
  periodEnd: z.iso.datetime(),
  energyWh: z.number().int(),
  claimedWh: z.number().int(),
  status: z.enum(["requested", "issued", "confirmed", "failed"]),
  failureReason: z.string().nullable(),
  documentHash: z.string().describe("keccak256 of the canonical JSON document: the token's data on chain"),
  chainId: z.number().int(),
  registryAddress: z.string(),
  tokenId: z.string().nullable(),
  txHash: z.string().nullable(),
  blockNumber: z.number().int().nullable(),
  confirmations: z
    .number()
    .int()
    .describe("blocks on top of the mint, its own included; 0 before it is mined"),
  document: z.record(z.string(), z.unknown()).optional(),
});

export function certificateView(
  c: CertificateRow,
  ctx: { chainId: number; registryAddress: string; head: number },
  withDocument = false,
): z.infer<typeof CertificateView> {
  const block = c.blockNumber === null ? null : Number(c.blockNumber);
  return {
    certificateId: c.id,
    requestId: c.requestId,
    reservationId: c.reservationId,
    buyerOrgId: c.buyerOrgId,
    ownerAddress: c.ownerAddress,
    deviceIds: c.deviceIds,
    periodStart: c.periodStart.toISOString(),
    periodEnd: c.periodEnd.toISOString(),
    energyWh: Number(c.energyWh),
    claimedWh: Number(c.claimedWh),
    status: c.status as "requested",
    failureReason: c.failureReason,
    documentHash: c.documentHash,
    chainId: ctx.chainId,
    registryAddress: ctx.registryAddress,
    tokenId: c.tokenId,
    txHash: c.txHash,
    blockNumber: block,
    confirmations: block === null ? 0 : Math.max(0, ctx.head - block + 1),
    ...(withDocument ? { document: c.document as Record<string, unknown> } : {}),
  };
}
