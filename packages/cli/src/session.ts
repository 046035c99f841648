/**
 * The logged-in session: who, at which registry, with which key file, and the tokens. Kept in
 * <config dir>/session.json, readable by the user alone (0600, in a 0700 directory). An access token
 * near its expiry is renewed with the refresh token (POST /auth/refresh), or, when that no longer works,
 * by logging in again with the key file.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ApiClient,
  ApiError,
  identityOf,
  keyLogin,
  readPrivateKey,
  refreshTokens,
  type Tokens,
} from "@energy/client";
import { CliError } from "./errors.ts";

export interface Session {
  registryUrl: string;
  identityId: string;
  /** absolute path of the private key file it logged in with */
  keyFile: string;
  keyId?: string;
  accessToken: string;
  refreshToken: string;
  /** when the access token expires (ISO) */
  expiresAt: string;
}

/** Renew this long before the access token expires. */
export const RENEW_MARGIN_MS = 60_000;

export const sessionFile = (dir: string) => join(dir, "session.json");

export function readSession(dir: string): Session | null {
  const file = sessionFile(dir);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Session;
  } catch (error) {
    throw new CliError(`${file} is not readable (${(error as Error).message}): log in again`);
  }
}

export function writeSession(dir: string, session: Session): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = sessionFile(dir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

export function deleteSession(dir: string): boolean {
  const file = sessionFile(dir);
  if (!existsSync(file)) return false;
  rmSync(file);
  return true;
}

export function sessionFrom(
  tokens: Tokens,
  who: { registryUrl: string; identityId: string; keyFile: string; keyId?: string | undefined },
  now = Date.now(),
): Session {
  return {
    registryUrl: who.registryUrl,
    identityId: who.identityId,
    keyFile: who.keyFile,
    ...(who.keyId ? { keyId: who.keyId } : {}),
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    expiresAt: new Date(now + tokens.expiresIn * 1000).toISOString(),
  };
}

/**
 * Logs in with a key file: reads the key, challenge, signature, verify. Without an identity id the
 * challenge is asked for the key itself and the session's identity is the one the registry found for it.
 */
export async function loginWithKeyFile(who: {
  registryUrl: string;
  identityId: string | null;
  keyFile: string;
  keyId?: string | undefined;
}): Promise<Session> {
  let text: string;
  try {
    text = readFileSync(who.keyFile, "utf8");
  } catch (error) {
    throw new CliError(`cannot read the key file ${who.keyFile}: ${(error as Error).message}`);
  }
  const key = readPrivateKey(text);
  const tokens = await keyLogin(new ApiClient(who.registryUrl), who.identityId, key, {
    ...(who.keyId ? { keyId: who.keyId } : {}),
  });
  return sessionFrom(tokens, { ...who, identityId: who.identityId ?? identityOf(tokens.accessToken) });
}

const needsRenewal = (session: Session, now: number) =>
  Date.parse(session.expiresAt) - RENEW_MARGIN_MS <= now;

/**
 * The session's access token, renewed first when it expires within a minute (or when `force`): by
 * refresh token, else by the key file again. The renewed session is written back.
 */
export async function currentToken(dir: string, opts: { force?: boolean } = {}): Promise<string | null> {
  const session = readSession(dir);
  if (!session) return null;
  if (!opts.force && !needsRenewal(session, Date.now())) return session.accessToken;
  const renewed = await renew(session);
  writeSession(dir, renewed);
  return renewed.accessToken;
}

async function renew(session: Session): Promise<Session> {
  const registry = new ApiClient(session.registryUrl);
  try {
    return sessionFrom(await refreshTokens(registry, session.refreshToken), session);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
  }
  try {
    return await loginWithKeyFile(session);
  } catch (error) {
    throw new CliError(
      `the session of ${session.identityId} expired and logging in again with ${session.keyFile} failed ` +
        `(${(error as Error).message}); run: energy login --key <file>`,
    );
  }
}
