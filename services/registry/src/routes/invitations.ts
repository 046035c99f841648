import { IdSchema, MemberRoleSchema, topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import {
  AppError,
  badRequest,
  conflict,
  type FastifyPluginAsyncZod,
  forbidden,
  notFound,
} from "@energy/service-kit";
import { z } from "zod";
import type { OrgGuard } from "../app.ts";
import type { Config } from "../config.ts";
import type { Db } from "../db.ts";
import { newId } from "../domain/ids.ts";
import { INVITABLE_ROLES, invitationStatus, isAcceptable } from "../domain/invitations.ts";
import { KeyError, type NormalizedKey, parsePublicKey } from "../domain/keys.ts";
import { DECOY_HASH, hashOneTimePassword, newOneTimePassword, verifyOneTimePassword } from "../domain/otp.ts";
import { mayGrant } from "../domain/roles.ts";
import type { Mailer } from "../mailer.ts";
import { addMember, lockMembers, removeMember } from "../memberships.ts";
import { INVITERS, isUniqueViolation, MANAGERS } from "./access.ts";

const Email = z
  .email()
  .max(254)
  .transform((email) => email.toLowerCase());
const Name = z.string().trim().min(1).max(100);

const InviteBody = z.object({
  firstName: Name,
  lastName: Name,
  email: Email,
  role: z.enum(INVITABLE_ROLES),
});

const InvitationView = z.object({
  id: z.string(),
  orgId: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  email: z.string(),
  role: MemberRoleSchema,
  status: z.enum(["pending", "accepted", "expired"]),
  invitedBy: z.object({ id: z.string(), name: z.string().nullable() }),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  acceptedAt: z.iso.datetime().nullable(),
  acceptedIdentityId: z.string().nullable(),
});
type InvitationView = z.infer<typeof InvitationView>;

const AcceptBody = z.object({
  email: Email,
  orgId: z.string().min(1).max(200),
  otp: z.string().min(1).max(64),
  /** An Ed25519 public key, as POST /identities accepts it. */
  publicKey: z.union([z.string().min(1).max(4096), z.record(z.string().max(100), z.unknown())]),
  name: z.string().trim().min(1).max(200).optional(),
});

const AcceptedView = z.object({
  identityId: z.string(),
  keyId: z.string(),
  orgId: z.string(),
  role: MemberRoleSchema,
});

/** The same answer for an unknown, wrong, expired or used invitation: nothing to learn from it. */
const invalidInvitation = () =>
  new AppError("invalid_invitation", 401, "The invitation is unknown, expired or already used");

type InvitationRow = Awaited<ReturnType<Db["invitation"]["findFirstOrThrow"]>>;

function view(row: InvitationRow, inviterName: string | null, now = new Date()): InvitationView {
  return {
    id: row.id,
    orgId: row.orgId,
    firstName: row.firstName,
    lastName: row.lastName,
    email: row.email,
    role: MemberRoleSchema.parse(row.role),
    status: invitationStatus(row, now),
    invitedBy: { id: row.invitedBy, name: inviterName },
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    acceptedAt: row.acceptedAt?.toISOString() ?? null,
    acceptedIdentityId: row.acceptedIdentityId,
  };
}

export function invitationRoutes(opts: {
  db: Db;
  config: Config;
  mailer: Mailer;
  requireOrgRole: OrgGuard;
  published: () => void;
}): FastifyPluginAsyncZod {
  const { db, config, mailer, requireOrgRole, published } = opts;

  return async (app) => {
    app.post(
      "/organizations/:orgId/invitations",
      {
        schema: {
          summary: "Invite someone by email to join the organization with a role (owner, admin, operator)",
          description:
            "An operator (the D-REC device owner / sub buyer) may invite an operator or a viewer, not an admin " +
            "(403). Mails a one-time password (valid INVITATION_TTL_HOURS) after the invitation is stored. If the mail " +
            "cannot be sent the invitation is withdrawn and the answer is 502 mail_failed. A pending invitation " +
            "for the same email is 409 invitation_pending.",
          tags: ["invitations"],
          params: z.object({ orgId: IdSchema }),
          body: InviteBody,
          response: { 201: InvitationView },
        },
      },
      async (request, reply) => {
        const { orgId } = request.params;
        const { firstName, lastName, email, role } = request.body;
        const callerRole = await requireOrgRole(request, orgId, INVITERS);
        if (!mayGrant(callerRole, role))
          throw forbidden(`role: a member with role ${callerRole} may not invite role ${role}`);
        const [org, inviter] = await Promise.all([
          db.organization.findUnique({ where: { id: orgId } }),
          db.identity.findUnique({ where: { id: request.identity.id } }),
        ]);
        if (!org) throw notFound("organization");
        const oneTimePassword = newOneTimePassword();
        const otpHash = await hashOneTimePassword(oneTimePassword);
        const expiresAt = new Date(Date.now() + config.INVITATION_TTL_HOURS * 3600 * 1000);
        const invitation = await db.$transaction(async (tx) => {
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`invitation:${orgId}:${email}`}))`;
          const live = await tx.invitation.findFirst({
            where: { orgId, email, status: "pending", expiresAt: { gt: new Date() } },
          });
          if (live) throw conflict("invitation_pending", "email: a pending invitation exists for this email");
          return tx.invitation.create({
            data: {
              id: newId("inv"),
              orgId,
              firstName,
              lastName,
              email,
              role,
              invitedBy: request.identity.id,
              otpHash,
              expiresAt,
            },
          });
        });
        const inviterName = inviter?.name ?? request.identity.id;
        try {
          await mailer.sendInvitation({
            to: email,
            firstName,
            lastName,
            organizationId: orgId,
            organizationName: org.name,
            inviterName,
            role,
            oneTimePassword,
            expiresAt,
          });
        } catch (error) {
          // Nobody will ever know this password: withdraw the invitation so it can be sent again.
          await db.invitation.deleteMany({ where: { id: invitation.id, status: "pending" } });
          request.log.error({ err: error, invitationId: invitation.id }, "invitation mail failed");
          throw new AppError("mail_failed", 502, "The invitation mail could not be sent; nothing was stored");
        }
        return reply.status(201).send(view(invitation, inviter?.name ?? null));
      },
    );

    app.get(
      "/organizations/:orgId/invitations",
      {
        schema: {
          summary: "The organization's invitations, newest first (owner, admin, operator)",
          tags: ["invitations"],
          params: z.object({ orgId: IdSchema }),
          response: { 200: z.object({ items: z.array(InvitationView) }) },
        },
      },
      async (request) => {
        const { orgId } = request.params;
        await requireOrgRole(request, orgId, INVITERS);
        const rows = await db.invitation.findMany({ where: { orgId }, orderBy: { createdAt: "desc" } });
        const inviters = await db.identity.findMany({
          where: { id: { in: [...new Set(rows.map((row) => row.invitedBy))] } },
          select: { id: true, name: true },
        });
        const names = new Map(inviters.map((identity) => [identity.id, identity.name]));
        const now = new Date();
        return { items: rows.map((row) => view(row, names.get(row.invitedBy) ?? null, now)) };
      },
    );

    app.delete(
      "/organizations/:orgId/invitations/:id",
      {
        schema: {
          summary: "Cancel an invitation; for an accepted one, also remove the member it made (owner, admin)",
          description:
            "Only an owner removes an owner; the organization's last owner is never removed (409 last_owner).",
          tags: ["invitations"],
          params: z.object({ orgId: IdSchema, id: IdSchema }),
          response: { 204: z.null() },
        },
      },
      async (request, reply) => {
        const { orgId, id } = request.params;
        const callerRole = await requireOrgRole(request, orgId, MANAGERS);
        const removedMember = await db.$transaction(async (tx) => {
          await lockMembers(tx, orgId);
          const invitation = await tx.invitation.findFirst({ where: { id, orgId } });
          if (!invitation) throw notFound("invitation");
          const identityId = invitation.status === "accepted" ? invitation.acceptedIdentityId : null;
          const removed = identityId
            ? await removeMember(tx, { orgId, identityId, callerRole }, request.id)
            : false;
          await tx.invitation.delete({ where: { id } });
          return removed;
        });
        if (removedMember) published();
        return reply.status(204).send(null);
      },
    );

    app.post(
      "/invitations/accept",
      {
        config: { public: true },
        schema: {
          summary:
            "Accept an invitation: become a user with this Ed25519 key and a member with the invited role",
          description:
            "The one-time password is single-use. Unknown, wrong, expired and used invitations all get 401 " +
            "invalid_invitation. Then log in with POST /auth/challenge and /auth/verify.",
          tags: ["invitations"],
          body: AcceptBody,
          response: { 201: AcceptedView },
        },
      },
      async (request, reply) => {
        const { email, orgId, otp } = request.body;
        const key = parseUserKey(request.body.publicKey);
        // A new invitation is only possible once the previous one expired: the newest pending one is the candidate.
        const candidate = await db.invitation.findFirst({
          where: { orgId, email, status: "pending" },
          orderBy: { createdAt: "desc" },
        });
        const matches = await verifyOneTimePassword(otp, candidate?.otpHash ?? DECOY_HASH);
        if (!candidate || !matches || !isAcceptable(candidate)) throw invalidInvitation();

        const identityId = newId("usr");
        const keyId = newId("key");
        const role = MemberRoleSchema.parse(candidate.role);
        const name = request.body.name ?? `${candidate.firstName} ${candidate.lastName}`;
        const keyInUse = () => conflict("public_key_in_use", "publicKey: this key is already registered");
        try {
          await db.$transaction(async (tx) => {
            // Consume first: a concurrent or later accept finds nothing to update.
            const now = new Date();
            const { count } = await tx.invitation.updateMany({
              where: { id: candidate.id, status: "pending", expiresAt: { gt: now } },
              data: { status: "accepted", acceptedAt: now, acceptedIdentityId: identityId },
            });
            if (count === 0) throw invalidInvitation();
            if (await tx.identityKey.findUnique({ where: { publicKey: key.publicKey } })) throw keyInUse();
            await tx.identity.create({
              data: { id: identityId, type: "user", name, createdBy: candidate.invitedBy },
            });
            await tx.identityKey.create({ data: { keyId, identityId, ...key } });
            await enqueueEvent(
              tx,
              topics.registryIdentity,
              "identity.registered",
              { identityId, identityType: "user", name, keyId, ...key },
              { correlationId: request.id },
            );
            await addMember(tx, { orgId, identityId, role }, request.id);
          });
        } catch (error) {
          throw isUniqueViolation(error) ? keyInUse() : error;
        }
        published();
        return reply.status(201).send({ identityId, keyId, orgId, role });
      },
    );
  };
}

/** The invitee's key: Ed25519, as POST /identities accepts it for a user; else 400 invalid_public_key. */
function parseUserKey(input: unknown): NormalizedKey {
  try {
    return parsePublicKey("user", input);
  } catch (error) {
    if (error instanceof KeyError)
      throw badRequest("invalid_public_key", error.message, { field: error.field });
    throw error;
  }
}
