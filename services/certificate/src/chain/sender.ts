import { topics } from "@energy/contracts";
import { enqueueEvent, enqueueEvents, event, type Logger } from "@energy/kafka";
import { type JsonRpcProvider, Transaction, type TransactionReceipt, type Wallet } from "ethers";
import type { Config } from "../config.ts";
import type { Db } from "../db.ts";
import {
  FEE_PERCENTILES,
  type FeeCaps,
  type FeeHistory,
  type Fees,
  feesForTier,
  gweiToWei,
  replacementFees,
  type Tier,
} from "../domain/gas.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { decodeRevert, RESERVATION_STATUS, registryAbi } from "./registry.ts";

type Tx = Prisma.TransactionClient;
type ChainTxRow = Awaited<ReturnType<Db["chainTx"]["findFirstOrThrow"]>>;
type CertificateRow = Awaited<ReturnType<Db["certificate"]["findFirstOrThrow"]>>;
/**
 * Queued work (certificates, a claim, a reservation log entry) as assign() sees it: how to count an RPC
 * failure while its transaction is prepared, and how to give it up after MAX_SEND_ATTEMPTS.
 */
interface Work {
  /** what it is, for the log */
  what: Record<string, unknown>;
  /** counts one failed attempt; returns how many there have been */
  failedAttempt(): Promise<number>;
  /** ends it failed with `reason` (and publishes what its kind publishes) */
  giveUp(reason: string): Promise<void>;
}

interface Attempt {
  hash: string;
  raw: string;
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
  at: string;
}

export interface ChainSenderDeps {
  db: Db;
  provider: JsonRpcProvider;
  wallet: Wallet;
  registryAddress: string;
  chainId: number;
  config: Config;
  /** where its warnings go (the app's log once the service has one: see useLog) */
  log?: Logger;
  /** wakes the outbox relay after a transaction that recorded events */
  published: () => void;
}

interface RpcError {
  code?: string;
  data?: string | null;
  shortMessage?: string;
  message?: string;
  error?: { message?: string };
  info?: { error?: { message?: string } };
}
const nodeMessage = (e: RpcError): string | undefined => e.info?.error?.message ?? e.error?.message;

const silentLogger: Logger = { info() {}, warn() {}, error() {} };

const describe = (error: unknown): string => {
  const revert = decodeRevert(error);
  if (revert) return `${revert.name}(${revert.args.map(String).join(", ")})`;
  const e = error as RpcError;
  const said = e.shortMessage ?? e.message ?? String(error);
  // the node's own words, when ethers wrapped them (an error it could not classify, or no revert data)
  const node = nodeMessage(e);
  return node && !said.includes(node) ? `${said}: ${node}` : said;
};
/** An answer that means "this node knows the transaction, or its nonce is already used": not a failure to send. */
const alreadyKnown = (error: unknown) =>
  /already known|already imported|known transaction|nonce too low|nonce has already been used|replacement transaction underpriced/i.test(
    describe(error) + String((error as { message?: string }).message ?? ""),
  );

/**
 * The chain-transaction outbox: turns queued work (certificates to mint, reservation log entries,
 * claims) into signed transactions with nonces assigned in the database, sends them, replaces stuck
 * ones with higher fees (same nonce), follows them to their receipts and confirmations, and undoes and
 * resends what a reorganization dropped. Every step is a database state, so a crash at any point
 * resumes where it was: a transaction is stored signed before it is sent (the same bytes are resent),
 * and the contract refuses an issuance key twice.
 */
export class ChainSender {
  private running = false;
  private loopDone: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly caps: FeeCaps;
  private readonly signer: string;
  private failures = 0;
  private log: Logger;

  constructor(private readonly deps: ChainSenderDeps) {
    this.caps = {
      maxFeePerGas: gweiToWei(deps.config.MAX_FEE_PER_GAS_GWEI),
      maxPriorityFeePerGas: gweiToWei(deps.config.MAX_PRIORITY_FEE_PER_GAS_GWEI),
    };
    this.signer = deps.wallet.address;
    this.log = deps.log ?? silentLogger;
  }

  /** Sends its warnings to `log` from now on (the runtime builds the sender before the app's log exists). */
  useLog(log: Logger): void {
    this.log = log;
  }

  /** Reconciles nonces with the chain, then runs the loop. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.reconcile();
    this.running = true;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.nudge();
    await this.loopDone;
    this.loopDone = null;
  }

  nudge(): void {
    this.wake?.();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        await this.tick();
        this.failures = 0;
      } catch (error) {
        // RPC or database trouble: back off and try again (nothing is lost; every step is stored).
        this.failures++;
        this.log.warn({ err: error, failures: this.failures }, "chain sender: tick failed, will retry");
      }
      const wait = this.failures
        ? Math.min(200 * 2 ** this.failures, 10_000)
        : this.deps.config.POLL_INTERVAL_MS;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** One pass: assign and sign queued work, send what is unsent, follow what is in flight. */
  async tick(): Promise<void> {
    for (let i = 0; i < 20 && (await this.assignNext()); i++);
    await this.sendUnsent();
    await this.follow();
  }

  /**
   * At start: the database's next nonce must not be behind the chain's (someone else used the key, or
   * the database was restored), and every transaction not yet mined is sent again (same bytes).
   */
  async reconcile(): Promise<void> {
    const { db, provider } = this.deps;
    const log = this.log;
    const chainNonce = await provider.getTransactionCount(this.signer, "latest");
    const row = await db.signerNonce.findUnique({ where: { signer: this.signer } });
    if (!row) {
      await db.signerNonce.create({ data: { signer: this.signer, nextNonce: chainNonce } });
    } else if (row.nextNonce < chainNonce) {
      log.warn(
        { db: row.nextNonce, chain: chainNonce },
        "chain sender: the chain is ahead of our nonces; taking its",
      );
      await db.signerNonce.update({ where: { signer: this.signer }, data: { nextNonce: chainNonce } });
    }
    await this.sendUnsent(true);
  }

  private async feeHistory(): Promise<FeeHistory> {
    const raw = (await this.deps.provider.send("eth_feeHistory", [20, "latest", [...FEE_PERCENTILES]])) as {
      baseFeePerGas: string[];
      reward?: string[][];
      gasUsedRatio?: number[];
    };
    return {
      gasUsedRatio: raw.gasUsedRatio ?? [],
      baseFeePerGas: raw.baseFeePerGas.map((v) => BigInt(v)),
      reward: (raw.reward ?? []).map((row) => row.map((v) => BigInt(v))),
    };
  }

  /** The fees of a tier now, from the chain's fee history, within the caps. */
  async fees(tier: Tier): Promise<Fees> {
    return feesForTier(await this.feeHistory(), tier, this.caps);
  }

  private tierSeconds(tier: string): number {
    const c = this.deps.config;
    return tier === "fast"
      ? c.FAST_TIER_SECONDS
      : tier === "slow"
        ? c.SLOW_TIER_SECONDS
        : c.STANDARD_TIER_SECONDS;
  }

  // ---- assigning work to nonces ----------------------------------------------------------------------

  /** Signs the next piece of queued work under the next nonce; false when nothing is queued. */
  private async assignNext(): Promise<boolean> {
    const { db } = this.deps;
    const log = await db.reservationLog.findFirst({
      where: { chainTxId: null, failureReason: null },
      orderBy: { id: "asc" },
    });
    if (log) {
      const data = registryAbi.encodeFunctionData("logReservation", [
        log.reservationId,
        log.buyerAddress,
        log.devicesHash,
        BigInt(Math.floor(log.periodStart.getTime() / 1000)),
        BigInt(Math.floor(log.periodEnd.getTime() / 1000)),
        RESERVATION_STATUS[log.status as keyof typeof RESERVATION_STATUS] ?? 1,
      ]);
      const work: Work = {
        what: { reservationLog: String(log.id), reservationId: log.reservationId },
        failedAttempt: async () =>
          (
            await db.reservationLog.update({
              where: { id: log.id },
              data: { sendAttempts: { increment: 1 } },
            })
          ).sendAttempts,
        giveUp: async (reason) => {
          await db.reservationLog.update({ where: { id: log.id }, data: { failureReason: reason } });
        },
      };
      return this.assign("log_reservation", data, "slow", work, async (tx, id) => {
        await tx.reservationLog.update({ where: { id: log.id }, data: { chainTxId: id } });
      });
    }
    const claim = await db.claim.findFirst({
      where: { status: "pending", source: "api" },
      orderBy: { createdAt: "asc" },
    });
    if (claim) return this.assignClaim(claim);
    return this.assignCertificates();
  }

  private async assignClaim(claim: Awaited<ReturnType<Db["claim"]["findFirstOrThrow"]>>): Promise<boolean> {
    const { db } = this.deps;
    const certificate = await db.certificate.findUniqueOrThrow({ where: { id: claim.certificateId } });
    const claimData = new TextEncoder().encode(JSON.stringify(claim.claimData));
    const data = registryAbi.encodeFunctionData("claimFor", [
      claim.ownerAddress,
      BigInt(certificate.tokenId!),
      claim.amountWh,
      claimData,
    ]);
    const failClaim = async (reason: string) => {
      await db.claim.update({ where: { id: claim.id }, data: { status: "failed", failureReason: reason } });
    };
    const work: Work = {
      what: { claimId: claim.id, certificateId: claim.certificateId },
      failedAttempt: async () =>
        (await db.claim.update({ where: { id: claim.id }, data: { sendAttempts: { increment: 1 } } }))
          .sendAttempts,
      giveUp: failClaim,
    };
    return this.assign(
      "claim",
      data,
      (claim.tier as Tier | null) ?? this.deps.config.DEFAULT_GAS_TIER,
      work,
      async (tx, id) => {
        await tx.claim.update({ where: { id: claim.id }, data: { chainTxId: id, status: "sent" } });
      },
      failClaim,
    );
  }

  /** Mints queued certificates of one tier: one `issue`, or a `batchIssue` of up to BATCH_MAX. */
  private async assignCertificates(): Promise<boolean> {
    const { db, config } = this.deps;
    const first = await db.certificate.findFirst({
      where: { status: "requested", chainTxId: null },
      orderBy: { createdAt: "asc" },
    });
    if (!first) return false;
    const group = await db.certificate.findMany({
      where: { status: "requested", chainTxId: null, tier: first.tier },
      orderBy: { createdAt: "asc" },
      take: config.BATCH_MAX,
    });
    // Minted already (a database restored from before its mint, or a mint whose row was lost): take the
    // chain's word for it instead of trying again, which the contract would refuse anyway. One check for
    // the whole group: the calls go out together (one JSON-RPC batch), not one round trip each.
    let fresh: typeof group;
    try {
      fresh = await this.withoutExistingMints(group);
    } catch (error) {
      return this.attemptFailed(this.certificatesWork(group.map((c) => c.id)), error);
    }
    if (fresh.length === 0) return true;
    const data =
      fresh.length === 1
        ? registryAbi.encodeFunctionData("issue", [
            fresh[0]!.ownerAddress,
            fresh[0]!.energyWh,
            fresh[0]!.issuanceKey,
            fresh[0]!.documentHash,
          ])
        : registryAbi.encodeFunctionData("batchIssue", [
            fresh.map((c) => c.ownerAddress),
            fresh.map((c) => c.energyWh),
            fresh.map((c) => c.issuanceKey),
            fresh.map((c) => c.documentHash),
          ]);
    const ids = fresh.map((c) => c.id);
    const kind = fresh.length === 1 ? "issue" : "batch_issue";
    return this.assign(
      kind,
      data,
      first.tier as Tier,
      this.certificatesWork(ids),
      async (tx, chainTxId) => {
        await tx.certificate.updateMany({ where: { id: { in: ids } }, data: { chainTxId } });
        await tx.issuanceLog.createMany({
          data: fresh.map((c) => ({
            certificateId: c.id,
            requestId: c.requestId,
            event: "signed",
            detail: { chainTxId: String(chainTxId), batch: fresh.length },
          })),
        });
      },
      async (reason) => {
        // A batch the chain refuses: each certificate on its own shows which one is at fault.
        if (fresh.length > 1) {
          let isolated = 0;
          for (const c of fresh) {
            const single = registryAbi.encodeFunctionData("issue", [
              c.ownerAddress,
              c.energyWh,
              c.issuanceKey,
              c.documentHash,
            ]);
            const refusal = await this.refusal(single);
            if (refusal) {
              await this.failCertificates([c.id], refusal, null);
              isolated++;
            }
          }
          if (isolated > 0) return; // the others go again in the next batch
        }
        await this.failCertificates(ids, reason, null);
      },
    );
  }

  /** Certificates queued together, as work: counted and failed together. */
  private certificatesWork(ids: string[]): Work {
    const { db } = this.deps;
    return {
      what: { certificateIds: ids },
      failedAttempt: async () => {
        await db.certificate.updateMany({
          where: { id: { in: ids } },
          data: { sendAttempts: { increment: 1 } },
        });
        const rows = await db.certificate.findMany({
          where: { id: { in: ids } },
          select: { sendAttempts: true },
        });
        return Math.max(0, ...rows.map((r) => r.sendAttempts));
      },
      giveUp: (reason) => this.failCertificates(ids, reason, null),
    };
  }

  /**
   * An RPC failure while work's transaction was prepared (nothing was signed: no nonce is used). Counted
   * on the work; below MAX_SEND_ATTEMPTS it is thrown again (the loop backs off and tries again), at it the
   * work ends failed with the reason (published for a certificate) and the sender goes on with the rest.
   */
  private async attemptFailed(work: Work, error: unknown): Promise<boolean> {
    const attempts = await work.failedAttempt();
    const max = this.deps.config.MAX_SEND_ATTEMPTS;
    if (attempts < max) throw error;
    const reason = `not sent after ${attempts} attempts: ${describe(error)}`;
    this.log.error({ ...work.what, attempts, reason }, "chain sender: giving up");
    await work.giveUp(reason);
    this.deps.published();
    return true;
  }

  /** Why the chain would refuse this call now, or null when it would accept it. */
  private async refusal(data: string): Promise<string | null> {
    try {
      await this.deps.provider.estimateGas({ from: this.signer, to: this.deps.registryAddress, data });
      return null;
    } catch (error) {
      if (!isRevert(error)) throw error;
      return describe(error);
    }
  }

  /**
   * The certificates of `group` the chain has not minted yet; the ones it has (their issuance key has a
   * token) are adopted: marked issued with the chain's token and transaction.
   */
  private async withoutExistingMints(group: CertificateRow[]): Promise<CertificateRow[]> {
    const { provider, registryAddress } = this.deps;
    const tokenIds = await Promise.all(
      group.map(async (c) => {
        const encoded = await provider.call({
          to: registryAddress,
          data: registryAbi.encodeFunctionData("tokenIdByIssuanceKey", [c.issuanceKey]),
        });
        return (registryAbi.decodeFunctionResult("tokenIdByIssuanceKey", encoded) as unknown as [bigint])[0];
      }),
    );
    const fresh: CertificateRow[] = [];
    for (const [i, c] of group.entries()) {
      const tokenId = tokenIds[i]!;
      if (tokenId === 0n || !(await this.adoptExistingMint(c, tokenId))) fresh.push(c);
    }
    return fresh;
  }

  private async adoptExistingMint(c: CertificateRow, tokenId: bigint): Promise<boolean> {
    const { provider, registryAddress } = this.deps;
    const issued = registryAbi.getEvent("CertificateIssued")!;
    const logs = await provider.getLogs({
      address: registryAddress,
      topics: [issued.topicHash, null, c.issuanceKey],
      fromBlock: 0,
    });
    const log = logs.at(-1);
    if (!log) return false;
    await this.deps.db.$transaction(async (tx) => {
      await this.markIssued(tx, [{ c, tokenId: tokenId.toString() }], log.transactionHash, log.blockNumber);
    });
    this.deps.published();
    return true;
  }

  /**
   * Estimates, prices, takes the next nonce and signs, all in one database transaction with the nonce
   * row locked: a nonce is never handed out twice and never skipped (the signed transaction is stored
   * with it). A call the chain refuses gets no nonce: `refused` records why.
   */
  private async assign(
    kind: string,
    data: string,
    tier: Tier,
    work: Work,
    link: (tx: Tx, chainTxId: bigint) => Promise<void>,
    refused?: (reason: string) => Promise<void>,
  ): Promise<boolean> {
    const { db, provider, wallet, registryAddress, chainId } = this.deps;
    let gas: bigint;
    let fees: Fees;
    try {
      gas = await provider.estimateGas({ from: this.signer, to: registryAddress, data });
      fees = await this.fees(tier);
    } catch (error) {
      if (isRevert(error) && refused) {
        await refused(describe(error));
        this.deps.published();
        return true;
      }
      return this.attemptFailed(work, error);
    }
    const gasLimit = (gas * 6n) / 5n + 10_000n;
    await db.$transaction(
      async (tx) => {
        const [row] = await tx.$queryRawUnsafe<Array<{ next_nonce: number }>>(
          "SELECT next_nonce FROM signer_nonce WHERE signer = $1 FOR UPDATE",
          this.signer,
        );
        if (!row) throw new Error("signer nonce row missing: reconcile() runs first");
        const nonce = row.next_nonce;
        const raw = await wallet.signTransaction({
          type: 2,
          chainId,
          nonce,
          to: registryAddress,
          data,
          gasLimit,
          value: 0n,
          ...fees,
        });
        const hash = Transaction.from(raw).hash!;
        const created = await tx.chainTx.create({
          data: {
            chainId,
            signer: this.signer,
            nonce,
            kind,
            to: registryAddress,
            data,
            gasLimit,
            tier,
            status: "signed",
            maxFeePerGas: fees.maxFeePerGas,
            maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
            txHash: hash,
            rawTx: raw,
            attempts: [attemptOf(hash, raw, fees)] as unknown as Prisma.InputJsonValue,
            pricedAt: new Date(),
          },
        });
        await tx.signerNonce.update({ where: { signer: this.signer }, data: { nextNonce: nonce + 1 } });
        await link(tx, created.id);
      },
      { timeout: 30_000 },
    );
    return true;
  }

  // ---- sending -----------------------------------------------------------------------------------

  /** Sends signed transactions not yet sent (or, after a restart, every one not yet mined), by nonce. */
  private async sendUnsent(all = false): Promise<void> {
    const { db } = this.deps;
    const rows = await db.chainTx.findMany({
      where: all ? { status: { in: ["signed", "sent"] } } : { status: "signed" },
      orderBy: { nonce: "asc" },
    });
    for (const row of rows) await this.broadcast(row);
  }

  /**
   * Sends a stored transaction. A node that refuses it (fees under the base fee while capped, a node
   * restarting) is not a failure of the work: it stays as it is and is sent again on a later tick.
   */
  private async broadcast(row: ChainTxRow): Promise<void> {
    const { db, provider } = this.deps;
    const log = this.log;
    try {
      await provider.send("eth_sendRawTransaction", [row.rawTx]);
    } catch (error) {
      if (!alreadyKnown(error)) {
        log.warn(
          { err: error, nonce: row.nonce, hash: row.txHash },
          "chain sender: the node refused the transaction; will resend",
        );
        await db.chainTx.update({ where: { id: row.id }, data: { lastSentAt: new Date() } });
        return;
      }
    }
    if (row.status === "signed") {
      await db.$transaction(async (tx) => {
        await tx.chainTx.update({ where: { id: row.id }, data: { status: "sent", lastSentAt: new Date() } });
        await this.logFor(tx, row.id, "sent", { txHash: row.txHash, nonce: row.nonce });
      });
    } else {
      await db.chainTx.update({ where: { id: row.id }, data: { lastSentAt: new Date() } });
    }
  }

  // ---- following ---------------------------------------------------------------------------------

  private async follow(): Promise<void> {
    const { db, provider } = this.deps;
    const rows = await db.chainTx.findMany({
      where: { status: { in: ["sent", "mined"] } },
      orderBy: { nonce: "asc" },
    });
    if (rows.length === 0) return;
    const head = await provider.getBlockNumber();
    let chainNonce: number | null = null;
    for (const row of rows) {
      if (row.status === "mined") {
        await this.checkMined(row, head);
        continue;
      }
      const receipt = await this.findReceipt(row);
      if (receipt) {
        await this.onMined(row, receipt);
        continue;
      }
      chainNonce ??= await provider.getTransactionCount(this.signer, "latest");
      if (chainNonce > row.nonce) {
        // The nonce is used but by none of our attempts' hashes we can see yet: look once more next tick
        // (a receipt may lag); if it stays so the work is queued again (the contract refuses a second mint).
        if (Date.now() - (row.lastSentAt?.getTime() ?? 0) > 5 * this.deps.config.POLL_INTERVAL_MS)
          await this.requeue(row);
        continue;
      }
      await this.maybeReplace(row);
    }
  }

  private async findReceipt(row: ChainTxRow): Promise<TransactionReceipt | null> {
    const attempts = row.attempts as unknown as Attempt[];
    for (const attempt of [...attempts].reverse()) {
      const receipt = await this.deps.provider.getTransactionReceipt(attempt.hash);
      if (receipt?.blockHash) return receipt;
    }
    return null;
  }

  /** Not mined within its tier's time: the same transaction again at higher fees (same nonce). */
  private async maybeReplace(row: ChainTxRow): Promise<void> {
    const { db, wallet } = this.deps;
    const log = this.log;
    const waitedMs = Date.now() - row.pricedAt.getTime();
    if (waitedMs < this.tierSeconds(row.tier) * 1000) {
      // Resend now and then: a node may have dropped it (restart, reorganization, a full pool).
      if (Date.now() - (row.lastSentAt?.getTime() ?? 0) > 3 * this.deps.config.POLL_INTERVAL_MS)
        await this.broadcast(row);
      return;
    }
    const previous = { maxFeePerGas: row.maxFeePerGas, maxPriorityFeePerGas: row.maxPriorityFeePerGas };
    const next = replacementFees(previous, await this.fees(row.tier as Tier), this.caps);
    if (!next) {
      log.warn(
        { nonce: row.nonce, hash: row.txHash },
        "chain sender: stuck at the fee cap; waiting at these fees",
      );
      await db.chainTx.update({ where: { id: row.id }, data: { pricedAt: new Date() } });
      await this.broadcast(row);
      return;
    }
    const raw = await wallet.signTransaction({
      type: 2,
      chainId: row.chainId,
      nonce: row.nonce,
      to: row.to,
      data: row.data,
      gasLimit: row.gasLimit,
      value: 0n,
      ...next,
    });
    const hash = Transaction.from(raw).hash!;
    const attempts = [...(row.attempts as unknown as Attempt[]), attemptOf(hash, raw, next)];
    // Stored before it is sent: after a crash the replacement is what gets resent.
    const updated = await db.$transaction(async (tx) => {
      const u = await tx.chainTx.update({
        where: { id: row.id },
        data: {
          ...next,
          txHash: hash,
          rawTx: raw,
          attempts: attempts as unknown as Prisma.InputJsonValue,
          pricedAt: new Date(),
        },
      });
      await this.logFor(tx, row.id, "replaced", {
        from: row.txHash,
        to: hash,
        maxFeePerGas: next.maxFeePerGas.toString(),
        maxPriorityFeePerGas: next.maxPriorityFeePerGas.toString(),
      });
      return u;
    });
    await this.broadcast(updated);
  }

  private async onMined(row: ChainTxRow, receipt: TransactionReceipt): Promise<void> {
    const { db, chainId } = this.deps;
    await db.$transaction(async (tx) => {
      await tx.chainTx.update({
        where: { id: row.id },
        data: {
          status: receipt.status === 1 ? "mined" : "failed",
          minedHash: receipt.hash,
          minedBlock: BigInt(receipt.blockNumber),
          minedBlockHash: receipt.blockHash,
          gasUsed: receipt.gasUsed,
          failureReason: receipt.status === 1 ? null : "reverted on chain",
        },
      });
      if (receipt.status !== 1) {
        const reason = `transaction ${receipt.hash} reverted on chain`;
        const certs = await tx.certificate.findMany({ where: { chainTxId: row.id } });
        await this.failCertificatesIn(tx, certs, reason, receipt.hash);
        await tx.claim.updateMany({
          where: { chainTxId: row.id },
          data: { status: "failed", failureReason: reason },
        });
        return;
      }
      const certs = await tx.certificate.findMany({ where: { chainTxId: row.id } });
      const byKey = new Map(certs.map((c) => [c.issuanceKey, c]));
      const minted: Array<{ c: CertificateRow; tokenId: string }> = [];
      for (const log of receipt.logs) {
        const parsed = registryAbi.parseLog(log);
        if (parsed?.name !== "CertificateIssued") continue;
        const c = byKey.get(parsed.args.issuanceKey as string);
        if (c) minted.push({ c, tokenId: (parsed.args.id as bigint).toString() });
      }
      await this.markIssued(tx, minted, receipt.hash, receipt.blockNumber);
      await tx.claim.updateMany({ where: { chainTxId: row.id }, data: { txHash: receipt.hash } });
      void chainId;
    });
    this.deps.published();
  }

  /**
   * Certificates minted by one transaction, marked issued together: one UPDATE, one issuance log INSERT and
   * one outbox INSERT for all of them (a batch of BATCH_MAX is three statements, not three per certificate),
   * after the granular id counters (four statements for the whole transaction, assignBundleStarts).
   */
  private async markIssued(
    tx: Tx,
    minted: Array<{ c: CertificateRow; tokenId: string }>,
    txHash: string,
    blockNumber: number,
  ): Promise<void> {
    if (minted.length === 0) return;
    await this.assignBundleStarts(
      tx,
      minted.map((m) => m.c),
    );
    await tx.$executeRawUnsafe(
      `UPDATE certificate AS c
          SET status = 'issued', token_id = m.token_id, tx_hash = $3, block_number = $4, issued_at = now()
         FROM unnest($1::uuid[], $2::text[]) AS m(id, token_id)
        WHERE c.id = m.id`,
      minted.map((m) => m.c.id),
      minted.map((m) => m.tokenId),
      txHash,
      BigInt(blockNumber),
    );
    await tx.issuanceLog.createMany({
      data: minted.map(({ c, tokenId }) => ({
        certificateId: c.id,
        requestId: c.requestId,
        event: "issued",
        detail: { tokenId, txHash, blockNumber },
      })),
    });
    await enqueueEvents(
      tx,
      minted.map(({ c, tokenId }) =>
        event(
          topics.certificateCertificate,
          "certificate.issued",
          {
            certificateId: c.id,
            requestId: c.requestId,
            reservationId: c.reservationId,
            tokenId,
            txHash,
            chainId: this.deps.chainId,
            blockNumber,
            ownerAddress: c.ownerAddress,
            energyWh: Number(c.energyWh),
            documentHash: c.documentHash,
          },
          { correlationId: c.correlationId },
        ),
      ),
    );
  }

  /**
   * Gives each certificate minted for the first time its devices' first granular (Wh) ids, in mint order:
   * a device's ids run on from its previous certificate (EnergyTag's per-device bundle id ranges). The
   * counters are row-locked; a certificate minted again after a reorganization keeps its ids.
   */
  private async assignBundleStarts(tx: Tx, certs: CertificateRow[]): Promise<void> {
    const fresh = certs.filter((c) => c.bundleStarts === null);
    if (fresh.length === 0) return;
    const spans = fresh.map((c) =>
      ((c.document as { devices?: Array<{ deviceId: string; energyWh: number }> }).devices ?? []).map(
        (d) => [d.deviceId, BigInt(d.energyWh)] as const,
      ),
    );
    const deviceIds = [...new Set(spans.flat().map(([d]) => d))].sort();
    if (deviceIds.length > 0) {
      await tx.$executeRawUnsafe(
        "INSERT INTO device_bundle_counter (device_id, next_id) SELECT unnest($1::text[]), 1 ON CONFLICT DO NOTHING",
        deviceIds,
      );
    }
    const rows = await tx.$queryRawUnsafe<Array<{ device_id: string; next_id: bigint | string }>>(
      "SELECT device_id, next_id FROM device_bundle_counter WHERE device_id = ANY($1::text[]) ORDER BY device_id FOR UPDATE",
      deviceIds,
    );
    const next = new Map(rows.map((r) => [r.device_id, BigInt(r.next_id)]));
    const starts = spans.map((devices) => {
      const out: Record<string, number> = {};
      for (const [deviceId, wh] of devices) {
        const first = next.get(deviceId)!;
        out[deviceId] = Number(first);
        next.set(deviceId, first + wh);
      }
      return out;
    });
    await tx.$executeRawUnsafe(
      `UPDATE certificate AS c SET bundle_starts = s.starts
         FROM unnest($1::uuid[], $2::text[]::jsonb[]) AS s(id, starts)
        WHERE c.id = s.id`,
      fresh.map((c) => c.id),
      starts.map((x) => JSON.stringify(x)),
    );
    if (next.size > 0) {
      await tx.$executeRawUnsafe(
        `UPDATE device_bundle_counter AS d SET next_id = n.next_id
           FROM unnest($1::text[], $2::text[]::bigint[]) AS n(device_id, next_id)
          WHERE d.device_id = n.device_id`,
        [...next.keys()],
        [...next.values()].map(String),
      );
    }
  }

  /** A mined transaction: still in the chain (else a reorganization dropped it), and deep enough yet? */
  private async checkMined(row: ChainTxRow, head: number): Promise<void> {
    const { db, provider, config } = this.deps;
    const minedBlock = Number(row.minedBlock);
    const [block, receipt] = await Promise.all([
      provider.getBlock(minedBlock),
      provider.getTransactionReceipt(row.minedHash!),
    ]);
    if (!block || block.hash !== row.minedBlockHash || !receipt || receipt.blockHash !== row.minedBlockHash) {
      await this.onReorged(row);
      return;
    }
    const confirmations = head - minedBlock + 1;
    if (confirmations < config.CONFIRMATIONS) return;
    await db.$transaction(async (tx) => {
      await tx.chainTx.update({ where: { id: row.id }, data: { status: "confirmed" } });
      // All of the transaction's certificates together: one UPDATE, one log INSERT, one outbox INSERT.
      const certs = await tx.certificate.findMany({ where: { chainTxId: row.id, status: "issued" } });
      await tx.certificate.updateMany({
        where: { id: { in: certs.map((c) => c.id) } },
        data: { status: "confirmed", confirmedAt: new Date() },
      });
      await tx.issuanceLog.createMany({
        data: certs.map((c) => ({
          certificateId: c.id,
          requestId: c.requestId,
          event: "confirmed",
          detail: { confirmations },
        })),
      });
      await enqueueEvents(
        tx,
        certs.map((c) =>
          event(
            topics.certificateCertificate,
            "certificate.confirmed",
            {
              certificateId: c.id,
              requestId: c.requestId,
              reservationId: c.reservationId,
              tokenId: c.tokenId!,
              txHash: c.txHash!,
              chainId: this.deps.chainId,
              blockNumber: minedBlock,
              confirmations,
              energyWh: Number(c.energyWh),
            },
            { correlationId: c.correlationId },
          ),
        ),
      );
      const claims = await tx.claim.findMany({ where: { chainTxId: row.id } });
      for (const claim of claims) await this.confirmClaim(tx, claim.id, row.minedHash!);
    });
    this.deps.published();
  }

  /** An API claim mined and confirmed: counted on its certificate and published. */
  async confirmClaim(tx: Tx, claimId: string, txHash: string): Promise<void> {
    const claim = await tx.claim.update({ where: { id: claimId }, data: { status: "confirmed", txHash } });
    const c = await tx.certificate.update({
      where: { id: claim.certificateId },
      data: { claimedWh: { increment: claim.amountWh } },
    });
    await tx.issuanceLog.create({
      data: {
        certificateId: c.id,
        requestId: c.requestId,
        event: "claimed",
        detail: { claimId, amountWh: claim.amountWh.toString(), beneficiary: claim.beneficiary, txHash },
      },
    });
    await enqueueEvent(
      tx,
      topics.certificateCertificate,
      "certificate.claimed",
      {
        certificateId: c.id,
        requestId: c.requestId,
        reservationId: c.reservationId,
        claimId,
        tokenId: c.tokenId!,
        ownerAddress: claim.ownerAddress,
        amountWh: Number(claim.amountWh),
        beneficiary: claim.beneficiary,
        txHash,
        chainId: this.deps.chainId,
        source: claim.source as "api" | "chain",
      },
      { correlationId: c.correlationId },
    );
  }

  /** Dropped by a reorganization: back to sent (the same signed bytes are valid again) and resent. */
  private async onReorged(row: ChainTxRow): Promise<void> {
    const { db } = this.deps;
    const updated = await db.$transaction(async (tx) => {
      const u = await tx.chainTx.update({
        where: { id: row.id },
        data: {
          status: "sent",
          minedHash: null,
          minedBlock: null,
          minedBlockHash: null,
          gasUsed: null,
          pricedAt: new Date(),
        },
      });
      const certs = await tx.certificate.findMany({ where: { chainTxId: row.id } });
      for (const c of certs) {
        await tx.certificate.update({
          where: { id: c.id },
          data: { status: "requested", tokenId: null, txHash: null, blockNumber: null },
        });
      }
      await this.logFor(tx, row.id, "reorged", {
        droppedBlock: String(row.minedBlock),
        txHash: row.minedHash,
      });
      return u;
    });
    this.log.warn(
      { nonce: row.nonce, hash: row.minedHash },
      "chain sender: a reorganization dropped a mined transaction; resending",
    );
    await this.broadcast(updated);
  }

  /** The nonce went to something else: queue the work again under a new nonce. */
  private async requeue(row: ChainTxRow): Promise<void> {
    await this.deps.db.$transaction(async (tx) => {
      await tx.chainTx.update({ where: { id: row.id }, data: { status: "dropped" } });
      await this.logFor(tx, row.id, "dropped", { nonce: row.nonce });
      await tx.certificate.updateMany({
        where: { chainTxId: row.id },
        data: { chainTxId: null, status: "requested" },
      });
      await tx.reservationLog.updateMany({ where: { chainTxId: row.id }, data: { chainTxId: null } });
      await tx.claim.updateMany({
        where: { chainTxId: row.id },
        data: { chainTxId: null, status: "pending" },
      });
    });
  }

  private async failCertificates(ids: string[], reason: string, txHash: string | null): Promise<void> {
    await this.deps.db.$transaction(async (tx) => {
      const certs = await tx.certificate.findMany({ where: { id: { in: ids } } });
      await this.failCertificatesIn(tx, certs, reason, txHash);
    });
  }

  private async failCertificatesIn(
    tx: Tx,
    certs: Array<Awaited<ReturnType<Db["certificate"]["findFirstOrThrow"]>>>,
    reason: string,
    txHash: string | null,
  ): Promise<void> {
    for (const c of certs) {
      await tx.certificate.update({ where: { id: c.id }, data: { status: "failed", failureReason: reason } });
      await tx.issuanceLog.create({
        data: { certificateId: c.id, requestId: c.requestId, event: "failed", detail: { reason, txHash } },
      });
      await enqueueEvent(
        tx,
        topics.certificateCertificate,
        "certificate.failed",
        {
          certificateId: c.id,
          requestId: c.requestId,
          reservationId: c.reservationId,
          txHash,
          chainId: this.deps.chainId,
          energyWh: Number(c.energyWh),
          reason,
        },
        { correlationId: c.correlationId },
      );
    }
  }

  private async logFor(
    tx: Tx,
    chainTxId: bigint,
    event: string,
    detail: Record<string, unknown>,
  ): Promise<void> {
    const certs = await tx.certificate.findMany({
      where: { chainTxId },
      select: { id: true, requestId: true },
    });
    if (certs.length === 0) return;
    await tx.issuanceLog.createMany({
      data: certs.map((c) => ({
        certificateId: c.id,
        requestId: c.requestId,
        event,
        detail: detail as Prisma.InputJsonValue,
      })),
    });
  }
}

const attemptOf = (hash: string, raw: string, fees: Fees): Attempt => ({
  hash,
  raw,
  maxFeePerGas: fees.maxFeePerGas.toString(),
  maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString(),
  at: new Date().toISOString(),
});

/**
 * The call itself was refused by the contract (not the node failing). ethers reports any failed
 * eth_estimateGas as a CALL_EXCEPTION; one with no revert data is a revert only if the node says so.
 */
function isRevert(error: unknown): boolean {
  const e = error as RpcError;
  if (e.code === "CALL_EXCEPTION") {
    if (e.data != null && e.data !== "0x") return true;
    return e.shortMessage !== "missing revert data" || /revert/i.test(nodeMessage(e) ?? "");
  }
  return /revert/i.test(e.shortMessage ?? e.message ?? "");
}
