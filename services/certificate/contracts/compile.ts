/**
 * Compiles CertificateRegistry.sol offline with solc-js (the compiler is the npm package `solc`, pinned;
 * OpenZeppelin's sources come from node_modules) and writes its ABI and bytecode to
 * CertificateRegistry.json, which is checked in: the service and the launcher deploy from it, and
 * test/artifact.test.ts fails when it does not match what this source compiles to. It runs in the
 * package's build (`prisma generate && node --import tsx contracts/compile.ts`, turbo inputs in
 * services/certificate/turbo.json), so a built tree always deploys what its source compiles to; the file
 * is rewritten only when it changed.
 *
 *   node --import tsx contracts/compile.ts          (or `pnpm compile-contract` in services/certificate)
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const SOURCE_FILE = "CertificateRegistry.sol";
export const ARTIFACT_FILE = join(here, "CertificateRegistry.json");
/** OpenZeppelin 5 uses mcopy (Cancun); anvil's default hardfork supports it. */
export const EVM_VERSION = "cancun";

export interface RegistryArtifact {
  contractName: string;
  compiler: string;
  evmVersion: string;
  optimizerRuns: number;
  /** sha256 of the Solidity source and every file it imports, in compile order */
  sourceHash: string;
  abi: unknown[];
  bytecode: string;
  deployedBytecode: string;
}

interface SolcOutput {
  errors?: Array<{ severity: string; formattedMessage: string }>;
  sources: Record<string, unknown>;
  contracts: Record<
    string,
    Record<
      string,
      { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }
    >
  >;
}

/** Compiles the registry; throws with solc's messages on any error. */
export function compileRegistry(): RegistryArtifact {
  const solc = require("solc") as { version(): string; compile(input: string, opts: object): string };
  const read: Record<string, string> = {};
  const findImports = (path: string) => {
    try {
      const contents = readFileSync(require.resolve(path), "utf8");
      read[path] = contents;
      return { contents };
    } catch {
      return { error: `not found: ${path}` };
    }
  };
  const source = readFileSync(join(here, SOURCE_FILE), "utf8");
  const optimizerRuns = 200;
  const input = {
    language: "Solidity",
    sources: { [SOURCE_FILE]: { content: source } },
    settings: {
      evmVersion: EVM_VERSION,
      optimizer: { enabled: true, runs: optimizerRuns },
      // No metadata hash in the bytecode: the artifact then depends on the sources only, not on paths.
      metadata: { bytecodeHash: "none" },
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  const compiled = output.contracts[SOURCE_FILE]?.["CertificateRegistry"];
  if (!compiled) throw new Error("solc produced no CertificateRegistry");
  const hash = createHash("sha256").update(source);
  for (const path of Object.keys(read).sort()) hash.update(path).update(read[path]!);
  return {
    contractName: "CertificateRegistry",
    compiler: `solc-js ${solc.version()}`,
    evmVersion: EVM_VERSION,
    optimizerRuns,
    sourceHash: hash.digest("hex"),
    abi: compiled.abi,
    bytecode: `0x${compiled.evm.bytecode.object}`,
    deployedBytecode: `0x${compiled.evm.deployedBytecode.object}`,
  };
}

export const serializeArtifact = (artifact: RegistryArtifact) => `${JSON.stringify(artifact, null, 2)}\n`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const artifact = compileRegistry();
  const text = serializeArtifact(artifact);
  const size = `${artifact.compiler}, ${(artifact.deployedBytecode.length - 2) / 2} bytes deployed`;
  let current = "";
  try {
    current = readFileSync(ARTIFACT_FILE, "utf8");
  } catch {}
  if (current === text) console.log(`${ARTIFACT_FILE} is up to date: ${size}`);
  else {
    writeFileSync(ARTIFACT_FILE, text);
    console.log(`wrote ${ARTIFACT_FILE}: ${size} (the source changed: commit it)`);
  }
}
