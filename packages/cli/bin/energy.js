#!/usr/bin/env node
// The `energy` command (packages/cli): loads its TypeScript sources through tsx, as the platform's tools run.
import { register } from "tsx/esm/api";

// kafkajs sets negative timeouts, which Node 24 reports on every run; nothing a user can act on.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const type = typeof rest[0] === "string" ? rest[0] : rest[0]?.type;
  if (type === "TimeoutNegativeWarning") return;
  return emitWarning.call(this, warning, ...rest);
};

register();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
