import { randomInt } from "node:crypto";
import { type EventPayload, type OcppCommand, topics } from "@energy/contracts";
import { enqueueEvent, type Logger } from "@energy/kafka";
import type { Config } from "../config.ts";
import type { Db, Tx } from "../db.ts";
import { answerStatus, toOcppCall } from "../domain/commands.ts";
import type { CommandLog } from "../generated/prisma/client.ts";
import type { CentralSystem } from "./central-system.ts";
import { recordLimit } from "./charging-limits.ts";

/** A command as ocpp.command.v1 carries it (from Kafka, or built by the HTTP route), and where it came from. */
export type CommandRequest = EventPayload<typeof topics.ocppCommand, "command.requested"> & {
  correlationId: string;
  /** the envelope id of the command.requested message, when it came from Kafka */
  causationId?: string;
  source: "http" | "kafka";
};

type Failure = { errorCode: string; errorMessage: string; action?: string | null };

/**
 * Carries out commands. Every instance of the service consumes ocpp.command.v1 in a group of its own
 * (each sees every command); the instance that holds the charger's socket sends the call, the others
 * leave it. When no live instance holds it (charger_session has no row, or its instance stopped
 * refreshing service_instance), whichever instance sees the command first answers NotConnected. Every
 * result is written once: the command_log row goes from pending to completed/failed under a conditional
 * update in the transaction that puts the result event in the outbox. A command still pending at its
 * timeout (its instance died mid-call) is failed with Timeout by the sweep of any instance.
 */
export class Commands {
  constructor(
    private readonly opts: {
      db: Db;
      config: Config;
      central: CentralSystem;
      instanceId: string;
      published: () => void;
    },
  ) {}

  /** the app's log once attached */
  private log: Logger = { info() {}, warn() {}, error() {} };

  /** Logs in the app's log (the runtime attaches it at start: service.ts onStart). */
  attach(app: { log: Logger & { child(bindings: object): Logger } }): void {
    this.log = app.log.child({ component: "commands" });
  }

  /**
   * Records a command (once per commandId) and, from HTTP, puts it on ocpp.command.v1 for the other
   * instances; runs it at once when this instance holds the socket. Returns the logged command.
   */
  async submit(req: CommandRequest, orgId: string | null): Promise<CommandLog> {
    const { db, config } = this.opts;
    const timeoutAt = new Date(Date.now() + config.COMMAND_TIMEOUT_SECONDS * 1000);
    const record = () =>
      db.$transaction(async (tx) => {
        const existing = await tx.commandLog.findUnique({ where: { id: req.commandId } });
        if (existing) return existing;
        const row = await tx.commandLog.create({
          data: {
            id: req.commandId,
            chargePointId: req.chargePointId,
            orgId,
            command: req.request.command,
            params: req.request as object,
            requestedBy: req.requestedBy,
            correlationId: req.correlationId,
            source: req.source,
            timeoutAt,
          },
        });
        if (req.source === "http") {
          await enqueueEvent(
            tx,
            topics.ocppCommand,
            "command.requested",
            {
              commandId: req.commandId,
              chargePointId: req.chargePointId,
              request: req.request,
              requestedBy: req.requestedBy,
            },
            { correlationId: req.correlationId },
          );
        }
        return row;
      });
    // Two instances that both read the command from ocpp.command.v1 may both try to log it: the one that
    // loses the race reads the winner's row (a unique violation on the id, Prisma's P2002).
    const logged = await record().catch(async (err: unknown) => {
      if ((err as { code?: string }).code !== "P2002") throw err;
      return db.commandLog.findUniqueOrThrow({ where: { id: req.commandId } });
    });
    this.opts.published();
    if (logged.status === "pending") await this.route(logged);
    return (await db.commandLog.findUnique({ where: { id: logged.id } })) ?? logged;
  }

  /** Decides who carries out a pending command: this instance, another live one, or nobody (NotConnected). */
  async route(command: CommandLog): Promise<void> {
    const { db, central, config, instanceId } = this.opts;
    if (central.holds(command.chargePointId)) {
      void this.execute(command).catch((err: unknown) =>
        this.log.error({ err, commandId: command.id }, "command failed unexpectedly"),
      );
      return;
    }
    const device = await db.chargerDevice.findUnique({ where: { id: command.chargePointId } });
    if (!device) {
      await this.fail(command, {
        errorCode: "UnknownChargePoint",
        errorMessage: `no charger ${command.chargePointId} is registered`,
      });
      return;
    }
    const session = await db.chargerSession.findUnique({ where: { chargePointId: command.chargePointId } });
    if (session && session.instanceId !== instanceId) {
      const holder = await db.serviceInstance.findUnique({ where: { id: session.instanceId } });
      const alive = holder && Date.now() - holder.lastSeenAt.getTime() < config.INSTANCE_STALE_SECONDS * 1000;
      if (alive) return; // the holder got the same command from ocpp.command.v1
    }
    await this.fail(command, {
      errorCode: "NotConnected",
      errorMessage: `charger ${command.chargePointId} is not connected to the central system`,
    });
  }

  /** Sends the command's OCPP call on the socket this instance holds and records the answer. */
  private async execute(command: CommandLog): Promise<void> {
    const { central } = this.opts;
    const version = central.versionOf(command.chargePointId);
    if (!version) {
      await this.fail(command, { errorCode: "NotConnected", errorMessage: "the charger disconnected" });
      return;
    }
    if (central.bootStatusOf(command.chargePointId) === "Rejected") {
      // 1.6 §4.2 / 2.0.1 B03: a charger whose registration was Rejected is sent nothing until it boots again
      await this.fail(command, {
        errorCode: "ChargerRejected",
        errorMessage:
          "the charger's registration is Rejected: nothing is sent to it until it is accepted and boots",
      });
      return;
    }
    const request = command.params as unknown as OcppCommand;
    const call = toOcppCall(version, request, { now: new Date(), remoteStartId: randomInt(1, 2 ** 31 - 1) });
    if (!call.ok) {
      await this.fail(command, { errorCode: "InvalidCommand", errorMessage: call.message });
      return;
    }
    // Claimed once: the same command reaches this instance from HTTP and again from ocpp.command.v1, and
    // during a reconnect two instances may both hold a socket of the charger for a moment.
    const claimed = await this.opts.db.commandLog.updateMany({
      where: { id: command.id, status: "pending", instanceId: null },
      data: { action: call.action, instanceId: this.opts.instanceId },
    });
    if (claimed.count === 0) return;
    const remaining = Math.max(1, command.timeoutAt.getTime() - Date.now());
    let response: unknown;
    try {
      response = await central.call(command.chargePointId, call.action, call.params, remaining);
    } catch (err) {
      const e = err as { name?: string; rpcErrorCode?: string; code?: string; message?: string };
      const timeout = e.name === "TimeoutError" || /timed? ?out/i.test(e.message ?? "");
      await this.fail(command, {
        action: call.action,
        errorCode: timeout ? "Timeout" : (e.rpcErrorCode ?? e.code ?? "NotConnected"),
        errorMessage: timeout
          ? `the charger did not answer ${call.action} within ${Math.round(remaining / 1000)} s`
          : (e.message ?? "the call failed"),
      });
      return;
    }
    await this.complete(command, call.action, request, (response ?? {}) as Record<string, unknown>);
  }

  private async complete(
    command: CommandLog,
    action: string,
    request: OcppCommand,
    response: Record<string, unknown>,
  ): Promise<void> {
    const status = answerStatus(response);
    const done = await this.opts.db.$transaction(async (tx) => {
      const won = await tx.commandLog.updateMany({
        where: { id: command.id, status: "pending" },
        data: { status: "completed", action, response: response as object, completedAt: new Date() },
      });
      if (won.count === 0) return false;
      if (status === "Accepted") await applyAccepted(tx, command, request);
      await enqueueEvent(
        tx,
        topics.ocppCommandResult,
        "command.completed",
        {
          commandId: command.id,
          chargePointId: command.chargePointId,
          command: command.command,
          action,
          status,
          response,
        },
        { correlationId: command.correlationId },
      );
      return true;
    });
    if (done) this.opts.published();
  }

  /** Fails a pending command once (a second failure of the same command changes nothing). */
  async fail(command: CommandLog, failure: Failure): Promise<void> {
    const done = await this.opts.db.$transaction(async (tx) => {
      const won = await tx.commandLog.updateMany({
        where: { id: command.id, status: "pending" },
        data: {
          status: "failed",
          errorCode: failure.errorCode,
          errorMessage: failure.errorMessage,
          completedAt: new Date(),
          ...(failure.action ? { action: failure.action } : {}),
        },
      });
      if (won.count === 0) return false;
      await enqueueEvent(
        tx,
        topics.ocppCommandResult,
        "command.failed",
        {
          commandId: command.id,
          chargePointId: command.chargePointId,
          command: command.command,
          action: failure.action ?? command.action,
          errorCode: failure.errorCode,
          errorMessage: failure.errorMessage,
        },
        { correlationId: command.correlationId },
      );
      return true;
    });
    if (done) this.opts.published();
  }

  /** Fails commands whose timeout passed while still pending (the instance running them died). */
  async sweepTimeouts(graceMs = 2_000): Promise<number> {
    const stale = await this.opts.db.commandLog.findMany({
      where: { status: "pending", timeoutAt: { lt: new Date(Date.now() - graceMs) } },
      take: 100,
    });
    for (const command of stale) {
      await this.fail(command, {
        errorCode: "Timeout",
        errorMessage: "no answer from the charger before the command's timeout",
      });
    }
    return stale.length;
  }
}

/** What an Accepted answer changes here: the limit in force, reservations. */
async function applyAccepted(tx: Tx, command: CommandLog, request: OcppCommand): Promise<void> {
  const chargePointId = command.chargePointId;
  const setLimit = async (connectorId: number | undefined, limitW: number | null) => {
    // the history (readings take the limit in force at their time from it), then the current value
    await recordLimit(tx, { chargePointId, connectorId, limitW, commandId: command.id, at: new Date() });
    if (connectorId === undefined) {
      await tx.connector.updateMany({ where: { chargePointId }, data: { limitW } });
      return;
    }
    await tx.connector.upsert({
      where: { chargePointId_connectorId: { chargePointId, connectorId } },
      create: { chargePointId, connectorId, status: "unknown", limitW },
      update: { limitW },
    });
  };
  switch (request.command) {
    case "set_power_limit":
      await setLimit(request.connectorId, request.limitW);
      break;
    case "clear_power_limit":
      await setLimit(request.connectorId, null);
      break;
    case "reserve_now":
      await tx.reservation.upsert({
        where: { chargePointId_id: { chargePointId, id: request.reservationId } },
        create: {
          id: request.reservationId,
          chargePointId,
          connectorId: request.connectorId,
          idTag: request.idTag,
          expiresAt: new Date(request.expiresAt),
          commandId: command.id,
        },
        // a reservation id used again (OCPP: the charger replaces the reservation) starts afresh
        update: {
          state: "active",
          connectorId: request.connectorId,
          idTag: request.idTag,
          expiresAt: new Date(request.expiresAt),
          commandId: command.id,
          endedAt: null,
          transactionId: null,
          usedByIdTag: null,
        },
      });
      break;
    case "cancel_reservation":
      await tx.reservation.updateMany({
        where: { id: request.reservationId, chargePointId, state: "active" },
        data: { state: "cancelled", endedAt: new Date() },
      });
      break;
    default:
  }
}
