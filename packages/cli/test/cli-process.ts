import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "@energy/testing";

/** The `energy` bin, as `pnpm energy` runs it (node_modules/.bin/energy points at it). */
export const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "energy.js");

/** The environment of a CLI run: the test's, without what would point the CLI elsewhere, plus `env`. */
function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const name of Object.keys(base)) {
    if (name.startsWith("ENERGY_") || name.startsWith("KAFKA_")) delete base[name];
  }
  return { ...base, ...env };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The checkout's root, where `pnpm energy …` is run. */
export const CHECKOUT = join(dirname(BIN), "..", "..", "..");

/**
 * Runs `energy <args>` as a child process to its end: the bin with this node, or (`viaPnpm`) exactly as
 * a person types it at the checkout's root, `pnpm energy <args>`.
 */
export function energy(
  args: string[],
  env: Record<string, string>,
  stdin?: string,
  opts: { viaPnpm?: boolean } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = opts.viaPnpm
      ? spawn("pnpm", ["energy", ...args], { cwd: CHECKOUT, env: cliEnv(env), stdio: "pipe" })
      : spawn(process.execPath, [BIN, ...args], { env: cliEnv(env), stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}

/** A long-running `energy <args>` (tail): its output so far, waiting for a line, and stopping it. */
export function startEnergy(args: string[], env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], { env: cliEnv(env), stdio: "pipe" });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr!.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    /** waits until stdout (or stderr) holds a match, failing early when the process ended */
    async waitFor(
      what: string,
      test: (out: { stdout: string; stderr: string }) => boolean,
      timeoutMs = 30_000,
    ) {
      let ended = false;
      void exited.then(() => {
        ended = true;
      });
      await waitFor(
        what,
        () => {
          if (test({ stdout, stderr })) return true;
          if (ended) throw new Error(`energy ${args.join(" ")} exited; stderr: ${stderr}; stdout: ${stdout}`);
          return false;
        },
        { timeoutMs, intervalMs: 50 },
      );
    },
    async stop(signal: NodeJS.Signals = "SIGINT") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
