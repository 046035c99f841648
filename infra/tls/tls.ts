/**
 * A local certificate authority and a server certificate signed by it, made with the `openssl` command
 * (node:crypto can verify X.509 but not issue it): what OCPP security profile 2 needs on this machine.
 * Chargers trust `ca.crt`; the ocpp service serves `server.crt` / `server.key` on its wss port.
 *
 *   node infra/tls/tls.ts --dir .data/tls [--host localhost --host 127.0.0.1]
 *
 * Files are made once and kept (a charger that was given the CA keeps trusting it across restarts); a
 * server certificate that expires within 30 days, or does not name one of the hosts asked for, is made
 * again under the same CA.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

export interface DevCertificates {
  /** the CA chargers trust (PEM) */
  caFile: string;
  /** the server's certificate (PEM), signed by the CA */
  certFile: string;
  /** the server's private key (PEM, unencrypted, mode 0600) */
  keyFile: string;
}

/** Whether the `openssl` command can be run here. */
export function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const openssl = (args: string[], cwd: string) =>
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });

/** Whether a server certificate exists, names every host, and is valid for 30 more days. */
function usable(certFile: string, hosts: string[]): boolean {
  if (!existsSync(certFile)) return false;
  const cert = new X509Certificate(readFileSync(certFile));
  if (new Date(cert.validTo).getTime() < Date.now() + 30 * 86_400_000) return false;
  return hosts.every((h) => (isIP(h) ? cert.checkIP(h) : cert.checkHost(h)) !== undefined);
}

/**
 * Makes (or reuses) a CA and a server certificate for `hosts` in `dir`: P-256 keys, the CA valid for
 * 10 years, the server certificate for 825 days (the longest clients accept), subjectAltName naming every
 * host (DNS names and IP addresses), extendedKeyUsage serverAuth. Throws when openssl is not installed.
 */
export function ensureDevCertificates(
  dir: string,
  opts: { hosts?: string[]; commonName?: string } = {},
): DevCertificates {
  const hosts = opts.hosts ?? ["localhost", "127.0.0.1"];
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true, mode: 0o700 });
  const files: DevCertificates = {
    caFile: join(abs, "ca.crt"),
    certFile: join(abs, "server.crt"),
    keyFile: join(abs, "server.key"),
  };
  const caKey = join(abs, "ca.key");
  if (existsSync(files.caFile) && existsSync(caKey) && usable(files.certFile, hosts)) return files;
  if (!hasOpenssl()) {
    throw new Error("the openssl command is not installed: no certificate for OCPP over TLS (wss)");
  }
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  if (!existsSync(files.caFile) || !existsSync(caKey)) {
    openssl(
      [
        ...["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650"],
        ...["-subj", `/CN=${opts.commonName ?? "Energy platform local CA"}`],
        ...["-addext", "basicConstraints=critical,CA:TRUE"],
        ...["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
      ],
      abs,
    );
  }
  const san = hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(",");
  writeFileSync(
    join(abs, "server.ext"),
    [
      `subjectAltName=${san}`,
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "",
    ].join("\n"),
  );
  openssl(["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", `/CN=${hosts[0]}`], abs);
  openssl(
    [
      ...["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"],
      ...["-out", "server.crt", "-days", "825", "-sha256", "-extfile", "server.ext"],
    ],
    abs,
  );
  rmSync(join(abs, "server.csr"), { force: true });
  chmodSync(files.keyFile, 0o600);
  chmodSync(caKey, 0o600);
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { dir: { type: "string", default: ".data/tls" }, host: { type: "string", multiple: true } },
  });
  const files = ensureDevCertificates(values.dir, values.host ? { hosts: values.host } : {});
  console.log(JSON.stringify(files, null, 2));
}
