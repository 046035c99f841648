import { fileURLToPath } from "node:url";
import { defineService } from "@energy/service-kit";
import { buildApp } from "./app.ts";
import { ConfigSchema } from "./config.ts";
import { ingestionLiveness } from "./consumers/ingestion-liveness.ts";
import { reservationReservations } from "./consumers/reservation-reservations.ts";
import { createDb } from "./db.ts";
import { createImportReportMailer } from "./imports/report-mail.ts";
import { createImportWorker } from "./imports/worker.ts";
import { createMailSender } from "./reservation-mails.ts";
import { ensureRootIdentity } from "./root-identity.ts";

/**
 * The registry, declared: the runtime (packages/service-kit) builds config → database → producer →
 * outbox relay → the import worker → app → root identity → the liveness and reservation consumers → the import job loop
 * and the reservation mail sender, and closes them in reverse.
 */
export const registry = defineService({
  name: "registry",
  dir: fileURLToPath(new URL("..", import.meta.url)),
  configSchema: ConfigSchema,
  database: { create: (config) => createDb(config.DATABASE_URL), close: (db) => db.$disconnect() },
  context: ({ db, config, published }) => {
    const importMailer = createImportReportMailer(config);
    const mailSender = createMailSender({
      db,
      smtpUrl: config.SMTP_URL,
      from: config.MAIL_FROM,
      retryBaseMs: config.MAIL_RETRY_BASE_MS,
      maxAttempts: config.MAIL_MAX_ATTEMPTS,
    });
    return {
      importMailer,
      importWorker: createImportWorker({ db, mailer: importMailer, published }),
      mailSender,
    };
  },
  app: buildApp,
  onStart: async ({ db, config, log }) => {
    if (config.ROOT_PUBLIC_KEY && (await ensureRootIdentity(db, config.ROOT_PUBLIC_KEY))) {
      log.info("created the root identity from ROOT_PUBLIC_KEY");
    }
  },
  consumers: [
    { group: "ingestion-liveness", subscriptions: [ingestionLiveness] },
    // device-group protection (src/reserved-devices.ts) and the device owners' mails (src/reservation-mails.ts)
    { group: "reservations", subscriptions: [reservationReservations] },
  ],
  jobs: [
    {
      // bulk CSV onboarding: a job left running resumes at the next start
      name: "import worker",
      start: ({ importWorker, importMailer, log }) => {
        importWorker.start(log);
        return {
          async stop() {
            await importWorker.stop();
            importMailer.close();
          },
        };
      },
    },
    {
      // the device owners' reservation mails queued by the reservations consumer (mail_outbox), with retries
      name: "reservation mail sender",
      start: ({ mailSender, log }) => {
        mailSender.start(log);
        return { stop: () => mailSender.stop() };
      },
    },
  ],
});
