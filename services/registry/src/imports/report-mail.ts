import nodemailer from "nodemailer";
import type { Db } from "../db.ts";

/** What the report of a finished bulk import says. */
export type ImportReportMail = {
  to: string;
  organizationId: string;
  organizationName: string;
  jobId: string;
  fileName: string | null;
  status: string;
  /** why a failed job failed */
  error: string | null;
  /** null when the job failed before it had counted the rows */
  totalRows: number | null;
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
    ...(mail.error ? [`Error: ${mail.error}`, ""] : []),
    `Rows: ${mail.totalRows ?? "not counted"}`,
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

/** How many refusals a report lists (all of them: GET …/rows?outcome=refused). */
const REPORT_REFUSALS = 50;

/**
 * Mails the report of a finished (done or failed) job to `to`. Best effort: the import itself is over, and
 * GET …/imports/:jobId has it all, so a failure to send is logged, not thrown.
 */
export async function mailImportReport(
  deps: { db: Db; mailer: ImportReportMailer; log: { error(obj: object, msg?: string): void } },
  jobId: string,
  to: string,
): Promise<void> {
  const { db, mailer, log } = deps;
  try {
    const job = await db.importJob.findUniqueOrThrow({
      where: { id: jobId },
      omit: { content: true },
      include: { rows: { where: { outcome: "refused" }, orderBy: { line: "asc" }, take: REPORT_REFUSALS } },
    });
    const org = await db.organization.findUnique({ where: { id: job.orgId }, select: { name: true } });
    await mailer.sendImportReport({
      to,
      organizationId: job.orgId,
      organizationName: org?.name ?? job.orgId,
      jobId,
      fileName: job.fileName,
      status: job.status,
      error: job.error,
      totalRows: job.totalRows,
      createdRows: job.createdRows,
      updatedRows: job.updatedRows,
      refusedRows: job.refusedRows,
      refused: job.rows.map((row) => ({ line: row.line, reason: row.reason })),
    });
  } catch (error) {
    log.error({ err: error, jobId }, "import report mail failed");
  }
}
