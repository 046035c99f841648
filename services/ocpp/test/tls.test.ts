import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { topics } from "@energy/contracts";
import { ensureDevCertificates } from "@energy/infra/tls";
import { ConfigError } from "@energy/service-kit";
import { RPCClient } from "ocpp-rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { readConfig } from "../src/config.ts";
import {
  basic,
  boot16,
  boot201,
  collectTopics,
  type Ocpp,
  PASSWORD,
  seedCharger,
  startOcpp,
} from "./helpers.ts";

let ocpp: Ocpp;
let events: Awaited<ReturnType<typeof collectTopics>>;
let dir: string;
let ca: Buffer;
let wss: string;

beforeAll(async () => {
  // the certificates the start command makes (infra/tls): a local CA and a server certificate it signed
  dir = mkdtempSync(join(tmpdir(), "ocpp-tls-"));
  const certs = ensureDevCertificates(dir, { hosts: ["localhost", "127.0.0.1"] });
  ca = readFileSync(certs.caFile);
  ocpp = await startOcpp({
    OCPP_TLS_PORT: "0",
    OCPP_TLS_CERT_FILE: certs.certFile,
    OCPP_TLS_KEY_FILE: certs.keyFile,
  });
  wss = `wss://localhost:${ocpp.tls!.port}/ocpp`;
  events = await collectTopics(ocpp.kafka, ocpp.testKafka.topicPrefix, [topics.ocppCharger]);
  await seedCharger(ocpp.db, { chargePointId: "dev-tls-16", owner: "usr-tls-owner" });
  await seedCharger(ocpp.db, { chargePointId: "dev-tls-201" });
});
afterAll(async () => {
  await events?.close();
  await ocpp?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** What a websocket client got from a URL: the HTTP status of a refused upgrade, 101, or its socket error. */
function attempt(url: string, opts: WebSocket.ClientOptions, protocol = "ocpp1.6"): Promise<number | string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, [protocol], opts);
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("open", () => {
      resolve(101);
      ws.close();
    });
    ws.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe("security profile 2: OCPP over TLS with Basic auth", () => {
  it("a 1.6J charger that trusts the CA connects over wss with its password, boots and is connected", async () => {
    const client = new RPCClient({
      endpoint: wss,
      identity: "dev-tls-16",
      password: PASSWORD,
      protocols: ["ocpp1.6"],
      strictMode: true,
      reconnect: false,
      wsOpts: { ca },
    } as never);
    await client.connect();
    try {
      const answer = (await client.call("BootNotification", boot16)) as { status: string };
      expect(answer.status).toBe("Accepted");
      await events.waitFor(
        "connected over TLS",
        (m) => m.type === "charger.connected" && m.key === "dev-tls-16",
      );
      const res = await ocpp.app.inject({
        method: "GET",
        url: "/v1/orgs/org-ocpp-test/chargers/dev-tls-16",
        headers: ocpp.auth("usr-tls-owner"),
      });
      expect(res.json()).toMatchObject({ connected: true, bootStatus: "Accepted", vendor: "TestVendor" });
    } finally {
      await client.close({ force: true } as never);
    }
  });

  it("a 2.0.1 charger does the same", async () => {
    const client = new RPCClient({
      endpoint: wss,
      identity: "dev-tls-201",
      password: PASSWORD,
      protocols: ["ocpp2.0.1"],
      strictMode: true,
      reconnect: false,
      wsOpts: { ca },
    } as never);
    await client.connect();
    try {
      expect(await client.call("BootNotification", boot201)).toMatchObject({ status: "Accepted" });
    } finally {
      await client.close({ force: true } as never);
    }
  });

  it("refuses at the upgrade what the plain port refuses: a wrong or missing password is 401, an unknown charger 404", async () => {
    const tls = { ca };
    expect(
      await attempt(`${wss}/dev-tls-16`, {
        ...tls,
        headers: { authorization: basic("dev-tls-16", "wrong-password-123") },
      }),
    ).toBe(401);
    expect(await attempt(`${wss}/dev-tls-16`, tls)).toBe(401);
    expect(
      await attempt(`${wss}/dev-nobody`, {
        ...tls,
        headers: { authorization: basic("dev-nobody", PASSWORD) },
      }),
    ).toBe(404);
    expect(
      await attempt(`${wss}/dev-tls-16`, {
        ...tls,
        headers: { authorization: basic("dev-tls-16", PASSWORD) },
      }),
    ).toBe(101);
  });

  it("a plain ws client never reaches HTTP on the TLS port, and a client that does not trust the CA is stopped in the handshake", async () => {
    const headers = { authorization: basic("dev-tls-16", PASSWORD) };
    const plain = await attempt(`ws://127.0.0.1:${ocpp.tls!.port}/ocpp/dev-tls-16`, { headers });
    expect(typeof plain).toBe("string"); // a socket error (the connection ended), not an HTTP answer
    expect(["ECONNRESET", "socket hang up", "EPIPE"]).toContain(plain);
    // without the platform's CA the server's certificate is not trusted
    expect(await attempt(`${wss}/dev-tls-16`, { headers })).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    // no refused attempt became a session
    await events.waitFor(
      "the two accepted connections",
      (m) => m.type === "charger.connected" && m.key === "dev-tls-16",
      2,
    );
    const connected = events.messages.filter((m) => m.type === "charger.connected" && m.key === "dev-tls-16");
    expect(connected).toHaveLength(2);
  });

  it("a charger set to security profile 2 is refused over plain ws (403: no downgrade) and taken over wss", async () => {
    await seedCharger(ocpp.db, { chargePointId: "dev-tls-p2", owner: "usr-tls-owner", password: null });
    const set = await ocpp.app.inject({
      method: "PUT",
      url: "/v1/orgs/org-ocpp-test/chargers/dev-tls-p2/password",
      headers: ocpp.auth("usr-tls-owner"),
      payload: { password: PASSWORD, securityProfile: 2 },
    });
    expect(set.statusCode).toBe(204);
    const headers = { authorization: basic("dev-tls-p2", PASSWORD) };
    expect(await attempt(`${ocpp.endpoint}/dev-tls-p2`, { headers })).toBe(403);
    expect(await attempt(`${wss}/dev-tls-p2`, { ca, headers })).toBe(101);
    // a wrong password is still 401 on either
    const wrong = { authorization: basic("dev-tls-p2", "wrong-password-123") };
    expect(await attempt(`${ocpp.endpoint}/dev-tls-p2`, { headers: wrong })).toBe(401);
    // profile 1 chargers may use either
    const p1 = { authorization: basic("dev-tls-201", PASSWORD) };
    expect(await attempt(`${ocpp.endpoint}/dev-tls-201`, { headers: p1 }, "ocpp2.0.1")).toBe(101);
    const view = await ocpp.app.inject({
      method: "GET",
      url: "/v1/orgs/org-ocpp-test/chargers/dev-tls-p2",
      headers: ocpp.auth("usr-tls-owner"),
    });
    expect(view.json()).toMatchObject({ hasPassword: true, securityProfile: 2 });
    const bad = await ocpp.app.inject({
      method: "PUT",
      url: "/v1/orgs/org-ocpp-test/chargers/dev-tls-p2/password",
      headers: ocpp.auth("usr-tls-owner"),
      payload: { password: PASSWORD, securityProfile: 3 },
    });
    expect(bad.statusCode).toBe(400);
    // a new password without a profile keeps profile 2
    await ocpp.app.inject({
      method: "PUT",
      url: "/v1/orgs/org-ocpp-test/chargers/dev-tls-p2/password",
      headers: ocpp.auth("usr-tls-owner"),
      payload: { password: "another-horse-battery-9" },
    });
    const again = { authorization: basic("dev-tls-p2", "another-horse-battery-9") };
    expect(await attempt(`${ocpp.endpoint}/dev-tls-p2`, { headers: again })).toBe(403);
    expect(await attempt(`${wss}/dev-tls-p2`, { ca, headers: again })).toBe(101);
  });

  it("with OCPP_PLAIN_WS=false (a second instance) the plain port refuses every charger with 403", async () => {
    const tlsOnly = await startOcpp(
      {
        OCPP_TLS_PORT: "0",
        OCPP_TLS_CERT_FILE: join(dir, "server.crt"),
        OCPP_TLS_KEY_FILE: join(dir, "server.key"),
        OCPP_PLAIN_WS: "false",
      },
      { shareWith: ocpp },
    );
    try {
      const headers = { authorization: basic("dev-tls-16", PASSWORD) };
      expect(await attempt(`${tlsOnly.endpoint}/dev-tls-16`, { headers })).toBe(403);
      expect(await attempt(`${tlsOnly.endpoint}/dev-tls-201`, { headers: {} }, "ocpp2.0.1")).toBe(403);
      expect(await attempt(`wss://localhost:${tlsOnly.tls!.port}/ocpp/dev-tls-16`, { ca, headers })).toBe(
        101,
      );
      // the HTTP API is still there
      expect((await tlsOnly.app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    } finally {
      await tlsOnly.close();
    }
  });

  it("an HTTP request to the TLS port that is not an upgrade is answered 426 under /ocpp/", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      import("node:https").then(({ get }) =>
        get(`https://localhost:${ocpp.tls!.port}/ocpp/dev-tls-16`, { ca }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on("error", reject),
      );
    });
    expect(status).toBe(426);
  });

  it("OCPP_TLS_PORT without its certificate files stops start-up naming them", () => {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const env = {
      DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/x",
      KAFKA_BROKERS: "127.0.0.1:9092",
      JWT_PUBLIC_KEY: publicKey.export({ type: "spki", format: "pem" }).toString(),
      OCPP_TLS_PORT: "4443",
    };
    expect(() => readConfig(env)).toThrow(ConfigError);
    expect(() => readConfig(env)).toThrow(/OCPP_TLS_CERT_FILE: required.*OCPP_TLS_KEY_FILE: required/);
    expect(
      readConfig({ ...env, OCPP_TLS_CERT_FILE: "/c.pem", OCPP_TLS_KEY_FILE: "/k.pem" }).OCPP_TLS_PORT,
    ).toBe(4443);
    // no plain ws and no TLS listener: no charger could connect
    const { OCPP_TLS_PORT: _, ...plainOnly } = env;
    expect(() => readConfig({ ...plainOnly, OCPP_PLAIN_WS: "false" })).toThrow(/OCPP_PLAIN_WS/);
  });
});
