import { readFileSync } from "node:fs";
import { ApiClient, ApiError, type ApiResponse } from "@energy/client";
import { parseCommand } from "../args.ts";
import { configDir, isServiceName, SERVICE_NAMES, serviceUrl, urlVariable } from "../config.ts";
import { CliError, usageError } from "../errors.ts";
import { currentToken, readSession } from "../session.ts";

export const METHODS = ["GET", "POST", "PATCH", "DELETE"] as const;
type Method = (typeof METHODS)[number];

export const API_HELP = `usage: energy api <GET|POST|PATCH|DELETE> <path or URL> [<json> | @<file> | -] [--service <name or URL>]

Calls a service's HTTP API with the session's access token (see energy login) and prints the answer as
pretty JSON. An answer of 4xx or 5xx is printed on stderr and the exit code is 1.

  <path>              e.g. /organizations, or a whole URL (http://127.0.0.1:4002/organizations/…/twin)
  <json>              the request body: JSON text, @file.json to read it from a file, - for stdin
  --service, -s <s>   which service: ${SERVICE_NAMES.join(", ")} (default registry), or a base URL.
                      A service's URL is $ENERGY_<SERVICE>_URL (e.g. ${urlVariable("meter-read")}), else
                      (registry) the one logged in to, else its local port from tools/dev.ts (4001…4006)
  --no-token          send no token (public routes such as /auth/challenge, /healthz)

Examples:
  energy api GET /organizations
  energy api POST /organizations '{"name":"Co-op","kind":"developer"}'
  energy api GET /organizations/org-…/sites/sit-…/twin --service ingestion`;

export async function api(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand("api", argv, {
    service: { type: "string", short: "s" },
    "no-token": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(API_HELP);
    return 0;
  }
  const [methodArg, target, bodyArg, ...extra] = positionals;
  if (!methodArg || !target) throw usageError(`api: a method and a path are required\n\n${API_HELP}`);
  if (extra.length > 0) throw usageError(`api: unexpected arguments after the body: ${extra.join(" ")}`);
  const method = methodArg.toUpperCase() as Method;
  if (!METHODS.includes(method)) {
    throw usageError(`api: unknown method "${methodArg}"; expected one of ${METHODS.join(", ")}`);
  }
  if (method === "GET" && bodyArg !== undefined) throw usageError("api: a GET request takes no body");
  const body = bodyArg === undefined ? undefined : parseBody(bodyArg);

  const dir = configDir();
  const session = readSession(dir);
  const { baseUrl, path, service } = resolveTarget(target, values.service, session?.registryUrl);
  const client = new ApiClient(baseUrl);
  const useToken = !values["no-token"];
  const send = async (force = false): Promise<ApiResponse> => {
    const token = useToken ? await currentToken(dir, { force }) : null;
    return client.send(method, path, {
      ...(body !== undefined ? { body } : {}),
      ...(token ? { token } : {}),
    });
  };

  let res: ApiResponse;
  try {
    res = await send();
    // A token refused although it looked valid (revoked, the registry's key changed): renew once, retry.
    if (res.status === 401 && useToken && session) res = await send(true);
  } catch (error) {
    if (error instanceof ApiError && error.status === 0) {
      throw new CliError(`cannot reach ${service} at ${baseUrl}: ${error.message}`);
    }
    throw error;
  }

  if (res.status >= 200 && res.status < 300) {
    const out = formatBody(res);
    if (out) console.log(out);
    return 0;
  }
  const err = res.json as { error?: { code?: string; message?: string } } | undefined;
  const summary = err?.error?.code ? `${err.error.code}: ${err.error.message ?? ""}` : res.text.slice(0, 200);
  console.error(`${method} ${baseUrl}${path} answered ${res.status} ${summary}`);
  const detail = formatBody(res);
  if (detail) console.error(detail);
  if (res.status === 401) {
    console.error(
      session
        ? "the token was refused: log in again (energy login --key <file> --identity <id>)"
        : "not logged in: run energy login --key <file> --identity <id>",
    );
  }
  return 1;
}

/** The request body: JSON text, @file, or - (stdin); a usage error naming what is wrong otherwise. */
export function parseBody(arg: string): unknown {
  let text = arg;
  let from = "the body argument";
  if (arg === "-") {
    text = readFileSync(0, "utf8");
    from = "stdin";
  } else if (arg.startsWith("@")) {
    try {
      text = readFileSync(arg.slice(1), "utf8");
    } catch (error) {
      throw usageError(`api: cannot read ${arg.slice(1)}: ${(error as Error).message}`);
    }
    from = arg.slice(1);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw usageError(`api: ${from} is not valid JSON (${(error as Error).message})`);
  }
}

/** Which service, its base URL and the path, from the target and --service. */
export function resolveTarget(
  target: string,
  serviceFlag: string | undefined,
  sessionRegistryUrl: string | undefined,
): { baseUrl: string; path: string; service: string } {
  if (/^https?:\/\//.test(target)) {
    const url = new URL(target);
    return { baseUrl: url.origin, path: `${url.pathname}${url.search}`, service: url.host };
  }
  if (!target.startsWith("/"))
    throw usageError(`api: the path must start with / or be a URL, got "${target}"`);
  if (serviceFlag && /^https?:\/\//.test(serviceFlag)) {
    return { baseUrl: serviceFlag.replace(/\/+$/, ""), path: target, service: serviceFlag };
  }
  const service = serviceFlag ?? "registry";
  if (!isServiceName(service)) {
    throw usageError(
      `api: unknown service "${service}"; expected one of ${SERVICE_NAMES.join(", ")} or a URL`,
    );
  }
  return { baseUrl: serviceUrl(service, { sessionRegistryUrl }), path: target, service };
}

function formatBody(res: ApiResponse): string {
  if (res.json !== undefined) return JSON.stringify(res.json, null, 2);
  return res.text;
}
