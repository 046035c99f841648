/**
 * Certificates issued and confirmed per second on anvil, one per transaction versus batched, and gas
 * per certificate in each mode. The chain sender runs as in the service (nonces in the database, signed
 * before sent, receipts, confirmations) on a fresh database and a fresh anvil; certificates are queued
 * straight in the database (the Kafka side is not what is measured).
 *
 *   TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres node --import tsx bench/issuance.ts [--count 200] [--batch 50]
 */
import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ANVIL_KEYS, startAnvil } from "@energy/infra/anvil";
import { createTestDatabase } from "@energy/testing";
import { connectChain } from "../src/chain/connect.ts";
import { issuanceKeyOf } from "../src/chain/registry.ts";
import { ChainSender } from "../src/chain/sender.ts";
import { ConfigSchema } from "../src/config.ts";
import { closeDb, createDb } from "../src/db.ts";
import { documentHash } from "../src/domain/canonical-json.ts";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const COUNT = flag("--count", 200);
const BATCH = flag("--batch", 50);
const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const quiet = { info() {}, warn() {}, error() {} };

async function run(batchMax: number) {
  const [database, anvil] = await Promise.all([createTestDatabase({ cwd: serviceDir }), startAnvil()]);
  const config = ConfigSchema.parse({
    NODE_ENV: "test",
    PORT: "0",
    DATABASE_URL: database.url,
    KAFKA_BROKERS: "127.0.0.1:1",
    JWT_PUBLIC_KEY:
      "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\nq9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n-----END PUBLIC KEY-----",
    CHAIN_RPC_URL: anvil.url,
    ISSUER_PRIVATE_KEY: ANVIL_KEYS[0],
    CONFIRMATIONS: "1",
    POLL_INTERVAL_MS: "20",
    BATCH_MAX: String(batchMax),
  });
  const db = createDb(config.DATABASE_URL, 5);
  const chain = await connectChain(config, db);
  const owner = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
  const rows = Array.from({ length: COUNT }, (_, i) => {
    const requestId = randomUUID();
    const document = { Version: "v1.0", requestId, energy: { amountWh: 1_000 + i } };
    return {
      id: randomUUID(),
      requestId,
      reservationId: "res-bench",
      buyerOrgId: "org-bench",
      ownerAddress: owner,
      deviceIds: ["dev-1"],
      periodStart: new Date("2026-11-01T00:00:00Z"),
      periodEnd: new Date("2026-11-01T01:00:00Z"),
      energyWh: BigInt(1_000 + i),
      document,
      documentHash: documentHash(document),
      issuanceKey: issuanceKeyOf(requestId),
      tier: "fast",
      status: "requested",
      correlationId: requestId,
    };
  });
  await db.certificate.createMany({ data: rows });
  const sender = new ChainSender({
    db,
    provider: chain.provider,
    wallet: chain.wallet,
    registryAddress: chain.registryAddress,
    chainId: chain.chainId,
    config,
    log: quiet,
    published: () => {},
  });
  const started = performance.now();
  await sender.start();
  // Confirmation needs a block on top when each transaction is mined in its own block (automine):
  // mine one now and then, as a busy chain would.
  for (;;) {
    const confirmed = await db.certificate.count({ where: { status: "confirmed" } });
    if (confirmed === COUNT) break;
    await chain.provider.send("evm_mine", []);
    sender.nudge();
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  await sender.stop();
  const txs = await db.chainTx.findMany({ where: { kind: { in: ["issue", "batch_issue"] } } });
  const gas = txs.reduce((sum, t) => sum + (t.gasUsed ?? 0n), 0n);
  chain.provider.destroy();
  await closeDb(db);
  await database.drop();
  await anvil.stop();
  return {
    seconds,
    perSecond: COUNT / seconds,
    transactions: txs.length,
    gasPerCertificate: Number(gas) / COUNT,
  };
}

const single = await run(1);
const batched = await run(BATCH);
const line = (name: string, r: Awaited<ReturnType<typeof run>>) =>
  `${name.padEnd(22)} ${r.perSecond.toFixed(1).padStart(8)} certificates/s  (${COUNT} in ${r.seconds.toFixed(1)} s, ` +
  `${r.transactions} transactions)  ${Math.round(r.gasPerCertificate).toLocaleString("en")} gas/certificate`;
console.log(`certificates issued and confirmed on anvil (${COUNT} each, CONFIRMATIONS=1):`);
console.log(line("one per transaction", single));
console.log(line(`batched (${BATCH} per tx)`, batched));
console.log(`batched is ${(batched.perSecond / single.perSecond).toFixed(1)}× faster`);
