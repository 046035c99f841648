import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ApiError, KeyFileError, loginAlgorithm, readPrivateKey } from "@energy/client";
import { jwtClaims, parseCommand } from "../args.ts";
import { configDir, serviceUrl } from "../config.ts";
import { CliError, usageError } from "../errors.ts";
import {
  currentToken,
  deleteSession,
  loginWithKeyFile,
  readSession,
  sessionFile,
  writeSession,
} from "../session.ts";

export const LOGIN_HELP = `usage: energy login --key <private key file> [--identity <id>] [--registry <url>] [--key-id <id>]

Logs in to the registry with a private key, through its challenge and verify (POST /auth/challenge, then
the signature of the nonce to POST /auth/verify), and keeps the tokens in the session file
($ENERGY_CONFIG_DIR, else ~/.config/energy: session.json, mode 0600). \`energy api\` renews the access token
when it is about to expire: with the refresh token, else by logging in again with the same key file.

  --key <file>       Ed25519 (people: user, admin, root) or ES256/P-256 (machines: gateway, device,
                     integration) private key: PEM (PKCS#8 as tools/dev.ts writes, or SEC1), a JWK with
                     "d", or an Ed25519 32-byte seed in hex or base64
  --identity <id>    the identity the key belongs to (usr-…, zap-…, root), optional: without it the
                     challenge is asked for the key's public half, and the registry finds the key's
                     identity once the signature checks out (it tells nobody without the private key)
  --registry <url>   default $ENERGY_REGISTRY_URL, else the session's, else http://127.0.0.1:4001
  --key-id <id>      the key's id (key-…), when the identity has several keys (optional)

Related: energy token (prints a valid access token), energy logout (forgets the session).`;

export async function login(argv: string[]): Promise<number> {
  const { values } = parseCommand("login", argv, {
    key: { type: "string" },
    identity: { type: "string" },
    registry: { type: "string" },
    "key-id": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(LOGIN_HELP);
    return 0;
  }
  if (!values.key) throw usageError(`login: --key <private key file> is required\n\n${LOGIN_HELP}`);
  const dir = configDir();
  const keyFile = resolve(values.key);
  let algorithm: string;
  try {
    algorithm = loginAlgorithm(readPrivateKey(readFileSync(keyFile)));
  } catch (error) {
    if (error instanceof KeyFileError) throw new CliError(`${keyFile}: ${error.message}`);
    throw new CliError(`cannot read the key file ${keyFile}: ${(error as Error).message}`);
  }
  const previous = readSession(dir);
  const identityId = values.identity ?? null;
  const registryUrl =
    values.registry ?? serviceUrl("registry", { sessionRegistryUrl: previous?.registryUrl });
  let session: Awaited<ReturnType<typeof loginWithKeyFile>>;
  try {
    session = await loginWithKeyFile({ registryUrl, identityId, keyFile, keyId: values["key-id"] });
  } catch (error) {
    if (error instanceof ApiError) {
      throw new CliError(
        error.status === 0
          ? `cannot reach the registry at ${registryUrl}: ${error.message}`
          : `login refused: ${error.message}`,
      );
    }
    throw error;
  }
  writeSession(dir, session);
  const claims = jwtClaims(session.accessToken);
  const minutes = Math.round((Date.parse(session.expiresAt) - Date.now()) / 60_000);
  console.log(
    `logged in to ${registryUrl} as ${session.identityId}${claims.typ ? ` (${claims.typ})` : ""} with the ` +
      `${algorithm} key ${keyFile}; the access token lasts ${minutes} min and is renewed as needed; ` +
      `session kept in ${sessionFile(dir)}`,
  );
  return 0;
}

export const TOKEN_HELP = `usage: energy token [--refresh]

Prints the session's access token (renewed first when it expires within a minute), e.g. for
curl -H "authorization: Bearer $(pnpm -s energy token)" …

  --refresh   renew it now, whatever its expiry`;

export async function token(argv: string[]): Promise<number> {
  const { values } = parseCommand("token", argv, {
    refresh: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(TOKEN_HELP);
    return 0;
  }
  const accessToken = await currentToken(configDir(), { force: values.refresh ?? false });
  if (!accessToken) throw new CliError("not logged in: run energy login --key <file>");
  console.log(accessToken);
  return 0;
}

export const LOGOUT_HELP = `usage: energy logout

Forgets the session (deletes session.json from the config directory).`;

export async function logout(argv: string[]): Promise<number> {
  const { values } = parseCommand("logout", argv, { help: { type: "boolean", short: "h" } });
  if (values.help) {
    console.log(LOGOUT_HELP);
    return 0;
  }
  const dir = configDir();
  console.log(deleteSession(dir) ? `logged out (${sessionFile(dir)} deleted)` : "not logged in");
  return 0;
}
