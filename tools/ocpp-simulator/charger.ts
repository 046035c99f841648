/**
 * One simulated charge point speaking OCPP 1.6J or 2.0.1 (over ocpp-rpc's client, strict mode): it boots,
 * reports its connectors, heartbeats, and runs charging sessions on its own (plug in, authorize, start,
 * meter values, stop, unplug), and obeys the central system's commands (remote start/stop, reset,
 * availability, unlock, trigger, charging profiles, reservations, configuration).
 */
import { RPCClient } from "ocpp-rpc";

export type Version = "1.6" | "2.0.1";

export interface ChargerOptions {
  /** ws://host:port/ocpp, or wss://host:port/ocpp (security profile 2: TLS, the server checked against `ca`) */
  endpoint: string;
  /** the CA (PEM) that signed the central system's TLS certificate, for a wss endpoint */
  ca?: Buffer;
  identity: string;
  password: string;
  version: Version;
  connectors: number;
  /** Meter values every … (ms) during a session. */
  meterIntervalMs: number;
  /** Heartbeat interval until the central system says another one. */
  heartbeatMs: number;
  /** Mean idle time between sessions and mean session length (ms); 0 idle: sessions only when told. */
  idleMs: number;
  sessionMs: number;
  idTag: string;
  /** Rated power per connector, W. */
  powerW: number;
  log?: (message: string) => void;
  /** deterministic pseudo-random (0..1) for the sessions' timing */
  random?: () => number;
}

interface Session {
  transactionId: string | number;
  seqNo: number;
  startedWh: number;
}

interface Port {
  id: number;
  energyWh: number;
  session: Session | null;
  limitW: number | null;
  available: boolean;
  timer: NodeJS.Timeout | null;
}

export class SimulatedCharger {
  readonly client: RPCClient;
  private readonly ports: Port[];
  private heartbeat: NodeJS.Timeout | null = null;
  private stopped = false;
  private txCounter = 0;
  calls = 0;

  constructor(private readonly opts: ChargerOptions) {
    this.client = new RPCClient({
      endpoint: opts.endpoint,
      identity: opts.identity,
      password: opts.password,
      protocols: [opts.version === "1.6" ? "ocpp1.6" : "ocpp2.0.1"],
      strictMode: true,
      reconnect: true,
      maxReconnects: Number.POSITIVE_INFINITY,
      ...(opts.ca ? { wsOpts: { ca: opts.ca } } : {}),
    } as never);
    this.ports = Array.from({ length: opts.connectors }, (_, i) => ({
      id: i + 1,
      energyWh: 1_000_000 + Math.round((opts.random?.() ?? Math.random()) * 500_000),
      session: null,
      limitW: null,
      available: true,
      timer: null,
    }));
    this.handleCommands();
    this.client.on("open", () => {
      void this.boot().catch((err: Error) => this.log(`boot failed: ${err.message}`));
    });
  }

  private get v16() {
    return this.opts.version === "1.6";
  }

  private log(message: string) {
    this.opts.log?.(`${this.opts.identity} (${this.opts.version}): ${message}`);
  }

  private rand() {
    return this.opts.random?.() ?? Math.random();
  }

  private async call(action: string, params: unknown): Promise<Record<string, unknown>> {
    this.calls++;
    return (await this.client.call(action, params)) as Record<string, unknown>;
  }

  async start(): Promise<void> {
    await this.client.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const port of this.ports) if (port.timer) clearTimeout(port.timer);
    await this.client.close({ force: true } as never);
  }

  private async boot(): Promise<void> {
    const answer = this.v16
      ? await this.call("BootNotification", {
          chargePointVendor: "Simulated",
          chargePointModel: "SimCharger 16",
        })
      : await this.call("BootNotification", {
          reason: "PowerUp",
          chargingStation: { vendorName: "Simulated", model: "SimCharger 201" },
        });
    if (answer.status !== "Accepted") {
      this.log(`boot ${String(answer.status)}; retrying in ${String(answer.interval)} s`);
      setTimeout(() => void this.boot().catch(() => {}), Number(answer.interval ?? 10) * 1000).unref();
      return;
    }
    const interval = Number(answer.interval) * 1000 || this.opts.heartbeatMs;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => void this.call("Heartbeat", {}).catch(() => {}), interval);
    this.heartbeat.unref();
    for (const port of this.ports) {
      await this.status(port, port.session ? "Charging" : "Available");
      this.schedule(port);
    }
    this.log("booted");
  }

  private async status(port: Port, status16: string): Promise<void> {
    if (this.v16) {
      await this.call("StatusNotification", { connectorId: port.id, errorCode: "NoError", status: status16 });
      return;
    }
    const map: Record<string, string> = {
      Available: "Available",
      Preparing: "Occupied",
      Charging: "Occupied",
      Finishing: "Occupied",
      Unavailable: "Unavailable",
      Reserved: "Reserved",
    };
    await this.call("StatusNotification", {
      timestamp: new Date().toISOString(),
      connectorStatus: map[status16] ?? "Available",
      evseId: port.id,
      connectorId: 1,
    });
  }

  /** The next thing a port does by itself: start a session after an idle spell. */
  private schedule(port: Port) {
    if (this.stopped || this.opts.idleMs <= 0 || port.session || port.timer) return;
    const wait = this.opts.idleMs * (0.5 + this.rand());
    port.timer = setTimeout(() => {
      port.timer = null;
      void this.startSession(port, this.opts.idTag).catch((err: Error) =>
        this.log(`session failed: ${err.message}`),
      );
    }, wait);
    port.timer.unref();
  }

  private powerOf(port: Port): number {
    return Math.max(0, Math.min(this.opts.powerW, port.limitW ?? Number.POSITIVE_INFINITY));
  }

  private sampled(port: Port, context: string) {
    const w = port.session ? this.powerOf(port) : 0;
    const amps = Math.round((w / 3 / 230) * 10) / 10;
    if (this.v16) {
      return [
        {
          value: String(Math.round(port.energyWh)),
          measurand: "Energy.Active.Import.Register",
          unit: "Wh",
          context,
        },
        { value: String(w), measurand: "Power.Active.Import", unit: "W", context },
        ...(["L1", "L2", "L3"] as const).flatMap((phase) => [
          { value: "230.0", measurand: "Voltage", phase: `${phase}-N`, unit: "V", context },
          { value: String(amps), measurand: "Current.Import", phase, unit: "A", context },
        ]),
      ];
    }
    return [
      {
        value: Math.round(port.energyWh),
        measurand: "Energy.Active.Import.Register",
        context,
        unitOfMeasure: { unit: "Wh" },
      },
      { value: w, measurand: "Power.Active.Import", context, unitOfMeasure: { unit: "W" } },
      ...(["L1", "L2", "L3"] as const).flatMap((phase) => [
        { value: 230, measurand: "Voltage", phase: `${phase}-N`, context, unitOfMeasure: { unit: "V" } },
        { value: amps, measurand: "Current.Import", phase, context, unitOfMeasure: { unit: "A" } },
      ]),
    ];
  }

  async startSession(port: Port, idTag: string): Promise<void> {
    if (port.session || !port.available) return;
    await this.status(port, "Preparing");
    const auth = this.v16
      ? ((await this.call("Authorize", { idTag })) as { idTagInfo: { status: string } }).idTagInfo.status
      : (
          (await this.call("Authorize", { idToken: { idToken: idTag, type: "ISO14443" } })) as {
            idTokenInfo: { status: string };
          }
        ).idTokenInfo.status;
    if (auth !== "Accepted") {
      this.log(`id tag ${idTag} is ${auth}`);
      await this.status(port, "Available");
      this.schedule(port);
      return;
    }
    const now = new Date().toISOString();
    if (this.v16) {
      const answer = (await this.call("StartTransaction", {
        connectorId: port.id,
        idTag,
        meterStart: Math.round(port.energyWh),
        timestamp: now,
      })) as { transactionId: number };
      port.session = { transactionId: answer.transactionId, seqNo: 0, startedWh: port.energyWh };
    } else {
      const transactionId = `${this.opts.identity}-${port.id}-${Date.now()}-${++this.txCounter}`;
      port.session = { transactionId, seqNo: 0, startedWh: port.energyWh };
      await this.call("TransactionEvent", {
        eventType: "Started",
        timestamp: now,
        triggerReason: "Authorized",
        seqNo: port.session.seqNo++,
        transactionInfo: { transactionId, chargingState: "Charging" },
        idToken: { idToken: idTag, type: "ISO14443" },
        evse: { id: port.id, connectorId: 1 },
        meterValue: [{ timestamp: now, sampledValue: this.sampled(port, "Transaction.Begin") }],
      });
    }
    await this.status(port, "Charging");
    this.log(`session ${String(port.session.transactionId)} started on connector ${port.id}`);
    const endAt = Date.now() + this.opts.sessionMs * (0.5 + this.rand());
    const tick = async () => {
      const session = port.session;
      if (!session || this.stopped) return;
      port.energyWh += (this.powerOf(port) * this.opts.meterIntervalMs) / 3_600_000;
      if (this.opts.sessionMs > 0 && Date.now() >= endAt) {
        await this.stopSession(port, "Local");
        return;
      }
      await this.meterValues(port, session);
      port.timer = setTimeout(() => void tick().catch(() => {}), this.opts.meterIntervalMs);
      port.timer.unref();
    };
    port.timer = setTimeout(() => void tick().catch(() => {}), this.opts.meterIntervalMs);
    port.timer.unref();
  }

  private async meterValues(port: Port, session: Session) {
    const timestamp = new Date().toISOString();
    if (this.v16) {
      await this.call("MeterValues", {
        connectorId: port.id,
        transactionId: session.transactionId,
        meterValue: [{ timestamp, sampledValue: this.sampled(port, "Sample.Periodic") }],
      });
      return;
    }
    await this.call("TransactionEvent", {
      eventType: "Updated",
      timestamp,
      triggerReason: "MeterValuePeriodic",
      seqNo: session.seqNo++,
      transactionInfo: { transactionId: session.transactionId, chargingState: "Charging" },
      meterValue: [{ timestamp, sampledValue: this.sampled(port, "Sample.Periodic") }],
    });
  }

  async stopSession(port: Port, reason: string): Promise<void> {
    const session = port.session;
    if (!session) return;
    if (port.timer) clearTimeout(port.timer);
    port.timer = null;
    const timestamp = new Date().toISOString();
    if (this.v16) {
      await this.call("StopTransaction", {
        transactionId: session.transactionId,
        meterStop: Math.round(port.energyWh),
        timestamp,
        reason,
      });
    } else {
      await this.call("TransactionEvent", {
        eventType: "Ended",
        timestamp,
        triggerReason: reason === "Remote" ? "RemoteStop" : "EVCommunicationLost",
        seqNo: session.seqNo++,
        transactionInfo: { transactionId: session.transactionId, stoppedReason: reason },
        meterValue: [{ timestamp, sampledValue: this.sampled(port, "Transaction.End") }],
      });
    }
    port.session = null;
    this.log(
      `session ${String(session.transactionId)} stopped (${reason}), ${Math.round(port.energyWh - session.startedWh)} Wh`,
    );
    await this.status(port, "Finishing");
    await this.status(port, "Available");
    this.schedule(port);
  }

  private port(id: number | undefined): Port {
    return this.ports.find((p) => p.id === id) ?? this.ports[0]!;
  }

  private portOfTransaction(transactionId: unknown): Port | undefined {
    return this.ports.find((p) => p.session && String(p.session.transactionId) === String(transactionId));
  }

  private handleCommands() {
    const c = this.client;
    const later = (fn: () => Promise<void>) => setTimeout(() => void fn().catch(() => {}), 50).unref();
    const remoteStart = (port: Port, idTag: string) => {
      if (port.session || !port.available) return { status: "Rejected" };
      if (port.timer) clearTimeout(port.timer);
      port.timer = null;
      later(() => this.startSession(port, idTag));
      return { status: "Accepted" };
    };
    const remoteStop = (transactionId: unknown) => {
      const port = this.portOfTransaction(transactionId);
      if (!port) return { status: "Rejected" };
      later(() => this.stopSession(port, "Remote"));
      return { status: "Accepted" };
    };
    const limit = (connectorId: number, w: number | null) => {
      for (const p of connectorId === 0 ? this.ports : [this.port(connectorId)]) p.limitW = w;
      return { status: "Accepted" };
    };
    const trigger = (message: string, connectorId: number | undefined) => {
      later(async () => {
        if (message === "Heartbeat") await this.call("Heartbeat", {});
        if (message === "BootNotification") await this.boot();
        if (message === "StatusNotification")
          await this.status(
            this.port(connectorId),
            this.port(connectorId).session ? "Charging" : "Available",
          );
        if (message === "MeterValues") {
          const port = this.port(connectorId);
          if (port.session) await this.meterValues(port, port.session);
        }
      });
      return { status: "Accepted" };
    };
    const reset = () => {
      later(async () => {
        for (const port of this.ports)
          await this.stopSession(port, this.v16 ? "SoftReset" : "ImmediateReset");
        await this.boot();
      });
      return { status: "Accepted" };
    };
    const availability = (connectorId: number, operative: boolean) => {
      for (const p of connectorId === 0 ? this.ports : [this.port(connectorId)]) {
        p.available = operative;
        later(() => this.status(p, operative ? "Available" : "Unavailable"));
      }
      return { status: "Accepted" };
    };
    const config: Record<string, string> = { HeartbeatInterval: String(this.opts.heartbeatMs / 1000) };
    if (this.v16) {
      c.handle("RemoteStartTransaction", async ({ params }) =>
        remoteStart(this.port(params?.connectorId), params?.idTag),
      );
      c.handle("RemoteStopTransaction", async ({ params }) => remoteStop(params?.transactionId));
      c.handle("Reset", async () => reset());
      c.handle("ChangeAvailability", async ({ params }) =>
        availability(params?.connectorId, params?.type === "Operative"),
      );
      c.handle("UnlockConnector", async () => ({ status: "Unlocked" }));
      c.handle("TriggerMessage", async ({ params }) =>
        trigger(params?.requestedMessage, params?.connectorId),
      );
      c.handle("SetChargingProfile", async ({ params }) =>
        limit(
          params?.connectorId,
          params?.csChargingProfiles?.chargingSchedule?.chargingSchedulePeriod?.[0]?.limit ?? null,
        ),
      );
      c.handle("ClearChargingProfile", async () => limit(0, null));
      c.handle("ReserveNow", async () => ({ status: "Accepted" }));
      c.handle("CancelReservation", async () => ({ status: "Accepted" }));
      c.handle("GetConfiguration", async () => ({
        configurationKey: Object.entries(config).map(([key, value]) => ({ key, readonly: false, value })),
      }));
      c.handle("ChangeConfiguration", async ({ params }) => {
        config[params?.key] = params?.value;
        return { status: "Accepted" };
      });
    } else {
      c.handle("RequestStartTransaction", async ({ params }) =>
        remoteStart(this.port(params?.evseId), params?.idToken?.idToken),
      );
      c.handle("RequestStopTransaction", async ({ params }) => remoteStop(params?.transactionId));
      c.handle("Reset", async () => reset());
      c.handle("ChangeAvailability", async ({ params }) =>
        availability(params?.evse?.id ?? 0, params?.operationalStatus === "Operative"),
      );
      c.handle("UnlockConnector", async () => ({ status: "Unlocked" }));
      c.handle("TriggerMessage", async ({ params }) => trigger(params?.requestedMessage, params?.evse?.id));
      c.handle("SetChargingProfile", async ({ params }) =>
        limit(
          params?.evseId,
          params?.chargingProfile?.chargingSchedule?.[0]?.chargingSchedulePeriod?.[0]?.limit ?? null,
        ),
      );
      c.handle("ClearChargingProfile", async () => limit(0, null));
      c.handle("ReserveNow", async () => ({ status: "Accepted" }));
      c.handle("CancelReservation", async () => ({ status: "Accepted" }));
      c.handle("GetVariables", async ({ params }) => ({
        getVariableResult: (params?.getVariableData ?? []).map(
          (d: { component: unknown; variable: { name: string } }) => ({
            attributeStatus: d.variable.name in config ? "Accepted" : "UnknownVariable",
            ...(d.variable.name in config ? { attributeValue: config[d.variable.name] } : {}),
            component: d.component,
            variable: d.variable,
          }),
        ),
      }));
      c.handle("SetVariables", async ({ params }) => ({
        setVariableResult: (params?.setVariableData ?? []).map(
          (d: { component: unknown; variable: { name: string }; attributeValue: string }) => {
            config[d.variable.name] = d.attributeValue;
            return { attributeStatus: "Accepted", component: d.component, variable: d.variable };
          },
        ),
      }));
    }
  }
}
