import { z } from "zod";
import { IdSchema, IsoDateTimeSchema, WattHoursSchema } from "../primitives.ts";
import { defineTopic } from "../topic.ts";

const TxHashSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte transaction hash");
/** keccak256 of the certificate's canonical JSON document, 0x-hex (the token's data on chain). */
const DocumentHashSchema = z.string().regex(/^0x[0-9a-f]{64}$/, "must be a 0x-prefixed lowercase keccak256");
const AddressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte address");
/** ERC-1155 token id as a decimal string (it may exceed 2^53). */
const TokenIdSchema = z.string().regex(/^\d+$/, "must be a decimal string");

export const GasTierNameSchema = z.enum(["fast", "standard", "slow"]);

/** Who a result is about: the request (reservation's idempotent window request) and the certificate. */
const CertificateRefSchema = z.object({
  /** The transaction certificate id (uuid), also in the document and the issuance log. */
  certificateId: z.uuid(),
  requestId: IdSchema,
  reservationId: IdSchema,
});

export const certificateTopics = {
  certificateCertificate: defineTopic({
    name: "certificate.certificate.v1",
    owner: "certificate",
    key: "reservation id",
    keyOf: (p) => p.reservationId,
    events: {
      /** The request was accepted: its document is stored and its mint is queued. */
      "certificate.requested": CertificateRefSchema.extend({
        buyerOrgId: IdSchema,
        ownerAddress: AddressSchema,
        energyWh: WattHoursSchema.positive(),
        window: z.object({ start: IsoDateTimeSchema, end: IsoDateTimeSchema }),
        documentHash: DocumentHashSchema,
        tier: GasTierNameSchema,
      }),
      /**
       * Mined (not yet final). Published again, with the new transaction and token id, when a
       * reorganization dropped the first mint and it was mined again.
       */
      "certificate.issued": CertificateRefSchema.extend({
        tokenId: TokenIdSchema,
        txHash: TxHashSchema,
        chainId: z.int().positive(),
        blockNumber: z.int().min(0),
        ownerAddress: AddressSchema,
        energyWh: WattHoursSchema.positive(),
        documentHash: DocumentHashSchema,
      }),
      /** The mint has the configured number of blocks on top of it. */
      "certificate.confirmed": CertificateRefSchema.extend({
        tokenId: TokenIdSchema,
        txHash: TxHashSchema,
        chainId: z.int().positive(),
        blockNumber: z.int().min(0),
        confirmations: z.int().positive(),
        energyWh: WattHoursSchema.positive(),
      }),
      /** The request cannot be issued (never retried further). */
      "certificate.failed": CertificateRefSchema.extend({
        /** null when the transaction was never sent. */
        txHash: TxHashSchema.nullable(),
        chainId: z.int().positive(),
        energyWh: WattHoursSchema,
        reason: z.string().min(1),
      }),
      /** Part or all of a certificate retired for a beneficiary (through the API or seen on chain). */
      "certificate.claimed": CertificateRefSchema.extend({
        claimId: z.uuid(),
        tokenId: TokenIdSchema,
        ownerAddress: AddressSchema,
        amountWh: WattHoursSchema.positive(),
        beneficiary: z.string(),
        txHash: TxHashSchema,
        chainId: z.int().positive(),
        source: z.enum(["api", "chain"]),
      }),
      /**
       * A claim seen on chain (source "chain", published as certificate.claimed) whose block a
       * reorganization deeper than the service's confirmations dropped: it no longer counts. The same
       * transaction may be seen again in a new block and is then published as a new claim.
       */
      "certificate.unclaimed": CertificateRefSchema.extend({
        claimId: z.uuid(),
        tokenId: TokenIdSchema,
        ownerAddress: AddressSchema,
        amountWh: WattHoursSchema.positive(),
        txHash: TxHashSchema,
        chainId: z.int().positive(),
        droppedBlock: z.int().min(0),
      }),
    },
  }),
};
