/**
 * A real local EVM chain: anvil, from the npm package @foundry-rs/anvil (its platform package ships the
 * binary; nothing is downloaded). Used by tests (one chain per test file, on a port the OS picks, so files
 * run in parallel without colliding) and by the launcher (a fixed port).
 *
 *   node infra/anvil/anvil.ts [--port 8545] [--block-time 1]     runs in the foreground until Ctrl-C
 *
 * The chain starts with anvil's well-known dev accounts (mnemonic "test test … junk"): ANVIL_KEYS below.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** Private keys of anvil's first dev accounts (public knowledge: for local chains only). */
export const ANVIL_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
] as const;

export interface AnvilOptions {
  /** 0 (default): a free port chosen by the OS, read back from anvil's output. */
  port?: number;
  host?: string;
  /** Seconds between blocks; default: mine on every transaction (automine). */
  blockTime?: number;
  chainId?: number;
  /** Extra anvil arguments. */
  args?: string[];
}

export interface Anvil {
  url: string;
  port: number;
  chainId: number;
  process: ChildProcess;
  /** Stops anvil (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Path of the anvil binary inside the platform package of @foundry-rs/anvil. */
export function anvilBinary(): string {
  const require = createRequire(import.meta.url);
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const wrapper = require.resolve("@foundry-rs/anvil/bin.mjs");
  const platformPackage = `@foundry-rs/anvil-${process.platform}-${arch}/package.json`;
  const manifest = createRequire(wrapper).resolve(platformPackage);
  return join(dirname(manifest), "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
}

/** Starts anvil and resolves once it listens (its "Listening on host:port" line). */
export function startAnvil(opts: AnvilOptions = {}): Promise<Anvil> {
  const host = opts.host ?? "127.0.0.1";
  const chainId = opts.chainId ?? 31_337;
  const args = ["--host", host, "--port", String(opts.port ?? 0), "--chain-id", String(chainId)];
  if (opts.blockTime) args.push("--block-time", String(opts.blockTime));
  args.push(...(opts.args ?? []));
  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`anvil did not start within 15 s:\n${output}`));
    }, 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Listening on ([\d.]+):(\d+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stdout?.resume(); // keep draining its output
      const port = Number(match[2]);
      resolve({ url: `http://${host}:${port}`, port, chainId, process: child, stop });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`anvil exited (${code}) before it listened:\n${output}`));
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const flag = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const anvil = await startAnvil({
    port: Number(flag("--port") ?? 8545),
    ...(flag("--block-time") ? { blockTime: Number(flag("--block-time")) } : {}),
  });
  console.log(`anvil listening on ${anvil.url} (chain id ${anvil.chainId})`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void anvil.stop());
  anvil.process.once("exit", () => process.exit(0));
}
