import type { ActionHandler } from "../../central/handler.ts";

/** 1.6 DataTransfer: no vendor extensions are known here, so every vendor is UnknownVendorId (spec §4.3). */
export const dataTransfer: ActionHandler<{
  vendorId: string;
  messageId?: string;
  data?: string;
}> = async () => ({
  status: "UnknownVendorId",
});
