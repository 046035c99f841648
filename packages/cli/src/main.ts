/**
 * `energy`: the platform from a terminal, for the people who use it. Log in with a key file, call any
 * service's HTTP API with the token, tail a topic decoded against the catalog.
 */
import { KeyFileError } from "@energy/client";
import { CliError } from "./errors.ts";

export const USAGE = `usage: energy <command> [options]     (from the checkout: pnpm energy <command> …)

Commands:
  login    log in to the registry with an Ed25519 or ES256 private key file; keeps the token
  api      call a service's HTTP API with the token: energy api GET /organizations
  tail     print a topic's messages decoded and checked against the catalog
  token    print a valid access token (for curl and scripts)
  logout   forget the session

energy <command> --help says more.`;

type Command = { run: (argv: string[]) => Promise<number>; help: string };

// Loaded on use: `tail` alone needs kafkajs and the catalog.
const COMMANDS: Record<string, () => Promise<Command>> = {
  login: async () => {
    const m = await import("./commands/login.ts");
    return { run: m.login, help: m.LOGIN_HELP };
  },
  api: async () => {
    const m = await import("./commands/api.ts");
    return { run: m.api, help: m.API_HELP };
  },
  tail: async () => {
    const m = await import("./commands/tail.ts");
    return { run: m.tail, help: m.TAIL_HELP };
  },
  token: async () => {
    const m = await import("./commands/login.ts");
    return { run: m.token, help: m.TOKEN_HELP };
  },
  logout: async () => {
    const m = await import("./commands/login.ts");
    return { run: m.logout, help: m.LOGOUT_HELP };
  },
};

/** Runs one command line; resolves to the exit code (0 done, 1 failed, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    if (name === undefined) {
      console.error(USAGE);
      return 2;
    }
    const topic =
      name === "help" && rest[0] && Object.hasOwn(COMMANDS, rest[0]) ? COMMANDS[rest[0]] : undefined;
    console.log(topic ? (await topic()).help : USAGE);
    return 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    console.error(`energy: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await (await load()).run(rest);
  } catch (error) {
    if (error instanceof CliError) {
      console.error(`energy ${name}: ${error.message.replace(new RegExp(`^${name}: `), "")}`);
      return error.exitCode;
    }
    if (error instanceof KeyFileError) {
      console.error(`energy ${name}: ${error.message}`);
      return 1;
    }
    console.error(`energy ${name}: ${(error as Error).stack ?? String(error)}`);
    return 1;
  }
}
