import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ARTIFACT_FILE, compileRegistry, serializeArtifact } from "../contracts/compile.ts";

// The checked-in ABI and bytecode are what the Solidity source compiles to: a change to the contract
// without `pnpm compile-contract` (or an edited artifact) fails here.
describe("contract artifact", () => {
  it("matches what contracts/CertificateRegistry.sol compiles to", () => {
    const checkedIn = readFileSync(ARTIFACT_FILE, "utf8");
    const fresh = serializeArtifact(compileRegistry());
    const parse = (text: string) => JSON.parse(text) as Record<string, unknown>;
    expect(parse(checkedIn)["sourceHash"], "source changed: run `pnpm compile-contract`").toBe(
      parse(fresh)["sourceHash"],
    );
    expect(checkedIn).toBe(fresh);
  });
  it("is produced by the package's build, which turbo reruns when the source changes", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts["build"]).toMatch(/node --import tsx contracts\/compile\.ts/);
    const turbo = JSON.parse(readFileSync(new URL("../turbo.json", import.meta.url), "utf8")) as {
      tasks: { build: { inputs: string[]; outputs: string[] } };
    };
    expect(turbo.tasks.build.inputs).toEqual(
      expect.arrayContaining(["contracts/*.sol", "contracts/compile.ts"]),
    );
    expect(turbo.tasks.build.outputs).toContain("contracts/CertificateRegistry.json");
  });
});
