import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export type CaughtMail = {
  from: string;
  to: string[];
  /** the raw message, soft line breaks and quoted-printable escapes decoded, CRLF as LF */
  text: string;
  subject: string;
  messageId: string;
};

/**
 * A real SMTP server in this process (smtp-server, as tools/mail-catcher.ts runs it for local runs): collects
 * every accepted mail. Recipients starting with "bounce" are refused for good (550); `refuseOnce(address)` makes
 * the next delivery to that address fail with a temporary 451; `down(true)` answers every recipient with 451.
 */
export async function startSmtp() {
  const mails: CaughtMail[] = [];
  const failOnce = new Set<string>();
  let isDown = false;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onRcptTo(address, _session, callback) {
      const to = address.address.toLowerCase();
      if (to.startsWith("bounce")) return callback(new Error("550 mailbox unavailable"));
      if (isDown || failOnce.delete(to)) {
        return callback(Object.assign(new Error("451 try again later"), { responseCode: 451 }));
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const text = decodeQuotedPrintable(raw).replace(/\r\n/g, "\n");
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          text,
          subject: decodeHeader(header(raw, "Subject")),
          messageId: header(raw, "Message-ID"),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    refuseOnce: (address: string) => failOnce.add(address.toLowerCase()),
    down: (down: boolean) => {
      isDown = down;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const decodeQuotedPrintable = (raw: string) =>
  raw
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

/** A header of a raw message, unfolded (its encoded words left as they are). */
function header(raw: string, name: string): string {
  const head = raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, " ");
  return new RegExp(`^${name}: (.*)$`, "im").exec(head)?.[1]?.trim() ?? "";
}

/** A header's value with its folding and RFC 2047 encoded words (=?UTF-8?Q?…?= / ?B?) decoded. */
export function decodeHeader(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?UTF-8\?([QB])\?([^?]*)\?=/gi, (_, encoding: string, text: string) =>
      encoding.toUpperCase() === "B"
        ? Buffer.from(text, "base64").toString("utf8")
        : Buffer.from(
            text
              .replace(/_/g, " ")
              .replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
            "latin1",
          ).toString("utf8"),
    );
}
