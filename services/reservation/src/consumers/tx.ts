import type { EventHandler, HandlerContext } from "@energy/kafka";
import type { Prisma } from "../generated/prisma/client.ts";

export type Tx = Prisma.TransactionClient;

/** The runner's transaction (which also records the envelope id, so an effect is applied once). */
export function txOf(ctx: HandlerContext): Tx {
  if (!ctx.tx) throw new Error("this consumer needs the runner's database transaction");
  return ctx.tx as unknown as Tx;
}

/** A handler that works in the runner's transaction. */
export const inTx =
  <P>(apply: (tx: Tx, payload: P, ctx: HandlerContext) => Promise<unknown>): EventHandler<P> =>
  async (payload, ctx) => {
    await apply(txOf(ctx), payload, ctx);
  };
