import { describe, expect, it } from "vitest";
import { ApplyGate } from "../src/store/apply-gate.ts";

// The telemetry store's consumers share an ApplyGate: one chunk at a time while the store keeps up, several
// at once when it is behind. What matters to the store: how many transactions run together, in which order
// waiting chunks go, and that a failed chunk frees its place.

const YOUNG = 3; // 3 messages of the partition after the chunk: the store keeps up
const OLD = 5_000; // 5,000 after it: the store is behind

/** A chunk whose apply runs until finished by hand; `order` records when each one started. */
function chunks(gate: ApplyGate) {
  const order: string[] = [];
  let running = 0;
  let most = 0;
  const finish = new Map<string, (fail?: Error) => void>();
  const run = (name: string, behind: number) =>
    gate.run(
      behind,
      () =>
        new Promise<string>((resolve, reject) => {
          order.push(name);
          running++;
          most = Math.max(most, running);
          finish.set(name, (fail) => {
            running--;
            if (fail) reject(fail);
            else resolve(name);
          });
        }),
    );
  return { order, run, finish: (name: string, fail?: Error) => finish.get(name)!(fail), most: () => most };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("the telemetry store's apply gate", () => {
  it("applies chunks one at a time, in arrival order, while the store keeps up", async () => {
    const gate = new ApplyGate({ backlog: 32, concurrent: 3 });
    const c = chunks(gate);
    const done = [c.run("a", YOUNG), c.run("b", YOUNG), c.run("c", YOUNG)];
    await tick();
    expect(c.order).toEqual(["a"]);
    c.finish("a");
    await tick();
    expect(c.order).toEqual(["a", "b"]);
    c.finish("b");
    await tick();
    c.finish("c");
    expect(await Promise.all(done)).toEqual(["a", "b", "c"]);
    expect(c.most()).toBe(1);
    expect(gate.inProgress).toBe(0);
  });

  it("applies up to `concurrent` chunks together once they are behind", async () => {
    const gate = new ApplyGate({ backlog: 32, concurrent: 3 });
    const c = chunks(gate);
    const done = ["a", "b", "c", "d"].map((name) => c.run(name, OLD));
    await tick();
    expect(c.order).toEqual(["a", "b", "c"]);
    c.finish("b");
    await tick();
    expect(c.order).toEqual(["a", "b", "c", "d"]);
    for (const name of ["a", "c", "d"]) c.finish(name);
    await Promise.all(done);
    expect(c.most()).toBe(3);
  });

  it("lets a chunk that is behind go beside one in progress, while a young one waits for it", async () => {
    const gate = new ApplyGate({ backlog: 32, concurrent: 3 });
    const c = chunks(gate);
    const done = [c.run("young 1", YOUNG), c.run("young 2", YOUNG), c.run("old", OLD)];
    await tick();
    expect(c.order).toEqual(["young 1", "old"]);
    c.finish("old");
    await tick();
    expect(c.order).toEqual(["young 1", "old"]);
    c.finish("young 1");
    await tick();
    expect(c.order).toEqual(["young 1", "old", "young 2"]);
    c.finish("young 2");
    await Promise.all(done);
  });

  it("frees the place of a chunk that failed, and passes its error on", async () => {
    const gate = new ApplyGate({ backlog: 32, concurrent: 3 });
    const c = chunks(gate);
    const failed = c.run("a", YOUNG);
    const next = c.run("b", YOUNG);
    await tick();
    c.finish("a", new Error("the database went away"));
    await expect(failed).rejects.toThrow("the database went away");
    await tick();
    expect(c.order).toEqual(["a", "b"]);
    c.finish("b");
    expect(await next).toBe("b");
    expect(gate.inProgress).toBe(0);
  });

  it("takes a chunk with a whole chunk's worth of messages after it as behind, one with fewer as not", async () => {
    const gate = new ApplyGate({ backlog: 32, concurrent: 3 });
    const c = chunks(gate);
    const done = [c.run("a", 32), c.run("b", 32), c.run("c", 32), c.run("d", 31)];
    await tick();
    expect(c.order).toEqual(["a", "b", "c"]);
    for (const name of ["a", "b"]) c.finish(name);
    await tick();
    expect(c.order).toEqual(["a", "b", "c"]);
    c.finish("c");
    await tick();
    expect(c.order).toEqual(["a", "b", "c", "d"]);
    c.finish("d");
    await Promise.all(done);
  });
});
