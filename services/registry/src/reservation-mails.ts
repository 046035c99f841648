import { createHash } from "node:crypto";
import { Wakeup } from "@energy/service-kit";
import nodemailer from "nodemailer";
import type { Tx } from "./context.ts";
import type { Db } from "./db.ts";

/**
 * The device owners' mails about buyers' reservations (issue 13: "device owners are notified of every
 * reservation of their devices"). The reservation consumer (src/consumers/reservation-reservations.ts) writes
 * them into `mail_outbox` in the transaction that applies the event, one per device-owning organization and
 * member email (`queueReservationMails`); a job of the runtime sends them (`createMailSender`). So:
 * - an event applied has its mails stored (same commit), an event not applied has none: a crash between
 *   consuming and sending loses nothing, the next sender pass (this process or another) sends them;
 * - a redelivered event is skipped by the runner (processed_message), and the outbox's primary key
 *   (event id, organization, recipient) makes a second write of the same mail a no-op: it is sent once;
 * - a mail is claimed by a lease before it is sent (`next_attempt_at` moved past the send's longest time, in a
 *   short transaction with SKIP LOCKED, so two instances never take the same mail) and marked sent right after
 *   the SMTP server accepted it. Only a process dying in the moment between the server's acceptance and that
 *   mark sends a mail twice (after the lease); every mail carries a Message-ID derived from its key, so a
 *   mail client shows such a copy as the same message.
 */

export type ReservationMailKind = "created" | "updated" | "ended";

/** What a mail says about the reservation (the reservation_notice projection). */
export interface ReservationFacts {
  reservationId: string;
  name: string;
  buyerOrgId: string;
  buyerOrgName: string;
  start: Date;
  end: Date;
  frequency: string;
  timezone: string;
}

export interface MailDevice {
  deviceId: string;
  name: string;
  externalId: string | null;
}

/** One organization's mail about one event: its devices concerned, by what happened to them. */
export interface ReservationMailContent {
  kind: ReservationMailKind;
  reservation: ReservationFacts;
  orgId: string;
  orgName: string;
  /** created: the devices reserved; updated: the devices added */
  added: MailDevice[];
  /** updated: the devices removed, each with the end of its cool-down (null: the event did not say) */
  removed: (MailDevice & { availableAgainAt: Date | null })[];
  /** ended: the devices of the reservation, free again at `availableAgainAt` */
  ended: MailDevice[];
  endReason?: string;
  endedAt?: Date;
  availableAgainAt?: Date;
}

/** A header-safe line: control characters (line breaks) become spaces, at most `max` characters. */
const oneLine = (text: string, max = 120) => {
  const line = text.replace(/[\p{Cc}\u2028\u2029]+/gu, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

export function reservationMailSubject(mail: ReservationMailContent): string {
  const r = mail.reservation;
  const what = `reservation "${r.name}" of ${r.buyerOrgName}`;
  switch (mail.kind) {
    case "created":
      return oneLine(`Your devices are in the ${what}`);
    case "updated":
      return oneLine(
        `Devices ${[mail.added.length > 0 ? "added to" : "", mail.removed.length > 0 ? "removed from" : ""]
          .filter(Boolean)
          .join(" and ")} the ${what}`,
      );
    case "ended":
      return oneLine(`The ${what} has ended`);
  }
}

const deviceLine = (d: MailDevice) =>
  `  ${d.deviceId} ${oneLine(d.name, 200)}${d.externalId ? ` (external id ${oneLine(d.externalId, 200)})` : ""}`;

/** The plain-text body: the organization's devices concerned, the buyer, the reservation's name, period and frequency. */
export function reservationMailText(mail: ReservationMailContent): string {
  const r = mail.reservation;
  const intro = {
    created: `${r.buyerOrgName} has reserved devices of ${mail.orgName} on the Energy Platform.`,
    updated: `${r.buyerOrgName} has changed the devices of ${mail.orgName} in a reservation on the Energy Platform.`,
    ended: `A reservation of devices of ${mail.orgName} on the Energy Platform has ended${
      mail.endReason ? ` (${mail.endReason.replaceAll("_", " ")})` : ""
    }${mail.endedAt ? ` at ${mail.endedAt.toISOString()}` : ""}.`,
  }[mail.kind];
  const lines = [
    "Hello,",
    "",
    intro,
    "",
    `Reservation: ${oneLine(r.name, 200)} (${r.reservationId})`,
    `Buyer: ${oneLine(r.buyerOrgName, 200)} (organization id ${r.buyerOrgId})`,
    `Period: ${r.start.toISOString()} to ${r.end.toISOString()} (windows cut in ${r.timezone})`,
    `Frequency: ${r.frequency}`,
    `Your organization: ${oneLine(mail.orgName, 200)} (organization id ${mail.orgId})`,
  ];
  if (mail.added.length > 0) {
    lines.push(
      "",
      mail.kind === "created"
        ? `Your devices in the reservation (${mail.added.length}):`
        : `Devices added (${mail.added.length}):`,
    );
    for (const d of mail.added) lines.push(deviceLine(d));
  }
  if (mail.removed.length > 0) {
    lines.push("", `Devices removed (${mail.removed.length}):`);
    for (const d of mail.removed) {
      lines.push(
        `${deviceLine(d)}${d.availableAgainAt ? `, unavailable to other buyers until ${d.availableAgainAt.toISOString()}` : ""}`,
      );
    }
  }
  if (mail.ended.length > 0) {
    lines.push("", `Your devices in the reservation (${mail.ended.length}):`);
    for (const d of mail.ended) lines.push(deviceLine(d));
    if (mail.availableAgainAt) {
      lines.push(
        "",
        `They can be reserved again from ${mail.availableAgainAt.toISOString()} (the 12-hour cool-down).`,
      );
    }
  }
  lines.push(
    "",
    "While a device is in a reservation or its cool-down, its device groups cannot change.",
    "",
    "Best regards,",
    "Energy Platform",
  );
  return lines.join("\n");
}

/** Who gets a mail of an organization: its members whose email the registry knows (from their accepted invitation). */
export async function memberEmails(tx: Tx, orgIds: readonly string[]): Promise<Map<string, string[]>> {
  const byOrg = new Map<string, string[]>();
  if (orgIds.length === 0) return byOrg;
  // A member's email: the one of the invitation the identity accepted (this organization's first, else its latest
  // elsewhere); members without one (added by id, never invited) and revoked identities are skipped.
  const rows = await tx.$queryRaw<{ org_id: string; email: string }[]>`
    SELECT DISTINCT ON (m.org_id, m.identity_id) m.org_id, lower(i.email) AS email
    FROM membership m
    JOIN identity id ON id.id = m.identity_id AND id.revoked_at IS NULL
    JOIN invitation i ON i.accepted_identity_id = m.identity_id AND i.status = 'accepted'
    WHERE m.org_id = ANY(${[...orgIds]}::text[])
    ORDER BY m.org_id, m.identity_id, (i.org_id = m.org_id) DESC, i.accepted_at DESC NULLS LAST`;
  for (const row of rows) {
    const list = byOrg.get(row.org_id) ?? [];
    if (!list.includes(row.email)) list.push(row.email);
    byOrg.set(row.org_id, list);
  }
  return byOrg;
}

export interface ReservationChange {
  kind: ReservationMailKind;
  reservation: ReservationFacts;
  added?: readonly string[];
  removed?: readonly { deviceId: string; availableAgainAt: Date | null }[];
  ended?: readonly string[];
  endReason?: string;
  endedAt?: Date;
  availableAgainAt?: Date;
}

/**
 * Writes the mails of one event into mail_outbox, in the consumer's transaction: for each organization owning a
 * device concerned (the registry's own devices: a device it does not know is left out), one mail per member email
 * listing that organization's devices only. Returns how many mails were queued.
 */
export async function queueReservationMails(
  tx: Tx,
  eventId: string,
  change: ReservationChange,
): Promise<number> {
  const added = change.added ?? [];
  const removed = change.removed ?? [];
  const ended = change.ended ?? [];
  const ids = [...new Set([...added, ...removed.map((d) => d.deviceId), ...ended])];
  if (ids.length === 0) return 0;
  const devices = await tx.device.findMany({
    where: { id: { in: ids } },
    select: { id: true, orgId: true, name: true, externalId: true },
    orderBy: { id: "asc" },
  });
  const byId = new Map(devices.map((d) => [d.id, d]));
  const orgIds = [...new Set(devices.map((d) => d.orgId))].sort();
  if (orgIds.length === 0) return 0;
  const [orgs, emails, buyer] = await Promise.all([
    tx.organization.findMany({ where: { id: { in: orgIds } }, select: { id: true, name: true } }),
    memberEmails(tx, orgIds),
    tx.organization.findUnique({ where: { id: change.reservation.buyerOrgId }, select: { name: true } }),
  ]);
  const reservation = { ...change.reservation, buyerOrgName: buyer?.name ?? change.reservation.buyerOrgName };
  const orgName = new Map(orgs.map((o) => [o.id, o.name]));
  const of = (orgId: string, deviceIds: readonly string[]): MailDevice[] =>
    [...deviceIds]
      .sort()
      .map((id) => byId.get(id))
      .filter((d) => d !== undefined && d.orgId === orgId)
      .map((d) => ({ deviceId: d!.id, name: d!.name, externalId: d!.externalId }));
  const rows: {
    eventId: string;
    orgId: string;
    recipient: string;
    kind: string;
    subject: string;
    body: string;
  }[] = [];
  for (const orgId of orgIds) {
    const recipients = emails.get(orgId) ?? [];
    if (recipients.length === 0) continue;
    const until = new Map(removed.map((d) => [d.deviceId, d.availableAgainAt]));
    const content: ReservationMailContent = {
      kind: change.kind,
      reservation,
      orgId,
      orgName: orgName.get(orgId) ?? orgId,
      added: of(orgId, added),
      removed: of(
        orgId,
        removed.map((d) => d.deviceId),
      ).map((d) => ({ ...d, availableAgainAt: until.get(d.deviceId) ?? null })),
      ended: of(orgId, ended),
      ...(change.endReason ? { endReason: change.endReason } : {}),
      ...(change.endedAt ? { endedAt: change.endedAt } : {}),
      ...(change.availableAgainAt ? { availableAgainAt: change.availableAgainAt } : {}),
    };
    const subject = reservationMailSubject(content);
    const body = reservationMailText(content);
    for (const recipient of recipients) {
      rows.push({ eventId, orgId, recipient, kind: change.kind, subject, body });
    }
  }
  if (rows.length === 0) return 0;
  const { count } = await tx.mailOutbox.createMany({ data: rows, skipDuplicates: true });
  return count;
}

export interface MailSenderOptions {
  db: Db;
  smtpUrl: string;
  from: string;
  /** how often it looks for due mails when nobody woke it (default 1,000 ms) */
  pollIntervalMs?: number;
  /** the first retry's delay; doubled per failed attempt, at most 30 minutes (default 5,000 ms) */
  retryBaseMs?: number;
  /** attempts before a mail is given up (default 10) */
  maxAttempts?: number;
  /** mails claimed per pass (default 20) */
  batchSize?: number;
}

interface Log {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface MailSender {
  start(log: Log): void;
  /** finishes the mail under way, then stops */
  stop(): Promise<void>;
  /** mails were queued: look now (and again shortly, as the queuing transaction may not have committed yet) */
  wake(): void;
  /** one pass: claims due mails and sends them; returns how many it tried */
  pass(): Promise<number>;
}

/** How long a claimed mail is kept from other passes: longer than the transport's timeouts together. */
const LEASE_MS = 5 * 60_000;

type Claimed = {
  event_id: string;
  org_id: string;
  recipient: string;
  subject: string;
  body: string;
  attempts: number;
};

/** The background loop sending mail_outbox (a job of the runtime: see service.ts). */
export function createMailSender(opts: MailSenderOptions): MailSender {
  const { db } = opts;
  const pollIntervalMs = opts.pollIntervalMs ?? 1_000;
  const retryBaseMs = opts.retryBaseMs ?? 5_000;
  const maxAttempts = opts.maxAttempts ?? 10;
  const batchSize = opts.batchSize ?? 20;
  const transport = nodemailer.createTransport({
    url: opts.smtpUrl,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
  } as Parameters<typeof nodemailer.createTransport>[0]);
  let log: Log = { info() {}, warn() {}, error() {} };
  let running = false;
  let loop: Promise<void> | null = null;
  const wakeup = new Wakeup();
  const sleep = (ms: number) => wakeup.sleep(ms);
  const nudge = () => wakeup.nudge();

  async function claim(): Promise<Claimed[]> {
    return db.$queryRaw<Claimed[]>`
      UPDATE mail_outbox m SET next_attempt_at = now() + ${LEASE_MS} * interval '1 millisecond', attempts = m.attempts + 1
      FROM (
        SELECT event_id, org_id, recipient FROM mail_outbox
        WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
        ORDER BY next_attempt_at, created_at LIMIT ${batchSize}
        FOR UPDATE SKIP LOCKED
      ) due
      WHERE m.event_id = due.event_id AND m.org_id = due.org_id AND m.recipient = due.recipient
      RETURNING m.event_id::text AS event_id, m.org_id, m.recipient, m.subject, m.body, m.attempts`;
  }

  async function send(mail: Claimed): Promise<void> {
    const key = {
      eventId_orgId_recipient: { eventId: mail.event_id, orgId: mail.org_id, recipient: mail.recipient },
    };
    try {
      const tag = createHash("sha256").update(`${mail.org_id}\n${mail.recipient}`).digest("hex").slice(0, 16);
      await transport.sendMail({
        from: opts.from,
        to: mail.recipient,
        subject: mail.subject,
        text: mail.body,
        messageId: `<reservation.${mail.event_id}.${tag}@registry.energy>`,
      });
      await db.mailOutbox.update({ where: key, data: { sentAt: new Date(), lastError: null } });
    } catch (error) {
      const code = (error as { responseCode?: number }).responseCode;
      const permanent = code !== undefined && code >= 500 && code < 600;
      const message = String((error as Error).message ?? error).slice(0, 1_000);
      if (permanent || mail.attempts >= maxAttempts) {
        await db.mailOutbox.update({ where: key, data: { failedAt: new Date(), lastError: message } });
        log.error(
          { eventId: mail.event_id, orgId: mail.org_id, attempts: mail.attempts, err: message },
          "reservation mail given up",
        );
      } else {
        const delay = Math.min(30 * 60_000, retryBaseMs * 2 ** (mail.attempts - 1));
        await db.mailOutbox.update({
          where: key,
          data: { nextAttemptAt: new Date(Date.now() + delay), lastError: message },
        });
        log.warn(
          {
            eventId: mail.event_id,
            orgId: mail.org_id,
            attempts: mail.attempts,
            retryInMs: delay,
            err: message,
          },
          "reservation mail failed; retrying",
        );
      }
    }
  }

  async function pass(): Promise<number> {
    const mails = await claim();
    for (const [i, mail] of mails.entries()) {
      if (!running && loop) {
        // stopping: the mails not tried yet are given back at once (this attempt did not count)
        for (const left of mails.slice(i)) {
          await db.mailOutbox.update({
            where: {
              eventId_orgId_recipient: {
                eventId: left.event_id,
                orgId: left.org_id,
                recipient: left.recipient,
              },
            },
            data: { nextAttemptAt: new Date(), attempts: left.attempts - 1 },
          });
        }
        break;
      }
      await send(mail);
    }
    return mails.length;
  }

  async function run() {
    while (running) {
      let tried = 0;
      try {
        tried = await pass();
      } catch (error) {
        log.error({ err: error }, "reservation mail sender: unexpected error");
      }
      if (tried === 0 && running) await sleep(pollIntervalMs);
    }
  }

  return {
    start(l) {
      log = l;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wakeup.cancel();
      await loop;
      loop = null;
      transport.close();
    },
    wake() {
      nudge();
      setTimeout(nudge, 100).unref();
    },
    pass,
  };
}
