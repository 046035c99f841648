import { describe, expect, it } from "vitest";
import { runService } from "../src/index.ts";
import { buildTestApp } from "./helpers.ts";

describe("runService", () => {
  it("listens, then closes the HTTP server first and each closer in order, and exits", async () => {
    const { app, logs } = await buildTestApp();
    const order: string[] = [];
    const exits: number[] = [];
    // each closer notes whether the HTTP server still listened when its turn came
    const closer = (name: string) => ({
      name,
      close: async () => void order.push(`${name}${app.server.listening ? " (server still listening)" : ""}`),
    });
    const running = await runService({
      app,
      port: 0,
      host: "127.0.0.1",
      closers: [closer("consumer"), closer("producer"), closer("database")],
      exit: (code) => void exits.push(code),
    });

    const health = await fetch(`${running.url}/healthz`);
    expect(health.status).toBe(200);

    await running.shutdown("test");
    expect(order).toEqual(["consumer", "producer", "database"]);
    expect(exits).toEqual([0]);
    expect(app.server.listening).toBe(false);
    expect(logs()).toContain('"msg":"service started"');
    const closed = logs()
      .split("\n")
      .filter((line) => line.includes('"msg":"closed"'))
      .map((line) => JSON.parse(line).closed);
    expect(closed).toEqual(["http server", "consumer", "producer", "database"]);
  });

  it("exits with 1 when a closer fails, still closing the rest", async () => {
    const { app } = await buildTestApp();
    const closed: string[] = [];
    const exits: number[] = [];
    const running = await runService({
      app,
      port: 0,
      host: "127.0.0.1",
      closers: [
        { name: "consumer", close: () => Promise.reject(new Error("stuck")) },
        { name: "database", close: async () => void closed.push("database") },
      ],
      exit: (code) => void exits.push(code),
    });
    await running.shutdown("test");
    expect(closed).toEqual(["database"]);
    expect(exits).toEqual([1]);
  });
});
