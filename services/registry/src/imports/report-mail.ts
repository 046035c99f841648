import nodemailer from "nodemailer";

/** What the report of a finished bulk import says. */
export type ImportReportMail = {
  to: string;
  organizationId: string;
  organizationName: string;
  jobId: string;
  fileName: string | null;
  status: string;
  totalRows: number;
  createdRows: number;
  updatedRows: number;
  refusedRows: number;
  /** the first refusals, by line */
  refused: { line: number; reason: string | null }[];
};

export interface ImportReportMailer {
  sendImportReport(mail: ImportReportMail): Promise<void>;
  close(): void;
}

/** The import report's mail, over SMTP_URL from MAIL_FROM (the same transport as the invitations). */
export function createImportReportMailer(config: {
  SMTP_URL: string;
  MAIL_FROM: string;
}): ImportReportMailer {
  const transport = nodemailer.createTransport(config.SMTP_URL);
  return {
    async sendImportReport(mail) {
      await transport.sendMail({
        from: config.MAIL_FROM,
        to: mail.to,
        subject: `Device import ${mail.jobId} for ${mail.organizationName}: ${mail.status}`,
        text: importReportText(mail),
      });
    },
    close: () => transport.close(),
  };
}

/** The plain-text body of an import report. */
export function importReportText(mail: ImportReportMail): string {
  const lines = [
    "Hello,",
    "",
    `the bulk device import ${mail.jobId}${mail.fileName ? ` (${mail.fileName})` : ""} for ${mail.organizationName}`,
    `(organization id ${mail.organizationId}) is ${mail.status}.`,
    "",
    `Rows: ${mail.totalRows}`,
    `Created: ${mail.createdRows}`,
    `Updated: ${mail.updatedRows}`,
    `Refused: ${mail.refusedRows}`,
  ];
  if (mail.refused.length > 0) {
    lines.push("", "Refused rows (line: reason):");
    for (const row of mail.refused) lines.push(`  ${row.line}: ${row.reason ?? ""}`);
    if (mail.refusedRows > mail.refused.length) {
      lines.push(`  … and ${mail.refusedRows - mail.refused.length} more`);
    }
  }
  lines.push(
    "",
    `All outcomes: GET /organizations/${mail.organizationId}/imports/${mail.jobId}/rows?outcome=refused`,
    "",
    "Best regards,",
    "Energy Platform",
  );
  return lines.join("\n");
}
