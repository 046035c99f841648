import type { EventHandler, HandlerContext } from "@energy/kafka";
import type { Tx } from "../db.ts";

const txOf = (ctx: HandlerContext): Tx => {
  if (!ctx.tx) throw new Error("the registry projection needs a database transaction");
  return ctx.tx as unknown as Tx;
};

/** A handler that gets the runner's transaction (which also records the envelope id: applied once). */
export const inTx =
  <P>(apply: (tx: Tx, payload: P) => Promise<unknown>): EventHandler<P> =>
  async (payload, ctx) => {
    await apply(txOf(ctx), payload);
  };
