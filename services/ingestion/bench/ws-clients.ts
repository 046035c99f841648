/**
 * A child process of bench/ws-memory.ts holding part of the 10,000 gateway WebSockets (a process may
 * hold fewer open files than the bench needs sockets, and the server's process must be a separate one).
 * Driven over IPC: `connect` opens one socket per gateway of its range, each with its own token, sends
 * one small batch and waits for its answer; `status` says how many are still open; `close` ends.
 */
import { WebSocket } from "ws";
import { gatewayToken } from "./harness.ts";

export interface ClientsOptions {
  url: string;
  privateKeyPem: string;
  /** gateway indices [from, to) */
  from: number;
  to: number;
  /** handshakes in progress at once */
  concurrency: number;
}

export type ToClients = { cmd: "connect"; opts: ClientsOptions } | { cmd: "status" } | { cmd: "close" };
export type FromClients =
  | { kind: "connected"; open: number; answered: number; failed: number; errors: string[]; ms: number }
  | { kind: "status"; open: number; closed: number; pings: number; closeCodes: Record<string, number> };

const sockets: WebSocket[] = [];
let closed = 0;
let pings = 0;
const closeCodes: Record<string, number> = {};
const reply = (message: FromClients) => process.send!(message);

/** Opens a gateway's socket, sends one batch and resolves on its answer. */
function connectOne(opts: ClientsOptions, index: number): Promise<void> {
  const gatewayId = `zap-ws-${index}`;
  const token = gatewayToken(opts.privateKeyPem, gatewayId);
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${opts.url.replace(/^http/, "ws")}/v1/telemetry/ws`, {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
    });
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    socket.once("unexpected-response", (_req, res) => fail(new Error(`upgrade refused: ${res.statusCode}`)));
    socket.once("error", fail);
    socket.on("ping", () => pings++);
    socket.once("close", (code) => {
      closeCodes[code] = (closeCodes[code] ?? 0) + 1;
      if (settled) closed++;
      fail(new Error(`closed with ${code} before the answer`));
    });
    socket.once("open", () => {
      const reading = {
        type: "meter",
        timestamp: Date.now() - 1_000,
        W: 850 + (index % 400),
        total_import_Wh: 1_200_000 + index,
        total_export_Wh: 300_000 + index,
      };
      socket.send(JSON.stringify({ batchId: "b1", items: [{ derId: `der-ws-${index}`, reading }] }));
    });
    socket.once("message", (data) => {
      const answer = JSON.parse(data.toString()) as { accepted?: number; error?: { message: string } };
      if (answer.accepted !== 1) {
        fail(new Error(`answer: ${JSON.stringify(answer).slice(0, 200)}`));
        return;
      }
      settled = true;
      sockets.push(socket);
      resolve();
    });
  });
}

async function connectAll(opts: ClientsOptions) {
  const started = performance.now();
  let next = opts.from;
  let answered = 0;
  let failed = 0;
  const errors = new Map<string, number>();
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (next < opts.to) {
        const index = next++;
        try {
          await connectOne(opts, index);
          answered++;
        } catch (error) {
          failed++;
          const message = (error as Error).message;
          errors.set(message, (errors.get(message) ?? 0) + 1);
        }
      }
    }),
  );
  reply({
    kind: "connected",
    open: sockets.filter((s) => s.readyState === WebSocket.OPEN).length,
    answered,
    failed,
    errors: [...errors].map(([message, n]) => `${n} × ${message}`),
    ms: performance.now() - started,
  });
}

process.on("message", (message: ToClients) => {
  if (message.cmd === "connect") void connectAll(message.opts);
  else if (message.cmd === "status") {
    reply({
      kind: "status",
      open: sockets.filter((s) => s.readyState === WebSocket.OPEN).length,
      closed,
      pings,
      closeCodes,
    });
  } else if (message.cmd === "close") {
    for (const socket of sockets) socket.terminate();
    process.disconnect();
  }
});
