/** What the community routes share: lookups that answer 404, the checks of members and assets, helpers. */
import { type CommunityAssetTypeSchema, IdSchema } from "@energy/contracts";
import { badRequest, conflict, type ErrorCodeOfStatus, notFound } from "@energy/service-kit";
import { z } from "zod";
import type { Db } from "../db.ts";
import {
  AreasSchema,
  type AssetRelationships,
  assetPropertiesViolation,
  relationshipViolation,
} from "../domain/community-rules.ts";
import type { Community as CommunityRow, Prisma } from "../generated/prisma/client.ts";
import { isUniqueViolation, ruleError } from "../routes/access.ts";

export type Tx = Prisma.TransactionClient | Db;

export const text = (max = 200) => z.string().trim().min(1).max(max);
export const json = z.unknown();

export const OrgParams = z.object({ orgId: IdSchema });
export const CommunityParams = OrgParams.extend({ key: IdSchema });

/** The columns a body sets; absent fields stay as they are. */
export function defined<T extends Record<string, unknown>>(body: T): Partial<T> {
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined)) as Partial<T>;
}

export async function unique<T>(
  code: ErrorCodeOfStatus<409>,
  message: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw isUniqueViolation(error) ? conflict(code, message) : error;
  }
}

export async function findCommunity(tx: Tx, orgId: string, key: string) {
  const community = await tx.community.findUnique({ where: { orgId_key: { orgId, key } } });
  if (!community) throw notFound("community");
  return community;
}

export async function findMember(tx: Tx, communityId: string, key: string) {
  const member = await tx.communityMember.findUnique({ where: { communityId_key: { communityId, key } } });
  if (!member) throw notFound("member");
  return member;
}

export async function findAsset(tx: Tx, communityId: string, key: string) {
  const asset = await tx.communityAsset.findUnique({ where: { communityId_key: { communityId, key } } });
  if (!asset) throw notFound("asset");
  return asset;
}

/** The member's identity must exist and its area must be one of the community's areas. */
export async function checkMember(
  tx: Tx,
  community: CommunityRow,
  member: { identityId?: string | null | undefined; area?: string | null | undefined },
) {
  if (member.identityId) {
    const identity = await tx.identity.findUnique({
      where: { id: member.identityId },
      select: { id: true },
    });
    if (!identity) {
      throw badRequest("unknown_identity", `identityId: no identity ${member.identityId}`, {
        field: "identityId",
      });
    }
  }
  if (member.area) {
    const areas = AreasSchema.safeParse(community.areas);
    if (!areas.success || !(member.area in areas.data)) {
      throw badRequest("unknown_area", `area: the community has no area ${member.area}`, { field: "area" });
    }
  }
}

/** An asset's owner, properties and relationships, checked against its community. */
export async function checkAsset(
  tx: Tx,
  communityId: string,
  asset: {
    key: string;
    assetType: z.infer<typeof CommunityAssetTypeSchema>;
    ownerMemberKey: string;
    properties: unknown;
    relationships: AssetRelationships;
  },
) {
  const propertyViolation = assetPropertiesViolation(asset.assetType, asset.properties);
  if (propertyViolation) throw ruleError(propertyViolation);
  const owner = await tx.communityMember.findUnique({
    where: { communityId_key: { communityId, key: asset.ownerMemberKey } },
    select: { key: true },
  });
  if (!owner) {
    throw badRequest(
      "unknown_member",
      `ownerMemberKey: no member ${asset.ownerMemberKey} in this community`,
      {
        field: "ownerMemberKey",
      },
    );
  }
  const named = [...(asset.relationships.measures ?? []), ...(asset.relationships.pairedWith ?? [])];
  if (named.length > 0) {
    const found = await tx.communityAsset.findMany({
      where: { communityId, key: { in: named } },
      select: { key: true },
    });
    const violation = relationshipViolation(asset.key, asset.relationships, new Set(found.map((a) => a.key)));
    if (violation) throw ruleError(violation);
  }
}
