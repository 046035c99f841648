/**
 * The `energy` CLI as a person runs it: a child process against the registry's real server.ts (its own
 * database and topic prefix on the run's PostgreSQL and Kafka) and the real broker.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ApiClient, keyLogin, publicKeyPem } from "@energy/client";
import { catalog, topics } from "@energy/contracts";
import { createEnvelope, envelopeToHeaders } from "@energy/kafka";
import { type ServiceProcess, spawnService } from "@energy/service-kit/testing";
import { createTestDatabase, createTestKafka, type TestDatabase, type TestKafka } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { energy, startEnergy } from "./cli-process.ts";

const registryDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "services", "registry");
// What the registry's server.ts needs on the broker: the topics it owns and the one it consumes.
// what the registry publishes and the two topics it consumes (a consumer of a topic that does not exist
// stops its start)
const REGISTRY_TOPICS = [
  ...catalog.filter((t) => t.owner === "registry").map((t) => t.name),
  topics.ingestionLiveness.name,
  topics.reservationReservation.name,
];

const pem = (key: KeyObject) => key.export({ type: "pkcs8", format: "pem" }).toString();

describe("energy, the command-line tool, against the real registry and Kafka", () => {
  let database: TestDatabase;
  let testKafka: TestKafka;
  let registry: ServiceProcess;
  const work = mkdtempSync(join(tmpdir(), "energy-cli-test-"));
  const rootKeys = generateKeyPairSync("ed25519");
  const rootKeyFile = join(work, "root.key");
  let rootToken: string;

  /** A fresh config directory: one person's session. */
  const person = (name: string) => ({ ENERGY_CONFIG_DIR: mkdtempSync(join(work, `${name}-`)) });

  /** A key file (PKCS#8 PEM, as tools/dev.ts writes them) and its identity, registered by the root. */
  async function registered(type: "user" | "gateway", by = rootToken) {
    const keys =
      type === "user" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
    const keyFile = join(mkdtempSync(join(work, `${type}-`)), `${type}.key`);
    writeFileSync(keyFile, pem(keys.privateKey), { mode: 0o600 });
    const { id } = await new ApiClient(registry.url).request<{ id: string }>("POST", "/identities", {
      body: { type, name: `CLI test ${type}`, publicKey: publicKeyPem(keys.privateKey) },
      token: by,
    });
    return { id, keyFile, privateKey: keys.privateKey };
  }

  /** A person logged in through the CLI with a key file. */
  async function loggedIn(identity: { id: string; keyFile: string }) {
    const env = { ...person("session"), ENERGY_REGISTRY_URL: registry.url };
    const run = await energy(["login", "--key", identity.keyFile, "--identity", identity.id], env);
    expect(run, run.stderr).toMatchObject({ code: 0 });
    return env;
  }

  beforeAll(async () => {
    [database, testKafka] = await Promise.all([
      createTestDatabase({ cwd: registryDir }),
      createTestKafka({ topics: REGISTRY_TOPICS }),
    ]);
    const jwtKeys = generateKeyPairSync("ec", { namedCurve: "P-256" });
    registry = await spawnService(registryDir, {
      NODE_ENV: "test",
      LOG_LEVEL: "warn",
      DATABASE_URL: database.url,
      KAFKA_BROKERS: testKafka.brokers,
      KAFKA_TOPIC_PREFIX: testKafka.topicPrefix,
      JWT_PUBLIC_KEY: jwtKeys.publicKey.export({ type: "spki", format: "pem" }).toString(),
      JWT_PRIVATE_KEY: pem(jwtKeys.privateKey),
      ROOT_PUBLIC_KEY: rootKeys.publicKey.export({ type: "spki", format: "pem" }).toString(),
    });
    writeFileSync(rootKeyFile, pem(rootKeys.privateKey), { mode: 0o600 });
    rootToken = (await keyLogin(new ApiClient(registry.url), "root", rootKeys.privateKey)).accessToken;
  });
  afterAll(async () => {
    await registry?.kill();
    await database?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it("logs in with a key file, keeps the session 0600, and calls the registry with the token (pretty JSON)", async () => {
    const env = { ...person("root"), ENERGY_REGISTRY_URL: registry.url };
    const login = await energy(["login", "--key", rootKeyFile, "--identity", "root"], env);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain(`logged in to ${registry.url} as root (root) with the Ed25519 key`);
    const session = join(env.ENERGY_CONFIG_DIR, "session.json");
    expect(statSync(session).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(session, "utf8"))).toMatchObject({
      identityId: "root",
      keyFile: rootKeyFile,
    });

    // The root registers a user (a POST with a JSON body from stdin), who logs in with its own key file.
    const user = generateKeyPairSync("ed25519");
    const userKeyFile = join(work, "paul.key");
    writeFileSync(userKeyFile, pem(user.privateKey), { mode: 0o600 });
    const body = JSON.stringify({ type: "user", name: "Paul", publicKey: publicKeyPem(user.privateKey) });
    const registeredUser = await energy(["api", "POST", "/identities", "-"], env, body);
    expect(registeredUser.code, registeredUser.stderr).toBe(0);
    const { id: userId } = JSON.parse(registeredUser.stdout) as { id: string };
    expect(userId).toMatch(/^usr-/);

    const paul = await loggedIn({ id: userId, keyFile: userKeyFile });
    const created = await energy(
      ["api", "post", "/organizations", '{"name":"Paul\'s Co-op","kind":"developer"}'],
      paul,
    );
    expect(created.code, created.stderr).toBe(0);
    const org = JSON.parse(created.stdout) as { id: string; name: string };

    // As a person types it at the checkout's root.
    const read = await energy(["api", "GET", `/organizations/${org.id}`, "--service", "registry"], paul, "", {
      viaPnpm: true,
    });
    expect(read.code, read.stderr).toBe(0);
    expect(JSON.parse(read.stdout)).toMatchObject({ id: org.id, name: "Paul's Co-op" });
    expect(read.stdout).toBe(`${JSON.stringify(JSON.parse(read.stdout), null, 2)}\n`); // pretty, as it came
    expect(read.stderr).toBe("");
  });

  it("a refused request prints the service's error on stderr and exits 1", async () => {
    const paul = await loggedIn(await registered("user"));
    const missing = await energy(["api", "GET", "/organizations/org-000000000000"], paul);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe("");
    expect(missing.stderr).toContain(
      `GET ${registry.url}/organizations/org-000000000000 answered 404 not_found`,
    );
    expect(missing.stderr).toContain('"code": "not_found"');

    // A user may not register an admin: 403, named.
    const forbidden = await energy(
      [
        "api",
        "POST",
        "/identities",
        JSON.stringify({ type: "admin", name: "x", publicKey: "00".repeat(32) }),
      ],
      paul,
    );
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/answered 403 forbidden/);

    // Nobody logged in: the registry's 401, and what to do about it.
    const anonymous = await energy(["api", "POST", "/organizations", '{"name":"x","kind":"developer"}'], {
      ...person("nobody"),
      ENERGY_REGISTRY_URL: registry.url,
    });
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/answered 401/);
    expect(anonymous.stderr).toContain("not logged in: run energy login");
  });

  it("a machine logs in with its ES256 key; an expiring token is refreshed, a dead refresh token replaced by a new login", async () => {
    const owner = await registered("user");
    const ownerToken = (await keyLogin(new ApiClient(registry.url), owner.id, owner.privateKey)).accessToken;
    const gateway = await registered("gateway", ownerToken);
    const env = await loggedIn(gateway);
    const sessionPath = join(env.ENERGY_CONFIG_DIR, "session.json");
    const session = () => JSON.parse(readFileSync(sessionPath, "utf8"));
    const first = session();
    expect(first.identityId).toMatch(/^zap-/);

    // Valid for long enough: the same token, no call to the registry.
    expect((await energy(["token"], env)).stdout.trim()).toBe(first.accessToken);

    // Near its expiry: renewed with the refresh token (which the registry rotates).
    writeFileSync(
      sessionPath,
      JSON.stringify({ ...first, expiresAt: new Date(Date.now() + 10_000).toISOString() }),
    );
    const refreshed = await energy(["token"], env);
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(refreshed.stdout.trim()).not.toBe(first.accessToken);
    expect(session().refreshToken).not.toBe(first.refreshToken);
    expect(Date.parse(session().expiresAt)).toBeGreaterThan(Date.now() + 60_000);
    expect(statSync(sessionPath).mode & 0o777).toBe(0o600);
    // The used refresh token is revoked: refreshing with it again is refused.
    const reuse = await new ApiClient(registry.url).send("POST", "/auth/refresh", {
      body: { refreshToken: first.refreshToken },
    });
    expect(reuse.status).toBe(401);

    // Expired, and its refresh token can never work (not one the registry issued): only a new login with
    // the kept key file can give a token now.
    const second = session();
    writeFileSync(
      sessionPath,
      JSON.stringify({
        ...second,
        refreshToken: "never-issued-refresh-token",
        expiresAt: new Date(0).toISOString(),
      }),
    );
    const relogged = await energy(["token"], env);
    expect(relogged.code, relogged.stderr).toBe(0);
    const third = session();
    expect(third.accessToken).not.toBe(second.accessToken);
    expect(third.refreshToken).not.toBe("never-issued-refresh-token");
    expect(third.identityId).toBe(first.identityId);
    // the registry takes the new token (an organization it is not in: 404, not the 401 of a bad token)
    const api = new ApiClient(registry.url);
    expect((await api.send("GET", "/organizations/org-none", { token: third.accessToken })).status).toBe(404);
    expect((await api.send("GET", "/organizations/org-none", { token: "garbage" })).status).toBe(401);
  });

  it("logs in with the key file alone: the registry finds the key's identity once the nonce is signed", async () => {
    const user = await registered("user");
    const gateway = await registered("gateway");
    for (const [who, algorithm] of [
      [user, "Ed25519"],
      [gateway, "ES256"],
    ] as const) {
      const env = { ...person("by-key"), ENERGY_REGISTRY_URL: registry.url };
      const login = await energy(["login", "--key", who.keyFile], env);
      expect(login.code, login.stderr).toBe(0);
      expect(login.stdout).toContain(`logged in to ${registry.url} as ${who.id}`);
      expect(login.stdout).toContain(`with the ${algorithm} key ${who.keyFile}`);
      const session = JSON.parse(readFileSync(join(env.ENERGY_CONFIG_DIR, "session.json"), "utf8"));
      expect(session).toMatchObject({ identityId: who.id, keyFile: who.keyFile });
      // the session's token was issued to the key's identity
      const token = await energy(["token"], env);
      expect(
        JSON.parse(Buffer.from(token.stdout.trim().split(".")[1] ?? "", "base64url").toString()),
      ).toMatchObject({ sub: who.id });
    }

    // a key no identity has: refused, exit 1, and nothing kept
    const stranger = generateKeyPairSync("ed25519");
    const strangerFile = join(work, "stranger.key");
    writeFileSync(strangerFile, pem(stranger.privateKey), { mode: 0o600 });
    const env = { ...person("stranger"), ENERGY_REGISTRY_URL: registry.url };
    const refused = await energy(["login", "--key", strangerFile], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("login refused:");
    expect(refused.stderr).toContain("401 invalid_signature: No identity logs in with this key");
    expect(await energy(["token"], env)).toMatchObject({
      code: 1,
      stderr: expect.stringContaining("not logged in: run energy login --key <file>"),
    });
  });

  it("refuses bad input with usage errors (exit 2), and says when a service cannot be reached (exit 1)", async () => {
    const env = { ...person("typo"), ENERGY_REGISTRY_URL: registry.url };
    const unknown = await energy(["frobnicate"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect(unknown.stderr).toContain("usage: energy <command>");

    expect(await energy(["api", "PUT", "/x"], env)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown method "PUT"; expected one of GET, POST, PATCH, DELETE'),
    });
    expect(await energy(["api", "POST", "/organizations", "{name:"], env)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("the body argument is not valid JSON"),
    });
    expect(await energy(["api", "GET", "/x", "--service", "nope"], env)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown service "nope"'),
    });
    expect(await energy(["tail", "someone.nothing.v1"], env)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("is not a topic of the catalog"),
    });
    expect(
      await energy(["tail", topics.registryOrganization.name, "--type", "organization.exploded"], env),
    ).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("has no event type"),
    });

    const down = await energy(["api", "GET", "/organizations", "--service", "ingestion"], {
      ...env,
      ENERGY_INGESTION_URL: "http://127.0.0.1:9",
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("cannot reach ingestion at http://127.0.0.1:9");

    const help = await energy(["tail", "--help"], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: energy tail <topic>");
  });

  it("tail prints what is published from now on, decoded against the catalog, and reports an invalid message without stopping", async () => {
    const owner = await registered("user");
    const ownerToken = (await keyLogin(new ApiClient(registry.url), owner.id, owner.privateKey)).accessToken;
    const client = new ApiClient(registry.url);
    const createOrg = (name: string) =>
      client.request<{ id: string }>("POST", "/organizations", {
        body: { name, kind: "developer" },
        token: ownerToken,
      });
    const before = await createOrg("Before the tail");
    const topic = topics.registryOrganization.name;
    const kafkaFlags = ["--brokers", testKafka.brokers, "--prefix", testKafka.topicPrefix];

    const tail = startEnergy(["tail", topic, ...kafkaFlags, "--json"], {});
    try {
      await tail.waitFor("the tail to start", ({ stderr }) => stderr.includes("from now"));
      const after = await createOrg("After the tail");
      const producer = testKafka.kafka.producer();
      await producer.connect();
      const envelope = (type: string) => envelopeToHeaders(createEnvelope({ type, source: "registry" }));
      await producer.send({
        topic: testKafka.topicPrefix + topic,
        messages: [
          {
            key: "org-broken",
            value: JSON.stringify({ orgId: 42 }),
            headers: envelope("organization.created"),
          },
          { key: "org-bare", value: "{}" },
          {
            key: after.id,
            value: JSON.stringify({ orgId: after.id }),
            headers: envelope("organization.deleted"),
          },
        ],
      });
      await producer.disconnect();
      await tail.waitFor("four messages", ({ stdout }) => stdout.trim().split("\n").length >= 4);
      const lines = tail
        .stdout()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      // The outbox relay publishes asynchronously: the created event may come before or after the three.
      const created = lines.find((l) => l.type === "organization.created" && l.valid);
      expect(created).toMatchObject({
        topic,
        key: after.id,
        valid: true,
        envelope: { source: "registry", type: "organization.created" },
        payload: { orgId: after.id, name: "After the tail" },
      });
      expect(lines.find((l) => l.key === "org-broken")).toMatchObject({
        valid: false,
        type: "organization.created",
        reason: expect.stringMatching(/^invalid organization\.created: payload\.orgId: /),
      });
      expect(lines.find((l) => l.key === "org-bare")).toMatchObject({
        valid: false,
        type: null,
        reason: 'message has no "envelope" header',
        value: "{}",
      });
      expect(lines.find((l) => l.type === "organization.deleted")).toMatchObject({
        valid: true,
        key: after.id,
      });
      expect(lines.map((l) => l.key)).not.toContain(before.id); // from now: not what came before
      expect(lines).toHaveLength(4);
    } finally {
      expect(await tail.stop()).toBe(0);
    }

    // From the beginning, one key, one event type, as a person reads it; --max ends it.
    const history = await energy(
      [
        "tail",
        topic,
        ...kafkaFlags,
        "--from-beginning",
        "--key",
        before.id,
        "--type",
        "organization.created",
        "--max",
        "1",
      ],
      {},
    );
    expect(history.code, history.stderr).toBe(0);
    const [header, ...payload] = history.stdout.trim().split("\n");
    expect(header).toMatch(
      new RegExp(
        `^── ${topic.replaceAll(".", "\\.")} partition \\d+ offset \\d+ · key ${before.id} · organization\\.created · `,
      ),
    );
    expect(JSON.parse(payload.join("\n"))).toMatchObject({ orgId: before.id, name: "Before the tail" });
  });
});
