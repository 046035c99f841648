import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureDevCertificates } from "../tls/tls.ts";

const dir = mkdtempSync(join(tmpdir(), "infra-tls-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cert = (file: string) => new X509Certificate(readFileSync(file));

describe("the local CA and server certificate (OCPP security profile 2)", () => {
  it("makes a CA and a server certificate it signed, for every host asked, for TLS servers only", () => {
    const files = ensureDevCertificates(dir, { hosts: ["localhost", "127.0.0.1"] });
    const ca = cert(files.caFile);
    const server = cert(files.certFile);
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkIssued(ca)).toBe(true);
    expect(server.checkHost("localhost")).toBe("localhost");
    expect(server.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(server.checkHost("example.com")).toBeUndefined();
    expect(server.keyUsage).toContain("1.3.6.1.5.5.7.3.1"); // extendedKeyUsage serverAuth
    // the private key is the certificate's, and only its owner may read it
    expect(server.checkPrivateKey(createPrivateKey(readFileSync(files.keyFile)))).toBe(true);
    expect(statSync(files.keyFile).mode & 0o077).toBe(0);
  });

  it("keeps what it made (chargers keep trusting the CA); a new host gets a new server certificate under the same CA", () => {
    const first = ensureDevCertificates(dir, { hosts: ["localhost", "127.0.0.1"] });
    const before = { ca: readFileSync(first.caFile, "utf8"), server: readFileSync(first.certFile, "utf8") };
    ensureDevCertificates(dir, { hosts: ["localhost", "127.0.0.1"] });
    expect(readFileSync(first.certFile, "utf8")).toBe(before.server);

    const again = ensureDevCertificates(dir, { hosts: ["localhost", "127.0.0.1", "ocpp.local"] });
    expect(readFileSync(again.caFile, "utf8")).toBe(before.ca);
    expect(readFileSync(again.certFile, "utf8")).not.toBe(before.server);
    expect(cert(again.certFile).checkHost("ocpp.local")).toBe("ocpp.local");
    expect(cert(again.certFile).checkIssued(cert(again.caFile))).toBe(true);
  });
});
