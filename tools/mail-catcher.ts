/**
 * A local mail catcher for `tools/platform.sh start`: a real SMTP server on 127.0.0.1 that keeps every
 * message it receives as an .eml file (invitation mails, bulk-import reports) instead of delivering it.
 *
 *   node tools/mail-catcher.ts [--port 1025] [--dir .data/mail]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { SMTPServer } from "smtp-server";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const port = Number(arg("--port", "1025"));
const dir = resolve(arg("--dir", ".data/mail"));
mkdirSync(dir, { recursive: true });

let count = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS"],
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      const raw = Buffer.concat(chunks);
      const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, "-")}-${++count}.eml`);
      writeFileSync(file, raw);
      const subject = /^Subject: (.*)$/im.exec(raw.toString("utf8"))?.[1] ?? "(no subject)";
      const to = session.envelope.rcptTo.map((r) => r.address).join(", ");
      console.log(`${new Date().toISOString()} mail to ${to}: ${subject} → ${file}`);
      callback();
    });
  },
});
server.listen(port, "127.0.0.1", () =>
  console.log(`mail catcher on smtp://127.0.0.1:${port}, mails in ${dir}`),
);
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => server.close(() => process.exit(0)));
