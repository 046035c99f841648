import { randomUUID } from "node:crypto";
import { topics } from "@energy/contracts";
import { enqueueEvent, type Logger } from "@energy/kafka";
import { getBytes, hexlify, type JsonRpcProvider, type Log, toUtf8String } from "ethers";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Config } from "../config.ts";
import type { Db } from "../db.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { registryAbi } from "./registry.ts";

type Tx = Prisma.TransactionClient;

/** The cursor's row in `chain_cursor`. */
export const CLAIMS_CURSOR = "claims";
/** Most blocks asked for in one eth_getLogs (providers cap the range). */
const MAX_RANGE = 2_000;
/** After a reorganization deeper than CONFIRMATIONS, how far back the blocks are read again. */
const RESCAN_DEPTH = 128;

const claimSingle = registryAbi.getEvent("ClaimSingle")!;

export interface ClaimWatcherDeps {
  db: Db;
  provider: JsonRpcProvider;
  registryAddress: string;
  chainId: number;
  /** the service's signer: its own claims (claimFor through the API) are the chain sender's to record */
  signer: string;
  config: Config;
  log: Logger;
  /** the service's metrics registry (the app's) */
  metrics: Registry;
  /** wakes the outbox relay after a transaction that recorded events */
  published: () => void;
}

/** The watcher's metrics, once per registry (one service, one registry). */
const metricsByRegistry = new WeakMap<
  Registry,
  { cursor: Gauge; syncedHead: Gauge; recorded: Counter; undone: Counter }
>();
function watcherMetrics(registry: Registry) {
  let found = metricsByRegistry.get(registry);
  if (!found) {
    found = {
      cursor: new Gauge({
        name: "certificate_chain_claims_cursor_block",
        help: "the last block the claim watcher has read (claims made on chain)",
        registers: [registry],
      }),
      syncedHead: new Gauge({
        name: "certificate_chain_claims_synced_head_block",
        help: "the chain head whose confirmed blocks (head - CONFIRMATIONS + 1) the claim watcher has all read",
        registers: [registry],
      }),
      recorded: new Counter({
        name: "certificate_chain_claims_recorded_total",
        help: "claims made on chain with the owners' own keys, recorded",
        registers: [registry],
      }),
      undone: new Counter({
        name: "certificate_chain_claims_undone_total",
        help: "recorded chain claims undone because a reorganization dropped their block",
        registers: [registry],
      }),
    };
    metricsByRegistry.set(registry, found);
  }
  return found;
}

/** What a claim's data says, for the record: JSON as the service writes it, else its text, else its hex. */
export function readClaimData(data: string): { claimData: Prisma.InputJsonValue; beneficiary: string } {
  const bytes = getBytes(data);
  let text: string | null = null;
  try {
    text = toUtf8String(bytes);
  } catch {
    // not text
  }
  if (text !== null) {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
        const beneficiary = (parsed as { beneficiary?: unknown }).beneficiary;
        return {
          claimData: parsed as Prisma.InputJsonValue,
          beneficiary: typeof beneficiary === "string" ? beneficiary.slice(0, 200) : "",
        };
      }
    } catch {
      // plain text
    }
    return { claimData: { text }, beneficiary: text.slice(0, 200) };
  }
  return { claimData: { hex: hexlify(bytes) }, beneficiary: "" };
}

/**
 * Claims made on chain with the owners' own keys (self-custody buyers calling `claim`): the registry's
 * ClaimSingle events, read from a cursor stored in the database (`chain_cursor` "claims": the last block
 * read and its hash). Only blocks with CONFIRMATIONS confirmations are read; the logs of a range are taken
 * only if the range's last block still has the hash it had when the range was chosen; each claim is
 * recorded once by (transaction hash, log index), in the same database transaction as the cursor, so a
 * restart reads on from where it was and never records a claim twice. A different hash at the cursor's
 * height later (a reorganization deeper than CONFIRMATIONS) undoes the chain claims whose block is no
 * longer in the chain (published as certificate.unclaimed) and reads the last RESCAN_DEPTH blocks again. Claims the service signed itself
 * (`claimFor` from its issuer key, through the API) are left to the chain sender, which records them.
 */
export class ClaimWatcher {
  private running = false;
  private loopDone: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private failures = 0;
  private readonly metrics: ReturnType<typeof watcherMetrics>;

  constructor(private readonly deps: ClaimWatcherDeps) {
    this.metrics = watcherMetrics(deps.metrics);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loopDone;
    this.loopDone = null;
  }

  nudge(): void {
    this.wake?.();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        while (this.running && (await this.tick()));
        this.failures = 0;
      } catch (error) {
        this.failures++;
        this.deps.log.warn({ err: error, failures: this.failures }, "claim watcher: tick failed, will retry");
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

  /** The cursor; created at first start just before the first block a certificate of ours can be in. */
  private async cursor(): Promise<{ block: number; blockHash: string | null }> {
    const { db, provider } = this.deps;
    const row = await db.chainCursor.findUnique({ where: { name: CLAIMS_CURSOR } });
    if (row) return { block: Number(row.block), blockHash: row.blockHash };
    // A claim comes after its mint: nothing before our first mint (or before now, when there is none yet)
    // can be a claim of ours.
    const first = await db.certificate.aggregate({ _min: { blockNumber: true } });
    const head = await provider.getBlockNumber();
    const block = Math.max(0, Number(first._min.blockNumber ?? BigInt(head)) - 1);
    await db.chainCursor.upsert({
      where: { name: CLAIMS_CURSOR },
      create: { name: CLAIMS_CURSOR, block: BigInt(block), blockHash: null },
      update: {},
    });
    return { block, blockHash: null };
  }

  /** Reads the next range of confirmed blocks; true when there may be more to read at once. */
  async tick(): Promise<boolean> {
    const { db, provider, registryAddress, config } = this.deps;
    const cursor = await this.cursor();
    if (cursor.blockHash) {
      const block = await provider.getBlock(cursor.block);
      if (!block || block.hash !== cursor.blockHash) {
        await this.undoReorganized(cursor.block);
        return true;
      }
    }
    const head = await provider.getBlockNumber();
    const safe = head - config.CONFIRMATIONS + 1; // the newest block with CONFIRMATIONS confirmations
    if (safe <= cursor.block) {
      this.metrics.cursor.set(cursor.block);
      this.metrics.syncedHead.set(head);
      return false;
    }
    const to = Math.min(safe, cursor.block + MAX_RANGE);
    const toBlock = await provider.getBlock(to);
    if (!toBlock?.hash) return false;
    const logs = await provider.getLogs({
      address: registryAddress,
      topics: [claimSingle.topicHash],
      fromBlock: cursor.block + 1,
      toBlock: to,
    });
    // The logs must be of the chain whose block `to` we saw: a log of another fork is not taken.
    const after = await provider.getBlock(to);
    if (
      after?.hash !== toBlock.hash ||
      logs.some((l) => l.blockNumber === to && l.blockHash !== toBlock.hash)
    )
      return true;
    let recorded = 0;
    let moved = false;
    await db.$transaction(
      async (tx) => {
        // the cursor row locked: two instances do not read the same range together
        const [locked] = await tx.$queryRawUnsafe<Array<{ block: bigint }>>(
          "SELECT block FROM chain_cursor WHERE name = $1 FOR UPDATE",
          CLAIMS_CURSOR,
        );
        if (!locked || Number(locked.block) !== cursor.block) return; // another instance moved it
        for (const log of logs) if (await this.record(tx, log)) recorded++;
        await tx.chainCursor.update({
          where: { name: CLAIMS_CURSOR },
          data: { block: BigInt(to), blockHash: toBlock.hash },
        });
        moved = true;
      },
      { timeout: 30_000 },
    );
    if (recorded > 0) {
      this.metrics.recorded.inc(recorded);
      this.deps.published();
    }
    if (moved) {
      this.metrics.cursor.set(to);
      if (to === safe) this.metrics.syncedHead.set(head);
    }
    return to < safe;
  }

  /** One ClaimSingle log: recorded (and counted, and published) unless it is ours or already known. */
  private async record(tx: Tx, log: Log): Promise<boolean> {
    const parsed = registryAbi.parseLog(log);
    if (!parsed) return false;
    const claimIssuer = (parsed.args._claimIssuer as string).toLowerCase();
    const subject = parsed.args._claimSubject as string;
    const tokenId = (parsed.args._id as bigint).toString();
    const amountWh = parsed.args._value as bigint;
    if (claimIssuer === this.deps.signer.toLowerCase()) return false; // the chain sender's (API claims)
    const ours = await tx.chainTx.findFirst({
      where: { OR: [{ minedHash: log.transactionHash }, { txHash: log.transactionHash }] },
      select: { id: true },
    });
    if (ours) return false;
    const known = await tx.claim.findUnique({
      where: { txHash_logIndex: { txHash: log.transactionHash, logIndex: log.index } },
    });
    if (known) return false;
    const c = await tx.certificate.findFirst({ where: { tokenId } });
    if (!c) {
      this.deps.log.warn(
        { tokenId, txHash: log.transactionHash },
        "claim watcher: a claim of an unknown token",
      );
      return false;
    }
    const { claimData, beneficiary } = readClaimData(parsed.args._claimData as string);
    const claimId = randomUUID();
    const ownerAddress = subject;
    await tx.claim.create({
      data: {
        id: claimId,
        certificateId: c.id,
        ownerAddress,
        amountWh,
        beneficiary,
        claimData,
        source: "chain",
        status: "confirmed",
        txHash: log.transactionHash,
        logIndex: log.index,
        blockNumber: BigInt(log.blockNumber),
        blockHash: log.blockHash,
      },
    });
    // The certificate's claimed amount is what its owner retired (what /verify compares with the chain's
    // claimedBalanceOf(owner)); a claim by a holder the owner transferred to is recorded, not counted.
    const byOwner = subject.toLowerCase() === c.ownerAddress.toLowerCase();
    const updated = byOwner
      ? await tx.certificate.update({ where: { id: c.id }, data: { claimedWh: { increment: amountWh } } })
      : c;
    await tx.issuanceLog.create({
      data: {
        certificateId: c.id,
        requestId: c.requestId,
        event: "claimed",
        detail: {
          claimId,
          source: "chain",
          amountWh: amountWh.toString(),
          beneficiary,
          txHash: log.transactionHash,
          logIndex: log.index,
          blockNumber: log.blockNumber,
          claimant: parsed.args._claimIssuer as string,
        },
      },
    });
    await enqueueEvent(
      tx,
      topics.certificateCertificate,
      "certificate.claimed",
      {
        certificateId: updated.id,
        requestId: updated.requestId,
        reservationId: updated.reservationId,
        claimId,
        tokenId,
        ownerAddress,
        amountWh: Number(amountWh),
        beneficiary,
        txHash: log.transactionHash,
        chainId: this.deps.chainId,
        source: "chain",
      },
      { correlationId: updated.correlationId },
    );
    return true;
  }

  /**
   * The block at the cursor is not the one read (a reorganization deeper than CONFIRMATIONS): the chain
   * claims whose block is gone are undone (removed, their amount taken off the certificate, the issuance
   * log says so) and the cursor goes back RESCAN_DEPTH blocks, so the new chain's blocks are read.
   */
  private async undoReorganized(cursorBlock: number): Promise<void> {
    const { db, provider, log } = this.deps;
    const from = Math.max(0, cursorBlock - RESCAN_DEPTH);
    const claims = await db.claim.findMany({
      where: { source: "chain", blockNumber: { gt: BigInt(from) } },
    });
    const gone: typeof claims = [];
    const hashes = new Map<number, string | null>();
    for (const claim of claims) {
      const n = Number(claim.blockNumber);
      if (!hashes.has(n)) hashes.set(n, (await provider.getBlock(n))?.hash ?? null);
      if (hashes.get(n) !== claim.blockHash) gone.push(claim);
    }
    await db.$transaction(async (tx) => {
      for (const claim of gone) {
        await tx.claim.delete({ where: { id: claim.id } });
        const c = await tx.certificate.findUniqueOrThrow({ where: { id: claim.certificateId } });
        if (claim.ownerAddress.toLowerCase() === c.ownerAddress.toLowerCase())
          await tx.certificate.update({
            where: { id: c.id },
            data: { claimedWh: { decrement: claim.amountWh } },
          });
        await tx.issuanceLog.create({
          data: {
            certificateId: c.id,
            requestId: c.requestId,
            event: "claim-reorged",
            detail: {
              claimId: claim.id,
              amountWh: claim.amountWh.toString(),
              txHash: claim.txHash,
              droppedBlock: String(claim.blockNumber),
            },
          },
        });
        await enqueueEvent(
          tx,
          topics.certificateCertificate,
          "certificate.unclaimed",
          {
            certificateId: c.id,
            requestId: c.requestId,
            reservationId: c.reservationId,
            claimId: claim.id,
            tokenId: c.tokenId!,
            ownerAddress: claim.ownerAddress,
            amountWh: Number(claim.amountWh),
            txHash: claim.txHash!,
            chainId: this.deps.chainId,
            droppedBlock: Number(claim.blockNumber),
          },
          { correlationId: c.correlationId },
        );
      }
      await tx.chainCursor.update({
        where: { name: CLAIMS_CURSOR },
        data: { block: BigInt(from), blockHash: null },
      });
    });
    this.metrics.undone.inc(gone.length);
    if (gone.length > 0) this.deps.published();
    log.warn(
      { cursorBlock, undone: gone.length, rescanFrom: from },
      "claim watcher: a reorganization deeper than CONFIRMATIONS; claims it dropped undone",
    );
  }
}
