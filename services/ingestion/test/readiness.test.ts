import { connect, createServer, type Server, type Socket } from "node:net";
import { kafkaBrokers, waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ingestion, startIngestion } from "./helpers.ts";

// /readyz asks the real broker (the runtime's admin client), not a stand-in: ingestion is started with
// Kafka reached only through a proxy the test can close, so Kafka becomes unreachable while the
// service runs.

/**
 * A TCP proxy to the broker that rewrites the broker's address in Metadata answers (Kafka API 3,
 * versions 0–6, the ones kafkajs speaks) to its own port, so that clients keep talking through it after
 * the bootstrap. `close()` refuses and drops every connection; `open()` listens again on the same port.
 */
function kafkaProxy(target: { host: string; port: number }) {
  let port = 0;
  let server: Server | undefined;
  const sockets = new Set<Socket>();

  const rewriteMetadata = (frame: Buffer, version: number) => {
    let at = 8; // size, correlation id
    if (version >= 3) at += 4; // throttle_time_ms
    const brokers = frame.readInt32BE(at);
    at += 4;
    for (let i = 0; i < brokers; i++) {
      at += 4; // node id
      at += 2 + frame.readInt16BE(at); // host
      if (frame.readInt32BE(at) === target.port) frame.writeInt32BE(port, at);
      at += 4;
      if (version >= 1) at += 2 + Math.max(0, frame.readInt16BE(at)); // rack (nullable)
    }
  };

  /** Calls `onFrame` with each whole size-prefixed frame of a stream. */
  const frames = (onFrame: (frame: Buffer) => void) => {
    let pending = Buffer.alloc(0);
    return (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const size = 4 + pending.readInt32BE(0);
        onFrame(Buffer.from(pending.subarray(0, size)));
        pending = pending.subarray(size);
      }
    };
  };

  const serve = (client: Socket) => {
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
    }
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    const requests = new Map<number, { apiKey: number; apiVersion: number }>();
    client.on(
      "data",
      frames((frame) => {
        requests.set(frame.readInt32BE(8), {
          apiKey: frame.readInt16BE(4),
          apiVersion: frame.readInt16BE(6),
        });
        upstream.write(frame);
      }),
    );
    upstream.on(
      "data",
      frames((frame) => {
        const correlationId = frame.readInt32BE(4);
        const request = requests.get(correlationId);
        requests.delete(correlationId);
        if (request?.apiKey === 3) rewriteMetadata(frame, request.apiVersion);
        client.write(frame);
      }),
    );
  };

  return {
    get port() {
      return port;
    },
    open: () =>
      new Promise<void>((resolve, reject) => {
        server = createServer(serve);
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => {
          port = (server!.address() as { port: number }).port;
          resolve();
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        if (!server) return resolve();
        server.close(() => resolve());
        server = undefined;
      }),
  };
}

const [brokerHost, brokerPort] = kafkaBrokers().split(",")[0]!.split(":");
const proxy = kafkaProxy({ host: brokerHost!, port: Number(brokerPort) });
let ing: Ingestion;

beforeAll(async () => {
  await proxy.open();
  ing = await startIngestion({ KAFKA_BROKERS: `127.0.0.1:${proxy.port}` });
});
afterAll(async () => {
  await proxy.open().catch(() => {}); // let the service's clients say goodbye
  await ing?.close();
  await proxy.close();
});

const readyz = async () => {
  const res = await ing.app.inject({ method: "GET", url: "/readyz" });
  return { status: res.statusCode, body: res.json() as { status: string; checks: Record<string, string> } };
};

describe("/readyz against the real broker", () => {
  it("is ready while Kafka answers, not ready while it is unreachable, and ready again once it is back", async () => {
    expect(await readyz()).toEqual({
      status: 200,
      body: { status: "ready", checks: { database: "ok", kafka: "ok", outbox: "ok" } },
    });
    // the service's clients really go through the proxy: closing it is Kafka gone for them
    await proxy.close();
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body.status).toBe("not_ready");
    expect(down.body.checks.database).toBe("ok");
    expect(["failed", "timed_out"]).toContain(down.body.checks.kafka);

    await proxy.open();
    await waitFor("ready again", async () => (await readyz()).status === 200, { timeoutMs: 30_000 });
    expect((await readyz()).body.checks.kafka).toBe("ok");
  });
});
