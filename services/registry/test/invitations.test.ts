import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry } from "./helpers.ts";
import { type CaughtMail, startSmtp } from "./smtp.ts";

const otpOf = (mail: CaughtMail) => /One-time password: ([A-Z0-9]{12})/.exec(mail.text)?.[1] ?? "";

describe("invitations", () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let r: Awaited<ReturnType<typeof startRegistry>>;
  let orgId: string;
  let rivalOrgId: string;

  beforeAll(async () => {
    smtp = await startSmtp();
    r = await startRegistry({ SMTP_URL: smtp.url, MAIL_FROM: "Energy Platform <invite@energy.test>" });
    for (const [id, name] of [
      ["usr-owner", "Olga Owner"],
      ["usr-admin", "Ada Admin"],
      ["usr-viewer", "Vic Viewer"],
      ["usr-operator", "Otto Operator"],
      ["usr-rival", "Rita Rival"],
    ] as const) {
      await r.db.identity.create({ data: { id, type: "user", name } });
    }
    orgId = (
      await call("usr-owner", "POST", "/organizations", { name: "Sunny Side Coop", kind: "developer" })
    ).json().id;
    rivalOrgId = (
      await call("usr-rival", "POST", "/organizations", { name: "Rival Power", kind: "buyer" })
    ).json().id;
    for (const [identityId, role] of [
      ["usr-admin", "admin"],
      ["usr-viewer", "viewer"],
      ["usr-operator", "operator"],
    ]) {
      expect(
        (await call("usr-owner", "POST", `/organizations/${orgId}/members`, { identityId, role })).statusCode,
      ).toBe(201);
    }
  });
  afterAll(async () => {
    await r?.close();
    await smtp?.close();
  });

  function call(as: string, method: "GET" | "POST" | "DELETE", url: string, payload?: unknown) {
    return r.app.inject({
      method,
      url,
      headers: r.auth(as),
      ...(payload ? { payload: payload as object } : {}),
    });
  }

  async function invite(email: string, role = "operator", as = "usr-admin") {
    const before = smtp.mails.length;
    const res = await call(as, "POST", `/organizations/${orgId}/invitations`, {
      firstName: "Ivy",
      lastName: "Invitee",
      email,
      role,
    });
    expect(res.statusCode, res.body).toBe(201);
    const mail = smtp.mails.slice(before).find((m) => m.to.includes(email.toLowerCase()));
    expect(mail).toBeDefined();
    return { invitation: res.json() as { id: string; status: string }, otp: otpOf(mail!), mail: mail! };
  }

  function accept(body: Record<string, unknown>) {
    return r.app.inject({ method: "POST", url: "/invitations/accept", payload: body });
  }

  const newKey = () => {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    return { publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(), privateKey };
  };

  async function login(identityId: string, privateKey: KeyObject) {
    const challenge = await r.app.inject({ method: "POST", url: "/auth/challenge", payload: { identityId } });
    const { challengeId, nonce } = challenge.json();
    const signature = sign(null, Buffer.from(nonce, "utf8"), privateKey).toString("base64url");
    const res = await r.app.inject({
      method: "POST",
      url: "/auth/verify",
      payload: { challengeId, identityId, signature },
    });
    expect(res.statusCode, res.body).toBe(200);
    return { authorization: `Bearer ${res.json().accessToken}` };
  }

  async function listed(id: string) {
    const res = await call("usr-owner", "GET", `/organizations/${orgId}/invitations`);
    expect(res.statusCode).toBe(200);
    return (res.json().items as Array<Record<string, unknown>>).find((item) => item.id === id);
  }

  it("mails the invitee a one-time password naming the organization, keeps only its hash, lists it as pending", async () => {
    const { invitation, otp, mail } = await invite("Ivy.Invitee@Example.com", "operator");
    expect(otp).toMatch(/^[A-Z0-9]{12}$/);
    expect(mail.from).toBe("invite@energy.test");
    expect(mail.text).toContain("Sunny Side Coop");
    expect(mail.text).toContain("Ada Admin");
    expect(mail.text).toContain("as operator");
    expect(mail.text).toContain(orgId);
    expect(mail.text).toMatch(/expires at \d{4}-\d{2}-\d{2}T/);

    const row = await r.db.invitation.findUniqueOrThrow({ where: { id: invitation.id } });
    expect(row.email).toBe("ivy.invitee@example.com");
    expect(JSON.stringify(row)).not.toContain(otp);
    expect(row.otpHash).toMatch(/^scrypt\$/);

    const item = await listed(invitation.id);
    expect(item).toMatchObject({
      email: "ivy.invitee@example.com",
      firstName: "Ivy",
      lastName: "Invitee",
      role: "operator",
      status: "pending",
      invitedBy: { id: "usr-admin", name: "Ada Admin" },
      acceptedAt: null,
    });
    expect(JSON.stringify(item)).not.toContain("scrypt");
    expect(item).not.toHaveProperty("otpHash");
  });

  it("lets the invitee accept once with an Ed25519 key, log in and read the organization with the invited role", async () => {
    const { invitation, otp } = await invite("nora@example.com", "viewer");
    const key = newKey();
    const wrong = await accept({
      email: "nora@example.com",
      orgId,
      otp: "AAAAAAAAAAAA",
      publicKey: key.publicKey,
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe("invalid_invitation");

    const accepted = await accept({
      email: "NORA@example.com",
      orgId,
      otp,
      publicKey: key.publicKey,
      name: "Nora",
    });
    expect(accepted.statusCode, accepted.body).toBe(201);
    const { identityId, role } = accepted.json();
    expect(identityId).toMatch(/^usr-/);
    expect(role).toBe("viewer");

    const headers = await login(identityId, key.privateKey);
    const org = await r.app.inject({ url: `/organizations/${orgId}`, headers });
    expect(org.statusCode).toBe(200);
    expect(org.json()).toMatchObject({ name: "Sunny Side Coop", role: "viewer" });

    const again = await accept({ email: "nora@example.com", orgId, otp, publicKey: newKey().publicKey });
    expect(again.statusCode).toBe(401);
    expect(again.json().error).toMatchObject({
      code: "invalid_invitation",
      message: wrong.json().error.message,
    });

    expect(await listed(invitation.id)).toMatchObject({ status: "accepted", acceptedIdentityId: identityId });
    const events = await r.db.outboxMessage.findMany({
      where: { OR: [{ key: identityId }, { key: orgId }] },
    });
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(["identity.registered", "membership.added"]),
    );
    expect(
      events.find(
        (e) =>
          e.type === "membership.added" && (e.payload as { identityId?: string }).identityId === identityId,
      )?.payload,
    ).toMatchObject({ role: "viewer" });
  });

  it("refuses an expired invitation with the same answer, lists it as expired and allows a new one", async () => {
    const { invitation, otp } = await invite("late@example.com");
    await r.db.invitation.update({
      where: { id: invitation.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const res = await accept({ email: "late@example.com", orgId, otp, publicKey: newKey().publicKey });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe("invalid_invitation");
    expect(await listed(invitation.id)).toMatchObject({ status: "expired" });
    const unknown = await accept({ email: "nobody@example.com", orgId, otp, publicKey: newKey().publicKey });
    expect(unknown.json().error).toEqual(res.json().error);
    await invite("late@example.com");
  });

  it("refuses a second pending invitation for the same email (409)", async () => {
    await invite("twice@example.com");
    const res = await call("usr-owner", "POST", `/organizations/${orgId}/invitations`, {
      firstName: "T",
      lastName: "Wice",
      email: "TWICE@example.com",
      role: "viewer",
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe("invitation_pending");
  });

  it("lets an operator (device owner / sub buyer) invite operators and viewers, not admins, and not delete", async () => {
    const { invitation, mail } = await invite("sub.buyer@example.com", "viewer", "usr-operator");
    expect(invitation.status).toBe("pending");
    expect(mail.text).toContain("Otto Operator");
    expect(mail.text).toContain("as viewer");
    await invite("device.owner@example.com", "operator", "usr-operator");

    const before = smtp.mails.length;
    const admin = await call("usr-operator", "POST", `/organizations/${orgId}/invitations`, {
      firstName: "Al",
      lastName: "Admin",
      email: "would.be.admin@example.com",
      role: "admin",
    });
    expect(admin.statusCode).toBe(403);
    expect(admin.json().error.code).toBe("forbidden");
    expect(admin.json().error.message).toContain("role");
    expect(smtp.mails.length).toBe(before);
    expect(await r.db.invitation.count({ where: { email: "would.be.admin@example.com" } })).toBe(0);

    const list = await call("usr-operator", "GET", `/organizations/${orgId}/invitations`);
    expect(list.statusCode).toBe(200);
    expect((list.json().items as Array<{ id: string }>).map((item) => item.id)).toContain(invitation.id);

    const del = await call("usr-operator", "DELETE", `/organizations/${orgId}/invitations/${invitation.id}`);
    expect(del.statusCode).toBe(403);
    expect(await listed(invitation.id)).toMatchObject({ status: "pending" });
    // owners and admins may grant admin
    await invite("real.admin@example.com", "admin", "usr-owner");
  });

  it("lets only owners, admins and operators invite, hides the organization from others and names a bad email", async () => {
    const body = { firstName: "A", lastName: "B", email: "a.b@example.com", role: "viewer" };
    const viewer = await call("usr-viewer", "POST", `/organizations/${orgId}/invitations`, body);
    expect(viewer.statusCode).toBe(403);
    expect((await call("usr-viewer", "GET", `/organizations/${orgId}/invitations`)).statusCode).toBe(403);
    const rival = await call("usr-rival", "POST", `/organizations/${orgId}/invitations`, body);
    expect(rival.statusCode).toBe(404);
    expect((await call("usr-rival", "GET", `/organizations/${orgId}/invitations`)).statusCode).toBe(404);
    expect((await call("usr-rival", "GET", `/organizations/${rivalOrgId}/invitations`)).statusCode).toBe(200);

    const bad = await call("usr-admin", "POST", `/organizations/${orgId}/invitations`, {
      ...body,
      email: "not-an-email",
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.fields.map((f: { path: string }) => f.path)).toContain("body.email");
    const owner = await call("usr-admin", "POST", `/organizations/${orgId}/invitations`, {
      ...body,
      role: "owner",
    });
    expect(owner.statusCode).toBe(400);
  });

  it("removes the member when an accepted invitation is deleted, and cancels a pending one", async () => {
    const { invitation, otp } = await invite("leaver@example.com", "operator");
    const key = newKey();
    const { identityId } = (
      await accept({ email: "leaver@example.com", orgId, otp, publicKey: key.publicKey })
    ).json();
    const headers = await login(identityId, key.privateKey);
    expect((await r.app.inject({ url: `/organizations/${orgId}`, headers })).statusCode).toBe(200);

    const del = await call("usr-admin", "DELETE", `/organizations/${orgId}/invitations/${invitation.id}`);
    expect(del.statusCode).toBe(204);
    expect((await r.app.inject({ url: `/organizations/${orgId}`, headers })).statusCode).toBe(404);
    const removed = await r.db.outboxMessage.findMany({ where: { key: orgId, type: "membership.removed" } });
    expect(removed.map((e) => (e.payload as { identityId: string }).identityId)).toContain(identityId);
    expect(await listed(invitation.id)).toBeUndefined();

    const pending = await invite("maybe@example.com");
    expect(
      (await call("usr-viewer", "DELETE", `/organizations/${orgId}/invitations/${pending.invitation.id}`))
        .statusCode,
    ).toBe(403);
    expect(
      (await call("usr-owner", "DELETE", `/organizations/${orgId}/invitations/${pending.invitation.id}`))
        .statusCode,
    ).toBe(204);
    const late = await accept({
      email: "maybe@example.com",
      orgId,
      otp: pending.otp,
      publicKey: newKey().publicKey,
    });
    expect(late.statusCode).toBe(401);
    expect(
      (await call("usr-owner", "DELETE", `/organizations/${orgId}/invitations/${pending.invitation.id}`))
        .statusCode,
    ).toBe(404);
  });

  it("documents the invitation endpoints in the OpenAPI document", async () => {
    const res = await r.app.inject({ url: "/openapi.json" });
    expect(res.statusCode).toBe(200);
    const paths = Object.keys(res.json().paths);
    expect(paths).toEqual(
      expect.arrayContaining(["/organizations/{orgId}/invitations", "/invitations/accept"]),
    );
  });

  it("answers 502 mail_failed and keeps nothing when the mail cannot be sent", async () => {
    const res = await call("usr-admin", "POST", `/organizations/${orgId}/invitations`, {
      firstName: "Bo",
      lastName: "Unce",
      email: "bounce@example.com",
      role: "viewer",
    });
    expect(res.statusCode).toBe(502);
    expect(res.json().error.code).toBe("mail_failed");
    expect(await r.db.invitation.count({ where: { email: "bounce@example.com" } })).toBe(0);
  });
});
