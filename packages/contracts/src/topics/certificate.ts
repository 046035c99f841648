import { z } from "zod";
import { IdSchema, WattHoursSchema } from "../primitives.ts";
import { defineTopic } from "../topic.ts";

const TxHashSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte transaction hash");

export const certificateTopics = {
  certificateCertificate: defineTopic({
    name: "certificate.certificate.v1",
    owner: "certificate",
    key: "reservation id",
    keyOf: (p) => p.reservationId,
    events: {
      "certificate.issued": z.object({
        requestId: IdSchema,
        reservationId: IdSchema,
        /** ERC-1155 token id as a decimal string (it may exceed 2^53). */
        tokenId: z.string().regex(/^\d+$/, "must be a decimal string"),
        txHash: TxHashSchema,
        chainId: z.int().positive(),
        energyWh: WattHoursSchema.positive(),
      }),
      "certificate.failed": z.object({
        requestId: IdSchema,
        reservationId: IdSchema,
        /** null when the transaction was never sent. */
        txHash: TxHashSchema.nullable(),
        chainId: z.int().positive(),
        reason: z.string().min(1),
      }),
    },
  }),
};
