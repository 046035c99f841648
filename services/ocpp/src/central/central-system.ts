import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import { createHistogram, type RecordableHistogram } from "node:perf_hooks";
import type { Duplex } from "node:stream";
import { type OcppVersion, topics } from "@energy/contracts";
import { enqueueEvent, InvalidMessageError, type Logger } from "@energy/kafka";
import { createRPCError, RPCServer } from "ocpp-rpc";
import type { Config } from "../config.ts";
import type { Db } from "../db.ts";
import { rewriteOutgoingFrame } from "../domain/error-codes.ts";
import { oversizedFrame } from "../domain/frames.ts";
import { verifyPassword } from "../domain/password.ts";
import { mayCall } from "../domain/registration.ts";
import { type BatchedCall, batchedCalls, isBatched } from "./batched-calls.ts";
import { batchedStatuses } from "./batched-status.ts";
import { GroupCommit } from "./group-commit.ts";
import type { ActionHandler, CallContext, ChargerIdentity, ConnectionState } from "./handler.ts";
import { KeepAlive, type PingableSocket } from "./keep-alive.ts";
import {
  type Connection,
  type Disconnection,
  recordConnections,
  recordDisconnections,
} from "./session-records.ts";
import { strictValidators } from "./validators.ts";

/** Subprotocols in the server's order of preference. */
export const SUBPROTOCOLS = ["ocpp2.0.1", "ocpp1.6"] as const;
const VERSION_OF: Record<string, OcppVersion> = { "ocpp1.6": "1.6", "ocpp2.0.1": "2.0.1" };

/**
 * How long a charger's transaction may wait for a pooled connection and run: a boot storm queues
 * thousands of them behind the pool, and a late answer beats a failed one (the charger would retry).
 */
const LONG_WAIT = { maxWait: 30_000, timeout: 30_000 };

/** How often at most the outbox relay is woken up after calls stored events (publish). */
const RELAY_WAKE_UP_MS = 100;

/** Chargers connect to `<base>/ocpp/<identity>`. */
export const OCPP_PATH = "/ocpp";

/** Calls whose answer carries the current time or only reads: a replay is answered afresh. */
const NOT_DEDUPLICATED = new Set(["BootNotification", "Heartbeat", "Authorize"]);

export type HandlerTable = Record<OcppVersion, Record<string, ActionHandler>>;

type RpcClient = {
  identity: string;
  protocol: string | undefined;
  session: Record<string, unknown>;
  handle(handler: (call: { method: string; messageId?: string; params?: unknown }) => Promise<unknown>): void;
  call(method: string, params?: unknown, options?: Record<string, unknown>): Promise<unknown>;
  close(options?: {
    code?: number;
    reason?: string;
    force?: boolean;
    awaitPending?: boolean;
  }): Promise<unknown>;
  sendRaw(message: string): void;
  /** its websocket (a charger that does not answer the close at shutdown is cut off) */
  _ws?: { terminate(): void };
  /** ocpp-rpc's handler of each incoming frame (wrapped to refuse oversized frames unread) */
  _onMessage(buffer: Buffer): void;
  on(event: "close", listener: (info: { code: number; reason: string | Buffer }) => void): void;
};

/** One live websocket of one charger. */
interface Session {
  client: RpcClient;
  sessionId: string;
  version: OcppVersion;
  charger: ChargerIdentity;
  connection: ConnectionState;
  /** Resolves once the session is recorded (calls wait for it). */
  ready: Promise<void>;
  /** Set when a newer connection of the same charger took over: its close changes nothing. */
  superseded: boolean;
  /** Set once charger_session names this session (before that, the routing table may still name an older one). */
  recorded: boolean;
  /** Why the server ended it, when it did (e.g. a dead peer), for the disconnection's reason. */
  closeReason?: string;
}

export interface CentralSystemOptions {
  db: Db;
  config: Config;
  instanceId: string;
  handlers: HandlerTable;
  /** wakes the outbox relay after a transaction that recorded events */
  published: () => void;
}

/**
 * The OCPP-J endpoint: refuses unknown chargers and wrong passwords at the HTTP upgrade, keeps one
 * session per charger identity (a new connection wins, the old socket is closed and its close changes
 * nothing), records which instance holds each socket (charger_session), and runs each call through the
 * version's handler in one database transaction, once per message (replays get the stored answer).
 */
export class CentralSystem {
  readonly rpc: RPCServer;
  private readonly sessions = new Map<string, Session>();
  /**
   * Passwords verified before, by charger: a SHA-256 of the stored hash they matched and of what was sent
   * (44 characters per charger). scrypt costs ~40 ms of CPU by design; a fleet reconnecting at once (a
   * boot storm after an outage) would queue behind it. A changed stored hash (a new password) or another
   * password gives another digest: the entry is of no use to them.
   */
  private readonly verified = new Map<string, string>();
  /** scrypt checks running, by charger and digest (check) */
  private readonly checking = new Map<string, Promise<boolean>>();
  /** Disconnections being recorded: shutdown waits for them before the database closes. */
  private readonly closing = new Set<Promise<void>>();
  /** Heartbeats and meter values outside transactions, group-committed (batched-calls.ts). */
  private readonly batched: ReturnType<typeof batchedCalls>;
  /** StatusNotifications (both versions), group-committed (batched-status.ts). */
  private readonly statuses: ReturnType<typeof batchedStatuses>;
  /** Connections and disconnections, group-committed (a boot storm: session-records.ts). */
  private readonly connections: GroupCommit<Connection, string | null>;
  private readonly disconnections: GroupCommit<Disconnection, boolean>;
  /** set while a wake-up of the outbox relay is due (publish) */
  private relayWakeUp: NodeJS.Timeout | null = null;
  /** the app's log once attached */
  private log: Logger = { info() {}, warn() {}, error() {} };
  /** pings every socket; one that does not answer within DEAD_PEER_TIMEOUT_SECONDS is cut off */
  private readonly keepAlive: KeepAlive;
  /**
   * How long calls take inside the service, in µs, since the last reset (metrics.ts): from ocpp-rpc handing
   * the parsed, validated call over to its answer, group-committed or through the handler's transaction.
   */
  readonly callTiming: Record<"batched" | "alone" | "frame", RecordableHistogram> = {
    batched: createHistogram(),
    alone: createHistogram(),
    frame: createHistogram(),
  };
  /**
   * Calls being handled, by charger and message id: when their frame reached the service (before ocpp-rpc
   * parsed it), so that `callTiming.frame` covers parsing, validation, the handling and the answer's send.
   */
  private readonly framesAt = new Map<string, number>();

  constructor(private readonly opts: CentralSystemOptions) {
    this.keepAlive = new KeepAlive({
      intervalMs: opts.config.PING_INTERVAL_SECONDS * 1000,
      timeoutMs: opts.config.DEAD_PEER_TIMEOUT_SECONDS * 1000,
    });
    // a batch that fails (a value no column or event takes, a conflict) is rare: each of its calls then
    // gets its own answer or CALLERROR through its handler
    const failed = (what: string) => (err: unknown, size: number) =>
      this.log.warn({ err, size }, `a batch of ${what} failed as a whole: each goes on its own`);
    this.batched = batchedCalls({
      pool: opts.db.pool,
      config: opts.config,
      published: () => this.publish(),
      failed: failed("calls"),
    });
    this.statuses = batchedStatuses({
      pool: opts.db.pool,
      config: opts.config,
      published: () => this.publish(),
      failed: failed("status notifications"),
    });
    this.connections = new GroupCommit({
      run: (items) => recordConnections(opts.db.pool, opts.instanceId, items),
      alone: (item) => this.recordConnectedAlone(item),
      committed: () => this.publish(),
      failed: failed("connections"),
    });
    this.disconnections = new GroupCommit({
      run: (items) => recordDisconnections(opts.db.pool, items),
      alone: (item) => this.recordDisconnectedAlone(item),
      committed: () => this.publish(),
      failed: failed("disconnections"),
    });
    this.rpc = new RPCServer({
      protocols: [...SUBPROTOCOLS],
      strictMode: true,
      // pings are keepAlive's (a dead-peer timeout apart from the interval), not ocpp-rpc's
      pingIntervalMs: 0,
      callTimeoutMs: opts.config.COMMAND_TIMEOUT_SECONDS * 1000,
      // a charger that keeps sending garbage is not cut off: each bad frame gets its CALLERROR
      maxBadMessages: Number.POSITIVE_INFINITY,
      // the versions' schemas, and what they leave out (nesting, NUL, surrogates, 32-bit integers)
      strictModeValidators: strictValidators(),
      // a frame over the limit is refused unread (oversizedFrame); one far over it ends the socket
      wssOptions: { maxPayload: opts.config.OCPP_MAX_FRAME_BYTES * 4 },
    });
    this.rpc.auth((accept, reject, handshake) => {
      this.authenticate(handshake).then(
        (outcome) =>
          "charger" in outcome
            ? accept({ charger: outcome.charger })
            : reject(outcome.status, outcome.message),
        (err: unknown) => {
          this.log.error({ err, identity: handshake.identity }, "upgrade check failed");
          reject(503, "Service Unavailable");
        },
      );
    });
    this.rpc.on("client", (client: RpcClient) => this.onClient(client));
  }

  /**
   * Routes websocket upgrades of the app's server under /ocpp/ to the OCPP server (any other upgrade is
   * refused with 404), and logs in the app's log. The runtime does it at start (service.ts onStart).
   */
  attach(
    app: { server: Server; log: Logger & { child(bindings: object): Logger } },
    opts: { plainWs?: boolean } = {},
  ): void {
    this.log = app.log.child({ component: "central-system" });
    app.server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      // OCPP_PLAIN_WS=false: chargers must come over TLS (security profile 2), never with a password in clear
      if (opts.plainWs === false) {
        const body = "Forbidden: connect over wss (TLS)";
        socket.end(
          `HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        );
        return;
      }
      this.upgrade(request, socket, head);
    });
  }

  /** Takes a websocket upgrade of any listener (the plain port, the TLS one): under /ocpp/, else 404. */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (request.url ?? "/").split("?")[0]!;
    if (!path.startsWith(`${OCPP_PATH}/`)) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    void this.rpc.handleUpgrade(request, socket as never, head);
  }

  /** Where the group commits' time goes (metrics.ts): queue wait, write time and batch sizes. */
  groupCommitTiming() {
    return {
      calls: this.batched.timing,
      statuses: this.statuses.timing,
      connections: this.connections.timing,
      disconnections: this.disconnections.timing,
    };
  }

  /** How the group commits went (batches, calls in them, batches that failed as a whole). */
  groupCommits() {
    return {
      calls: { ...this.batched.stats, statements: { ...this.batched.statements } },
      statuses: { ...this.statuses.stats },
      connections: { ...this.connections.stats },
      disconnections: { ...this.disconnections.stats },
    };
  }

  /** Whether this instance holds the charger's socket. */
  holds(chargePointId: string): boolean {
    return this.sessions.has(chargePointId);
  }

  /** The chargers whose sockets this instance holds and has recorded in charger_session. */
  heldIds(): string[] {
    return [...this.sessions.values()].filter((s) => s.recorded).map((s) => s.charger.chargePointId);
  }

  versionOf(chargePointId: string): OcppVersion | null {
    return this.sessions.get(chargePointId)?.version ?? null;
  }

  /** What the last BootNotification of a charger this instance holds was answered (null: none yet). */
  bootStatusOf(chargePointId: string): string | null {
    return this.sessions.get(chargePointId)?.connection.bootStatus ?? null;
  }

  /** Sends a call to a charger this instance holds; rejects with the charger's CALLERROR or a timeout. */
  async call(chargePointId: string, action: string, params: unknown, timeoutMs: number): Promise<unknown> {
    const session = this.sessions.get(chargePointId);
    if (!session) throw Object.assign(new Error("not connected to this instance"), { code: "NotConnected" });
    await session.ready;
    // A message asked for with a TriggerMessage may come from a charger that is not Accepted (Pending):
    // noted before the call goes out (the charger may send it right after its answer), dropped when refused.
    const requested =
      action === "TriggerMessage" ? (params as { requestedMessage?: string }).requestedMessage : undefined;
    if (requested) session.connection.triggered.add(requested);
    try {
      const answer = await session.client.call(action, params, { callTimeoutMs: timeoutMs });
      if (requested && (answer as { status?: string } | null)?.status !== "Accepted") {
        session.connection.triggered.delete(requested);
      }
      return answer;
    } catch (err) {
      if (requested) session.connection.triggered.delete(requested);
      throw err;
    }
  }

  /** Closes a socket this instance holds whose charger is now connected elsewhere (it must not act twice). */
  async dropSuperseded(chargePointId: string, sessionId: string | null): Promise<void> {
    const session = this.sessions.get(chargePointId);
    if (!session || session.sessionId === sessionId) return;
    session.superseded = true;
    this.sessions.delete(chargePointId);
    await session.client.close({ code: 1000, reason: "connected elsewhere", force: true });
  }

  sessionIdOf(chargePointId: string): string | null {
    return this.sessions.get(chargePointId)?.sessionId ?? null;
  }

  /**
   * Tells every charger to go (close 1001, "going away"), waits up to `graceMs` for each to answer the
   * close, cuts off the ones that did not, and waits until their disconnections are recorded.
   */
  async close(graceMs = 2_000): Promise<void> {
    const reason = "server shutting down";
    this.keepAlive.close();
    const open = [...this.sessions.values()].map(async (s) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), graceMs);
      });
      const outcome = await Promise.race([s.client.close({ code: 1001, reason }).catch(() => {}), late]);
      clearTimeout(timer);
      if (outcome === "late") s.client._ws?.terminate();
    });
    await Promise.all(open);
    await this.rpc.close({ code: 1001, reason, force: true });
    while (this.closing.size > 0) await Promise.allSettled([...this.closing]);
  }

  /**
   * Wakes the outbox relay after events were stored, at most once per RELAY_WAKE_UP_MS: under load every
   * batch of calls stores events, and a relay round (a transaction, a produce) per batch would cost more
   * than the calls; one round publishes everything stored before it.
   */
  private publish(): void {
    if (this.relayWakeUp) return;
    this.relayWakeUp = setTimeout(() => {
      this.relayWakeUp = null;
      this.opts.published();
    }, RELAY_WAKE_UP_MS);
    this.relayWakeUp.unref();
  }

  // ---- upgrade --------------------------------------------------------------------------------------

  private async authenticate(handshake: {
    identity: string;
    endpoint: string;
    protocols: Set<string>;
    password: Buffer | undefined;
    request?: IncomingMessage;
  }): Promise<{ charger: ChargerIdentity } | { status: number; message: string }> {
    if (handshake.endpoint !== OCPP_PATH || handshake.identity === "") {
      return { status: 404, message: "Not Found" };
    }
    if (!SUBPROTOCOLS.some((p) => handshake.protocols.has(p))) {
      return { status: 400, message: "Bad Request: offer subprotocol ocpp1.6 or ocpp2.0.1" };
    }
    // one query on the pool (every upgrade of a boot storm makes it): the device and its password hash
    const { rows } = await this.opts.db.pool.query<{
      id: string;
      org_id: string;
      type: string;
      make: string | null;
      state: string;
      password_hash: string | null;
      security_profile: number | null;
    }>({
      name: "ocpp-upgrade-device",
      text: `SELECT d.id, d.org_id, d.type, d.make, d.state, c.password_hash, c.security_profile
         FROM charger_device d LEFT JOIN charger_credential c ON c.charge_point_id = d.id
        WHERE d.id = $1`,
      values: [handshake.identity],
    });
    const device = rows[0];
    // 404: no such charger in the registry (or not a charger); 401: no password set, none sent, or wrong.
    if (!device) return { status: 404, message: "Not Found: no charger with this identity is registered" };
    const storedHash = device.password_hash;
    if (storedHash === null || handshake.password === undefined)
      return { status: 401, message: "Unauthorized" };
    const digest = createHash("sha256")
      .update(storedHash)
      .update("\0")
      .update(handshake.password)
      .digest("base64");
    const passwordOk =
      this.verified.get(device.id) === digest ||
      (await this.check(device.id, digest, handshake.password, storedHash));
    if (!passwordOk) return { status: 401, message: "Unauthorized" };
    this.verified.set(device.id, digest);
    if (device.state === "orphaned") return { status: 403, message: "Forbidden: the device is orphaned" };
    // security profile 2: this charger comes over TLS only (no downgrade to a plain connection)
    const overTls = (handshake.request?.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
    if ((device.security_profile ?? 1) >= 2 && !overTls) {
      return { status: 403, message: "Forbidden: this charger connects over TLS (security profile 2)" };
    }
    return {
      charger: { chargePointId: device.id, orgId: device.org_id, deviceType: device.type, make: device.make },
    };
  }

  /**
   * One scrypt check per charger and password at a time: a charger that gives up on a slow upgrade (a cold
   * restart's storm queues thousands of checks) and tries again with the same password waits for the check
   * already running instead of queueing a second one.
   */
  private check(id: string, digest: string, password: Buffer, storedHash: string): Promise<boolean> {
    const key = `${id}\0${digest}`;
    const running = this.checking.get(key);
    if (running) return running;
    const check = verifyPassword(password, storedHash).finally(() => this.checking.delete(key));
    this.checking.set(key, check);
    return check;
  }

  // ---- sessions -------------------------------------------------------------------------------------

  private onClient(client: RpcClient): void {
    const version = VERSION_OF[client.protocol ?? ""] ?? "1.6";
    const charger = client.session.charger as ChargerIdentity;
    const id = charger.chargePointId;
    // Error codes in the version's own spelling, whatever ocpp-rpc produced (domain/error-codes.ts).
    const send = client.sendRaw.bind(client);
    client.sendRaw = (message: string) => {
      send(rewriteOutgoingFrame(version, message));
      // an answer (CALLRESULT `[3,"id",…` or CALLERROR `[4,"id",…`): the call's time from its frame on
      if ((message.startsWith('[3,"') || message.startsWith('[4,"')) && this.framesAt.size > 0) {
        const key = `${id}\0${message.slice(4, message.indexOf('"', 4))}`;
        const at = this.framesAt.get(key);
        if (at !== undefined) {
          this.framesAt.delete(key);
          this.callTiming.frame.record(Math.max(1, Math.round((performance.now() - at) * 1000)));
        }
      }
    };
    // A frame over OCPP_MAX_FRAME_BYTES is answered with a CALLERROR and never parsed; any frame shows the
    // peer is alive (keep-alive: it is pinged only when quiet)
    const receive = client._onMessage.bind(client);
    let alive = () => {};
    // when the frame being handed to ocpp-rpc arrived (its call reaches dispatch synchronously)
    let frameAt = 0;
    client._onMessage = (buffer: Buffer) => {
      alive();
      frameAt = performance.now();
      const refusal = oversizedFrame(buffer, this.opts.config.OCPP_MAX_FRAME_BYTES);
      if (!refusal) receive(buffer);
      else if (refusal.answer) client.sendRaw(refusal.answer);
    };

    const session: Session = {
      client,
      sessionId: randomUUID(),
      version,
      charger,
      connection: { bootStatus: null, triggered: new Set() },
      ready: Promise.resolve(),
      superseded: false,
      recorded: false,
    };
    const previous = this.sessions.get(id);
    this.sessions.set(id, session);
    if (previous) {
      previous.superseded = true;
      void previous.client.close({ code: 1000, reason: "replaced by a new connection", force: true });
    }
    session.ready = this.recordConnected(session).catch((err: unknown) => {
      this.log.error({ err, chargePointId: id }, "could not record the connection");
      void client.close({ code: 1011, reason: "internal error", force: true });
      throw err;
    });
    session.ready.catch(() => {});
    if (client._ws) {
      const timeout = this.opts.config.DEAD_PEER_TIMEOUT_SECONDS;
      alive = this.keepAlive.track(client._ws as unknown as PingableSocket, () => {
        session.closeReason = `dead peer: no answer to a ping within ${timeout} s`;
        this.log.info({ chargePointId: id }, session.closeReason);
      });
    }

    // one handler per connection for every action (not one closure and map entry per action and
    // connection: ~1.5 KiB each of 10,000 sockets); an action the version has no handler for is
    // NotImplemented, as ocpp-rpc answers it (one without a schema never gets here: validators.ts)
    const table = this.opts.handlers[version];
    client.handle(({ method, messageId, params }) => {
      const handler = Object.hasOwn(table, method) ? table[method] : undefined;
      if (!handler) throw createRPCError("NotImplemented", `Unable to handle '${method}' calls`, {});
      // a call whose answer never went (its socket closed first) leaves its entry: bounded here
      if (this.framesAt.size > 50_000) this.framesAt.clear();
      if (messageId !== undefined) this.framesAt.set(`${id}\0${messageId}`, frameAt);
      return this.dispatch(session, method, handler, messageId ?? "", params);
    });
    client.on("close", ({ code, reason }) => {
      const done = this.onClose(session, session.closeReason ?? `${code} ${reason.toString()}`.trim());
      this.closing.add(done);
      void done.finally(() => this.closing.delete(done));
    });
  }

  private async recordConnected(session: Session): Promise<void> {
    const bootStatus = await this.connections.submit({
      chargePointId: session.charger.chargePointId,
      sessionId: session.sessionId,
      version: session.version,
      connectedAt: new Date(),
    });
    session.connection.bootStatus = bootStatus;
    session.recorded = true;
  }

  /** A connection on its own: the fallback of a group commit that failed. */
  private async recordConnectedAlone(c: Connection): Promise<string | null> {
    const { db, instanceId } = this.opts;
    const id = c.chargePointId;
    const ocppVersion = c.version;
    const point = await db.$transaction(async (tx) => {
      const cp = await tx.chargePoint.upsert({
        where: { serialNumber: id },
        create: { serialNumber: id, ocppVersion },
        update: { ocppVersion },
      });
      const row = { instanceId, sessionId: c.sessionId, ocppVersion, connectedAt: c.connectedAt };
      await tx.chargerSession.upsert({
        where: { chargePointId: id },
        create: { chargePointId: id, ...row },
        update: row,
      });
      await enqueueEvent(tx, topics.ocppCharger, "charger.connected", {
        chargePointId: id,
        ocppVersion,
        instanceId,
      });
      return cp;
    }, LONG_WAIT);
    this.publish();
    return point.bootStatus;
  }

  private async onClose(session: Session, reason: string): Promise<void> {
    const id = session.charger.chargePointId;
    if (this.sessions.get(id) === session) this.sessions.delete(id);
    if (session.superseded) return;
    try {
      await session.ready;
      await this.disconnections.submit({ chargePointId: id, sessionId: session.sessionId, reason });
    } catch (err) {
      this.log.error({ err, chargePointId: id }, "could not record the disconnection");
    }
  }

  /** A disconnection on its own: the fallback of a group commit that failed. */
  private async recordDisconnectedAlone(d: Disconnection): Promise<boolean> {
    const recorded = await this.opts.db.$transaction(async (tx) => {
      // Only the session that is still recorded marks the charger disconnected: a socket that was
      // replaced by a newer connection (here or on another instance) closes quietly.
      const removed = await tx.chargerSession.deleteMany({
        where: { chargePointId: d.chargePointId, sessionId: d.sessionId },
      });
      if (removed.count === 0) return false;
      await enqueueEvent(tx, topics.ocppCharger, "charger.disconnected", {
        chargePointId: d.chargePointId,
        reason: d.reason || null,
      });
      return true;
    }, LONG_WAIT);
    this.publish();
    return recorded;
  }

  // ---- calls ----------------------------------------------------------------------------------------

  private async dispatch(
    session: Session,
    action: string,
    handler: ActionHandler,
    messageId: string,
    params: unknown,
  ): Promise<unknown> {
    await session.ready;
    if (session.superseded)
      throw createRPCError("GenericError", "this connection was replaced by a newer one");
    // what a Pending or Rejected charger may send (domain/registration.ts)
    const permission = mayCall(session.connection.bootStatus, action, session.connection.triggered);
    if (!permission.allowed) throw createRPCError("SecurityError", permission.reason);
    if (permission.triggered) session.connection.triggered.delete(action);
    const dedup = !NOT_DEDUPLICATED.has(action);
    const contentHash = dedup
      ? createHash("sha256")
          .update(JSON.stringify(params ?? null))
          .digest("base64url")
      : "";
    const receivedAt = new Date();
    const correlationId = randomUUID();
    const alone = () =>
      this.handleAlone(session, action, handler, {
        messageId,
        params,
        contentHash,
        receivedAt,
        correlationId,
      });
    const started = performance.now();
    const path = isBatched(action, params) ? "batched" : "alone";
    const timed = () =>
      this.callTiming[path].record(Math.max(1, Math.round((performance.now() - started) * 1000)));
    const answer =
      path === "alone"
        ? alone()
        : this.submitBatched(session, action, {
            messageId,
            contentHash,
            params,
            receivedAt,
            correlationId,
            alone,
          });
    answer.then(timed, timed);
    return answer;
  }

  private submitBatched(
    session: Session,
    action: string,
    call: Pick<
      BatchedCall,
      "messageId" | "contentHash" | "params" | "receivedAt" | "correlationId" | "alone"
    >,
  ): Promise<unknown> {
    const commit = action === "StatusNotification" ? this.statuses : this.batched;
    return commit.submit({
      ...call,
      version: session.version,
      action,
      charger: session.charger,
      connection: session.connection,
    });
  }

  /** A call through its handler, in its own transaction, once per message (a replay gets the stored answer). */
  private async handleAlone(
    session: Session,
    action: string,
    handler: ActionHandler,
    call: {
      messageId: string;
      params: unknown;
      contentHash: string;
      receivedAt: Date;
      correlationId: string;
    },
  ): Promise<unknown> {
    const { db, config } = this.opts;
    const chargePointId = session.charger.chargePointId;
    const { messageId, params, contentHash, receivedAt, correlationId } = call;
    const dedup = !NOT_DEDUPLICATED.has(action);
    const result = await db
      .$transaction(async (tx) => {
        if (dedup) {
          const seen = await tx.ocppMessage.findUnique({
            where: {
              chargePointId_messageId_action_contentHash: { chargePointId, messageId, action, contentHash },
            },
          });
          if (seen) return seen.response as Record<string, unknown>;
        }
        const ctx: CallContext = {
          db,
          tx,
          config,
          version: session.version,
          charger: session.charger,
          connection: session.connection,
          messageId,
          receivedAt,
          correlationId,
        };
        const response = await handler(ctx, params);
        if (dedup) {
          await tx.ocppMessage.create({
            data: { chargePointId, messageId, action, contentHash, response: response as object },
          });
        }
        return response;
      }, LONG_WAIT)
      .catch((err: unknown) => {
        throw this.callError(err, session, action);
      });
    this.publish();
    return result;
  }

  /**
   * The CALLERROR for a call whose handling failed: a handler's own (createRPCError) as it is; a value the
   * charger sent that an event's contract refuses (InvalidMessageError naming the field) or that a column
   * cannot hold (Prisma P2020, P2033) is the charger's PropertyConstraintViolation; anything else is an
   * InternalError whose text says nothing of the database (the error itself goes to the log).
   */
  private callError(err: unknown, session: Session, action: string): unknown {
    if ((err as { rpcErrorCode?: string }).rpcErrorCode) return err;
    const chargePointId = session.charger.chargePointId;
    if (err instanceof InvalidMessageError) {
      this.log.warn(
        { issues: err.issues, chargePointId, action },
        "a call carried a value no event may carry",
      );
      return createRPCError("PropertyConstraintViolation", `a value is out of range: ${err.message}`);
    }
    const code = (err as { code?: string }).code;
    if (code === "P2020" || code === "P2033") {
      this.log.warn({ err, chargePointId, action }, "a call carried a value no column can hold");
      return createRPCError("PropertyConstraintViolation", "a value is out of the range this field can take");
    }
    this.log.error({ err, chargePointId, action }, "a call could not be handled");
    return createRPCError("InternalError", `the central system could not handle ${action}`);
  }
}
