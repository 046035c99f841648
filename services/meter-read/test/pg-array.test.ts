import { postgresUrl } from "@energy/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgArray, pgPlainArray, pgTimestamps } from "../src/reads/pg-array.ts";

// The array literals the read store sends: PostgreSQL must read back exactly what went in, whatever an
// organization names its devices.

let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
});

describe("pgArray", () => {
  it.each<[string, Array<string | null>]>([
    ["plain ids", ["dev-1", "mrd-0b6c", "api"]],
    ["quotes, backslashes and braces", ['a"b', "c\\d", "{e}", "f,g"]],
    ["spaces and empty strings", [" lead", "trail ", "in side", ""]],
    ["the word NULL and real nulls", ["NULL", "null", null]],
    ["unicode and tabs", ["Växjö ⚡", "a\tb", "line\nbreak"]],
  ])("%s come back as they were", async (_, values) => {
    const { rows } = await client.query<{ a: Array<string | null> }>("SELECT $1::text::text[] AS a", [
      pgArray(values),
    ]);
    expect(rows[0]!.a).toEqual(values);
  });

  it("sends numbers, booleans and nulls as PostgreSQL reads them", async () => {
    const { rows } = await client.query<{ n: string[]; b: boolean[] }>(
      "SELECT $1::text::bigint[]::text[] AS n, $2::text::boolean[] AS b",
      [pgPlainArray([0, -5, 9_007_199_254_740_991, null]), pgPlainArray([true, false, null])],
    );
    expect(rows[0]).toEqual({ n: ["0", "-5", "9007199254740991", null], b: [true, false, null] });
  });

  it("sends the service's own ids and hashes as they are", async () => {
    const values = ["mrd-0b6c5f9e-1d2a-4c3b-9e8f-7a6b5c4d3e2f", "history", "a".repeat(64), null];
    const { rows } = await client.query<{ a: Array<string | null> }>("SELECT $1::text::text[] AS a", [
      pgPlainArray(values),
    ]);
    expect(rows[0]!.a).toEqual(values);
  });

  it("sends instants to the millisecond", async () => {
    const ms = [Date.parse("2026-03-29T00:59:59.999Z"), 0];
    const { rows } = await client.query<{ t: Array<Date | null> }>("SELECT $1::text::timestamptz[] AS t", [
      pgTimestamps([...ms, null]),
    ]);
    expect(rows[0]!.t.map((d) => d?.getTime() ?? null)).toEqual([...ms, null]);
  });

  it("reads back arrays of many pieces (10,000 reads a request) and the empty array, element for element", async () => {
    const strings = Array.from({ length: 2_501 }, (_, i) => (i % 7 === 0 ? `Växjö "${i}", {x}` : `dev-${i}`));
    const numbers = Array.from({ length: 10_000 }, (_, i) => (i % 1000 === 999 ? null : i * 7919));
    const instants = Array.from({ length: 1_001 }, (_, i) => Date.UTC(2026, 0, 1) + i * 3_600_000);
    const { rows } = await client.query<{ s: string[]; n: string[]; t: Date[]; e: string[] }>(
      "SELECT $1::text::text[] AS s, $2::text::bigint[]::text[] AS n, $3::text::timestamptz[] AS t, $4::text::text[] AS e",
      [pgArray(strings), pgPlainArray(numbers), pgTimestamps(instants), pgArray([])],
    );
    expect(rows[0]!.s).toEqual(strings);
    expect(rows[0]!.n).toEqual(numbers.map((n) => (n === null ? null : String(n))));
    expect(rows[0]!.t.map((d) => d.getTime())).toEqual(instants);
    expect(rows[0]!.e).toEqual([]);
  });
});
