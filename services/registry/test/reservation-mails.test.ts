import { generateKeyPairSync, randomUUID } from "node:crypto";
import { type Reservation, topics } from "@energy/contracts";
import { EventProducer } from "@energy/kafka";
import { startService } from "@energy/service-kit";
import { waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registry } from "../src/service.ts";
import { startRegistry } from "./helpers.ts";
import { type CaughtMail, startSmtp } from "./smtp.ts";

/**
 * Device owners are told of every reservation of their devices: the reservation service's events
 * (reservation.reservation.v1, published here as it publishes them) reach the registry's "reservations"
 * consumer, which queues one mail per device-owning organization and member email (mail_outbox); the sender
 * job delivers them to a real SMTP server. Members' emails are the ones of the invitations they accepted
 * (through the real invitation routes); a member without one is skipped.
 */
const HOUR = 3_600_000;
const BUYER_ADDRESS = "0x410CB6672F7ebE397F866fC2CE1020cB18Ac6C5F";

type Registry = Awaited<ReturnType<typeof startRegistry>>;

/** The registry's organizations, sites and devices, and members who accepted an invitation by email. */
async function seed(r: Registry, smtp: Awaited<ReturnType<typeof startSmtp>>, prefix: string) {
  const call = (as: string, method: "POST", url: string, payload: object) =>
    r.app.inject({ method, url, headers: r.auth(as), payload });
  async function org(owner: string, name: string, kind: "developer" | "buyer") {
    await r.db.identity.create({ data: { id: owner, type: "user", name: owner } });
    const res = await call(owner, "POST", "/organizations", { name, kind });
    expect(res.statusCode).toBe(201);
    return res.json().id as string;
  }
  async function member(owner: string, orgId: string, email: string, role: "admin" | "viewer") {
    const before = smtp.mails.length;
    const invited = await call(owner, "POST", `/organizations/${orgId}/invitations`, {
      firstName: "M",
      lastName: email,
      email,
      role,
    });
    expect(invited.statusCode, invited.body).toBe(201);
    const mail = await waitFor("the invitation mail", () =>
      smtp.mails.slice(before).find((m) => m.to.includes(email)),
    );
    const otp = /One-time password: ([A-Z0-9]{12})/.exec(mail.text)?.[1];
    const publicKey = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" });
    const accepted = await r.app.inject({
      method: "POST",
      url: "/invitations/accept",
      payload: { email, orgId, otp, publicKey: publicKey.toString() },
    });
    expect(accepted.statusCode, accepted.body).toBe(201);
    return accepted.json().identityId as string;
  }
  async function devices(owner: string, orgId: string, names: string[]) {
    const site = await call(owner, "POST", `/organizations/${orgId}/sites`, { name: "S", timezone: "UTC" });
    const ids: string[] = [];
    for (const name of names) {
      const res = await call(owner, "POST", `/organizations/${orgId}/devices`, {
        siteId: site.json().id,
        type: "inverter",
        name,
        countryCode: "IND",
        externalId: `ext-${name}`,
      });
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json().id);
    }
    return ids;
  }
  const solar = await org(`usr-${prefix}-a`, "Solar Developer", "developer");
  const wind = await org(`usr-${prefix}-b`, "Wind Developer", "developer");
  const third = await org(`usr-${prefix}-c`, "Third Developer", "developer");
  const buyer = await org(`usr-${prefix}-buyer`, "Netflix Buyer", "buyer");
  const emails = {
    alice: `alice-${prefix}@solar.test`,
    bob: `bob-${prefix}@solar.test`,
    carol: `carol-${prefix}@wind.test`,
    dave: `dave-${prefix}@third.test`,
    eve: `eve-${prefix}@buyer.test`,
  };
  await member(`usr-${prefix}-a`, solar, emails.alice, "admin");
  await member(`usr-${prefix}-a`, solar, emails.bob, "viewer");
  await member(`usr-${prefix}-b`, wind, emails.carol, "viewer");
  await member(`usr-${prefix}-c`, third, emails.dave, "admin");
  await member(`usr-${prefix}-buyer`, buyer, emails.eve, "admin");
  const [a1, a2] = await devices(`usr-${prefix}-a`, solar, ["A1", "A2"]);
  const [b1] = await devices(`usr-${prefix}-b`, wind, ["B1"]);
  const [c1] = await devices(`usr-${prefix}-c`, third, ["C1"]);
  return { solar, wind, third, buyer, emails, a1: a1!, a2: a2!, b1: b1!, c1: c1! };
}

function snapshot(
  buyerOrgId: string,
  reservationId: string,
  deviceIds: string[],
  extra: Partial<Reservation> = {},
): Reservation {
  return {
    reservationId,
    name: "Netflix 2026",
    buyerOrgId,
    // the reservation service's name for the buyer (the registry's own wins)
    buyerOrganization: { orgId: buyerOrgId, name: buyerOrgId, blockchainAccountAddress: BUYER_ADDRESS },
    buyerAddress: BUYER_ADDRESS,
    deviceIds: [...deviceIds].sort(),
    devices: [],
    deviceOrgIds: [],
    start: "2026-11-01T00:00:00.000Z",
    end: "2027-11-01T00:00:00.000Z",
    frequency: "daily",
    timezone: "Asia/Kolkata",
    targetVolumeWh: null,
    authorityToExceed: false,
    status: "active",
    ...extra,
  };
}

const to = (mails: CaughtMail[], email: string) => mails.filter((m) => m.to.includes(email));
const about = (mails: CaughtMail[], reservationId: string) =>
  mails.filter((m) => m.text.includes(`(${reservationId})`));
const settle = () => new Promise((resolve) => setTimeout(resolve, 2_500));

describe("mails to device owners about reservations of their devices", () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let r: Registry;
  let reservationService: EventProducer;
  let s: Awaited<ReturnType<typeof seed>>;

  beforeAll(async () => {
    smtp = await startSmtp();
    r = await startRegistry(
      { SMTP_URL: smtp.url, MAIL_FROM: "Energy Platform <no-reply@energy.test>", MAIL_RETRY_BASE_MS: "200" },
      { consumers: true },
    );
    reservationService = new EventProducer(r.testKafka.kafka, {
      source: "reservation",
      topicPrefix: r.testKafka.topicPrefix,
    });
    await reservationService.connect();
    s = await seed(r, smtp, "m");
  });
  afterAll(async () => {
    await reservationService?.disconnect();
    await r?.close();
    await smtp?.close();
  });

  it("mails created, added/removed and ended to the owning organizations' members only, once each, redelivery included", async () => {
    const { emails } = s;
    const id = `res-${randomUUID()}`;
    const mails = () => about(smtp.mails, id);

    // created: A1 (Solar) and B1 (Wind)
    await reservationService.publish(
      topics.reservationReservation,
      "reservation.created",
      snapshot(s.buyer, id, [s.a1, s.b1]),
    );
    await waitFor("the created mails", () => mails().length === 3);
    await settle();
    expect(
      mails()
        .map((m) => m.to)
        .sort(),
    ).toEqual([[emails.alice], [emails.bob], [emails.carol]]);
    const [toAlice] = to(mails(), emails.alice);
    expect(toAlice?.subject).toBe('Your devices are in the reservation "Netflix 2026" of Netflix Buyer');
    expect(toAlice?.from).toBe("no-reply@energy.test");
    for (const fact of [
      "Netflix Buyer has reserved devices of Solar Developer",
      `Reservation: Netflix 2026 (${id})`,
      `Buyer: Netflix Buyer (organization id ${s.buyer})`,
      "Period: 2026-11-01T00:00:00.000Z to 2027-11-01T00:00:00.000Z (windows cut in Asia/Kolkata)",
      "Frequency: daily",
      `${s.a1} A1 (external id ext-A1)`,
    ]) {
      expect(toAlice?.text).toContain(fact);
    }
    // only its own organization's devices, no secrets (the buyer's wallet address is not in it)
    expect(toAlice?.text).not.toContain(s.b1);
    expect(toAlice?.text).not.toContain(BUYER_ADDRESS);
    expect(to(mails(), emails.carol)[0]?.text).toContain(`${s.b1} B1`);
    expect(to(mails(), emails.carol)[0]?.text).not.toContain(s.a1);

    // updated (PATCH): A1 out (cooling down until `until`), A2 in; Wind's B1 unchanged: Wind hears nothing
    const until = new Date(Date.now() + 12 * HOUR).toISOString();
    const update = snapshot(s.buyer, id, [s.a2, s.b1], {
      releasedDevices: [{ deviceId: s.a1, availableAgainAt: until }],
    });
    const envelope = await reservationService.publish(
      topics.reservationReservation,
      "reservation.updated",
      update,
    );
    await waitFor("the update mails", () => mails().length === 5);
    // the same event again, as a relay's resend after a crash carries it (same envelope id)
    await reservationService.publish(topics.reservationReservation, "reservation.updated", update, {
      id: envelope.id,
    });
    await settle();
    expect(mails().length).toBe(5);
    const updates = mails().slice(3);
    expect(updates.map((m) => m.to).sort()).toEqual([[emails.alice], [emails.bob]]);
    expect(updates[0]?.subject).toBe(
      'Devices added to and removed from the reservation "Netflix 2026" of Netflix Buyer',
    );
    expect(updates[0]?.text).toContain(`Devices added (1):\n  ${s.a2} A2`);
    expect(updates[0]?.text).toContain(
      `Devices removed (1):\n  ${s.a1} A1 (external id ext-A1), unavailable to other buyers until ${until}`,
    );
    expect(updates[0]?.text).not.toContain(s.b1);

    // ended: Solar's A2 (not A1, removed before) and Wind's B1
    const endedAt = new Date();
    const availableAgainAt = new Date(endedAt.getTime() + 12 * HOUR).toISOString();
    await reservationService.publish(topics.reservationReservation, "reservation.ended", {
      reservationId: id,
      buyerOrgId: s.buyer,
      reason: "cancelled",
      endedAt: endedAt.toISOString(),
      deviceIds: [s.a2, s.b1].sort(),
      availableAgainAt,
    });
    await waitFor("the ended mails", () => mails().length === 8);
    await settle();
    expect(mails().length).toBe(8);
    const ends = mails().slice(5);
    expect(ends.map((m) => m.to).sort()).toEqual([[emails.alice], [emails.bob], [emails.carol]]);
    const endToBob = to(ends, emails.bob)[0]!;
    expect(endToBob.subject).toBe('The reservation "Netflix 2026" of Netflix Buyer has ended');
    expect(endToBob.text).toContain(`has ended (cancelled) at ${endedAt.toISOString()}`);
    expect(endToBob.text).toContain("Frequency: daily");
    expect(endToBob.text).toContain(`Your devices in the reservation (1):\n  ${s.a2} A2`);
    expect(endToBob.text).toContain(`can be reserved again from ${availableAgainAt}`);
    expect(endToBob.text).not.toContain(s.a1);

    // nobody of the other organizations, the buyer, or members without an email (the owners) got one
    for (const email of [emails.dave, emails.eve]) expect(to(mails(), email)).toEqual([]);
    expect(new Set(mails().flatMap((m) => m.to))).toEqual(new Set([emails.alice, emails.bob, emails.carol]));
    // one message id per mail
    expect(new Set(mails().map((m) => m.messageId)).size).toBe(8);
  });

  it("retries a mail the SMTP server refused for now, and delivers it once", async () => {
    const id = `res-${randomUUID()}`;
    smtp.refuseOnce(s.emails.dave);
    await reservationService.publish(
      topics.reservationReservation,
      "reservation.created",
      snapshot(s.buyer, id, [s.c1]),
    );
    await waitFor("the retried mail", () => about(smtp.mails, id).length === 1, { timeoutMs: 20_000 });
    await settle();
    expect(about(smtp.mails, id).map((m) => m.to)).toEqual([[s.emails.dave]]);
    const [row] = await r.db.mailOutbox.findMany({
      where: { recipient: s.emails.dave, sentAt: { not: null } },
    });
    expect(row).toMatchObject({ attempts: 2, orgId: s.third, kind: "created" });
    expect(row?.lastError).toBeNull();
  });
});

describe("a registry that stops between consuming a reservation event and sending its mails", () => {
  it("sends them after its restart, once", async () => {
    const smtp = await startSmtp();
    // the first process consumes but never sends (its sender job is not running): as if it died right after
    const first = await startRegistry(
      { SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: "200" },
      { consumers: true, jobs: false },
    );
    const reservationService = new EventProducer(first.testKafka.kafka, {
      source: "reservation",
      topicPrefix: first.testKafka.topicPrefix,
    });
    let second: Awaited<ReturnType<typeof startService>> | undefined;
    let firstStopped = false;
    try {
      await reservationService.connect();
      const s = await seed(first, smtp, "k");
      const id = `res-${randomUUID()}`;
      await reservationService.publish(
        topics.reservationReservation,
        "reservation.created",
        snapshot(s.buyer, id, [s.a1]),
      );
      await waitFor("the mails queued", async () => (await first.db.mailOutbox.count()) === 2);
      await settle();
      expect(about(smtp.mails, id)).toEqual([]);
      await first.stop();
      firstStopped = true;

      // the same service again on the same database and topics, its sender running
      second = await startService(registry, { env: first.env });
      await second.consumersJoined;
      await waitFor("the mails sent", () => about(smtp.mails, id).length === 2);
      await settle();
      expect(
        about(smtp.mails, id)
          .map((m) => m.to)
          .sort(),
      ).toEqual([[s.emails.alice], [s.emails.bob]]);
    } finally {
      await reservationService.disconnect();
      await second?.stop();
      if (firstStopped) await first.database.drop();
      else await first.close();
      await smtp.close();
    }
  });
});
