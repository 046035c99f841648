import { consumersFor } from "@energy/kafka";
import type { ServiceContext } from "@energy/service-kit";
import type { Config } from "./config.ts";
import type { Db } from "./db.ts";
import type { Prisma } from "./generated/prisma/client.ts";
import type { ImportReportMailer } from "./imports/report-mail.ts";
import type { ImportWorker } from "./imports/worker.ts";
import type { MailSender } from "./reservation-mails.ts";

/** A transaction of the registry's database (what a consumer's handler gets as `tx`). */
export type Tx = Prisma.TransactionClient;

/** What the registry's routes, consumers and jobs share (built by the runtime: see service.ts). */
export interface RegistryShared {
  /** runs bulk CSV imports (a job of the runtime); the import routes wake it when a job is queued */
  importWorker: ImportWorker;
  importMailer: ImportReportMailer;
  /** sends mail_outbox (the device owners' reservation mails; a job of the runtime); the consumer wakes it */
  mailSender: MailSender;
}

export type RegistryContext = ServiceContext<Config, Db, RegistryShared>;

/** Subscriptions typed for the registry's transaction and context: one file per consumed topic uses them. */
export const { defineSubscription } = consumersFor<Tx, RegistryContext>();
