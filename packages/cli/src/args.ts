import { type ParseArgsConfig, parseArgs } from "node:util";
import { usageError } from "./errors.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** node:util parseArgs, strict, with a usage error (exit 2) that names the command for what it refuses. */
export function parseCommand<O extends Options>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError(`${command}: ${(error as Error).message} (see energy ${command} --help)`);
  }
}

/** The claims of a JWT, read without checking it (to say who and until when). */
export function jwtClaims(token: string): { sub?: string; typ?: string; exp?: number } {
  try {
    return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
  } catch {
    return {};
  }
}
