/**
 * The simulated chargers of bench/chargers.ts, in their own process (forked by it, driven over IPC), so
 * that neither the service's RSS nor its CPU includes theirs. Each charger is a bare `ws` websocket
 * speaking OCPP-J 1.6 frames: no RPC library, no per-charger timers (one scheduler tick walks a time
 * wheel), one shared table of pending calls. At 10,000 chargers the whole fleet costs ~150 MiB and a few
 * percent of one core.
 *
 * Messages from the parent: { op: "boot", url, ids, from?, to?, password, concurrency } → { ms, failed,
 * errors } (chargers from..to of ids);
 * { op: "load", seconds, meterS, heartbeatS } → { latency: { action: ms[] } }; { op: "drop" } → {}.
 */
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import WebSocket from "ws";

type Request =
  | {
      op: "boot";
      url: string;
      ids: string[];
      from?: number;
      to?: number;
      password: string;
      concurrency: number;
    }
  | { op: "load"; seconds: number; meterS: number; heartbeatS: number }
  | { op: "drop" };

const reply = (msg: unknown) => process.send!(msg);

/** Calls in flight, by charger index and message id: their start time and what to do with the answer. */
type Pending = { at: number; done: (frame: unknown[], ms: number) => void; fail: (err: Error) => void };
const pending: Array<Map<string, Pending>> = [];
const inFlight = () => pending.reduce((n, p) => n + p.size, 0);
/** a call not answered within this long fails (the socket is cut) */
const CALL_TIMEOUT_MS = 60_000;
const sockets: Array<WebSocket | null> = [];
let seq = 0;

function connect(index: number, url: string, id: string, password: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/${id}`, ["ocpp1.6"], {
      headers: { authorization: `Basic ${Buffer.from(`${id}:${password}`).toString("base64")}` },
      perMessageDeflate: false,
    });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => {
      ws.terminate();
      reject(new Error(`upgrade answered ${res.statusCode}`));
    });
    ws.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as unknown[];
      if (frame[0] === 2) {
        // a call from the central system: answered empty (not part of the bench's load)
        ws.send(JSON.stringify([3, frame[1], {}]));
        return;
      }
      const waiting = pending[index]?.get(frame[1] as string);
      if (waiting) {
        pending[index]!.delete(frame[1] as string);
        waiting.done(frame, performance.now() - waiting.at);
      }
    });
    ws.on("error", () => {});
    ws.on("close", () => {
      const calls = pending[index];
      if (!calls || sockets[index] !== ws) return;
      pending[index] = new Map();
      for (const p of calls.values()) p.fail(new Error("socket closed before the answer"));
    });
  });
}

function call(index: number, action: string, params: unknown): Promise<[unknown[], number]> {
  const ws = sockets[index];
  const id = `${++seq}`;
  return new Promise((resolve, reject) => {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      reject(new Error("not connected"));
      return;
    }
    if (!pending[index]) pending[index] = new Map();
    const calls = pending[index];
    const timer = setTimeout(() => {
      if (calls.delete(id)) reject(new Error(`${action} not answered within ${CALL_TIMEOUT_MS} ms`));
    }, CALL_TIMEOUT_MS);
    calls.set(id, {
      at: performance.now(),
      done: (frame, ms) => {
        clearTimeout(timer);
        resolve([frame, ms]);
      },
      fail: (err) => {
        clearTimeout(timer);
        reject(err);
      },
    });
    ws.send(JSON.stringify([2, id, action, params]));
  });
}

async function boot(req: Extract<Request, { op: "boot" }>) {
  const started = performance.now();
  let failed = 0;
  const errors = new Map<string, number>();
  let next = req.from ?? 0;
  const end = req.to ?? req.ids.length;
  const one = async (index: number) => {
    for (let attempt = 0; ; attempt++) {
      try {
        const ws = await connect(index, req.url, req.ids[index]!, req.password);
        sockets[index] = ws;
        const [answer] = await call(index, "BootNotification", {
          chargePointVendor: "Bench",
          chargePointModel: "B1",
        });
        if ((answer[2] as { status?: string })?.status !== "Accepted") {
          failed++;
          const what = `answered ${JSON.stringify(answer).slice(0, 120)}`;
          errors.set(what, (errors.get(what) ?? 0) + 1);
        }
        return;
      } catch (err) {
        const what = (err as Error).message;
        errors.set(what, (errors.get(what) ?? 0) + 1);
        if (attempt >= 5) {
          failed++;
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(req.concurrency, end - next) }, async () => {
      while (next < end) await one(next++);
    }),
  );
  reply({ ms: performance.now() - started, failed, errors: Object.fromEntries(errors) });
}

async function load(req: Extract<Request, { op: "load" }>) {
  const latency: Record<string, number[]> = { Heartbeat: [], MeterValues: [] };
  let lost = 0;
  let callErrors = 0;
  let register = 1_000_000;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const elu = performance.eventLoopUtilization();
  const started = performance.now();
  const until = started + req.seconds * 1000;
  // each charger's meter values and heartbeats at a random phase of their period, on a time wheel of 5 ms
  // slots per period: a tick sends what fell due since the last one and looks at no other charger (a walk
  // of all 10,000 chargers twice every 5 ms cost the fleet ~20 % of a core and held back its reads of the
  // answers)
  const n = sockets.length;
  const SLOT_MS = 5;
  const wheel = (periodS: number) => {
    const slots = Math.max(1, Math.round((periodS * 1000) / SLOT_MS));
    const buckets: number[][] = Array.from({ length: slots }, () => []);
    for (let i = 0; i < n; i++) buckets[Math.floor(Math.random() * slots)]!.push(i);
    return buckets;
  };
  const meterWheel = wheel(req.meterS);
  const beatWheel = wheel(req.heartbeatS);
  const record = (action: string) => (r: [unknown[], number]) => {
    if (r[0][0] === 4) callErrors++;
    latency[action]!.push(r[1]);
  };
  const miss = () => {
    lost++;
  };
  const meterValue = (i: number) => {
    register += 10;
    call(i, "MeterValues", {
      connectorId: 1,
      meterValue: [
        {
          timestamp: new Date().toISOString(),
          sampledValue: [
            { value: String(register), measurand: "Energy.Active.Import.Register", unit: "Wh" },
            { value: "7400", measurand: "Power.Active.Import", unit: "W" },
          ],
        },
      ],
    }).then(record("MeterValues"), miss);
  };
  const heartbeat = (i: number) => call(i, "Heartbeat", {}).then(record("Heartbeat"), miss);
  // slots are numbered from the start; slot k of a wheel is due at started + k * SLOT_MS
  let done = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      if (now >= until) {
        clearInterval(tick);
        resolve();
        return;
      }
      const due = Math.floor((now - started) / SLOT_MS);
      for (; done <= due; done++) {
        for (const i of meterWheel[done % meterWheel.length]!) meterValue(i);
        for (const i of beatWheel[done % beatWheel.length]!) heartbeat(i);
      }
    }, SLOT_MS);
  });
  loop.disable();
  const utilization = performance.eventLoopUtilization(elu).utilization;
  // the answers still in flight get up to 30 s
  const deadline = performance.now() + 30_000;
  while (inFlight() > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  // the fleet's own event-loop delay: a late tick or a late read of an answer adds to the latency it measures
  const fleetLoop = {
    p50: loop.percentile(50) / 1e6,
    p99: loop.percentile(99) / 1e6,
    max: loop.max / 1e6,
    utilization,
  };
  reply({ latency, lost, callErrors, unanswered: inFlight(), fleetLoop });
}

process.on("message", (req: Request) => {
  if (req.op === "boot") void boot(req);
  else if (req.op === "load") void load(req);
  else if (req.op === "drop") {
    for (const ws of sockets) ws?.terminate();
    pending.length = 0;
    reply({});
  }
});
