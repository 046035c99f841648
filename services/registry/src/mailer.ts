import nodemailer from "nodemailer";

/** What an invitation mail says; the one-time password only passes through here, it is never stored. */
export type InvitationMail = {
  to: string;
  firstName: string;
  lastName: string;
  organizationId: string;
  organizationName: string;
  inviterName: string;
  role: string;
  oneTimePassword: string;
  expiresAt: Date;
};

export interface Mailer {
  sendInvitation(mail: InvitationMail): Promise<void>;
  close(): void;
}

/** The registry's outgoing mail, over SMTP_URL (e.g. smtp://127.0.0.1:1025), from MAIL_FROM. */
export function createMailer(config: { SMTP_URL: string; MAIL_FROM: string }): Mailer {
  const transport = nodemailer.createTransport(config.SMTP_URL);
  return {
    async sendInvitation(mail) {
      await transport.sendMail({
        from: config.MAIL_FROM,
        to: mail.to,
        subject: `You are invited to join ${mail.organizationName}`,
        text: invitationText(mail),
      });
    },
    close: () => transport.close(),
  };
}

/** The plain-text body of an invitation mail. */
export function invitationText(mail: InvitationMail): string {
  return [
    `Dear ${mail.firstName} ${mail.lastName} (${mail.to}),`,
    "",
    `${mail.inviterName} has invited you to join ${mail.organizationName} on the Energy Platform as ${mail.role}.`,
    "Accept the invitation with your email address, the organization id and the one-time password below",
    "(POST /invitations/accept, with the Ed25519 public key you will log in with):",
    "",
    `Email: ${mail.to}`,
    `Organization id: ${mail.organizationId}`,
    `One-time password: ${mail.oneTimePassword}`,
    "",
    `The password can be used once and expires at ${mail.expiresAt.toISOString()}.`,
    "",
    "Best regards,",
    "Energy Platform",
  ].join("\n");
}
