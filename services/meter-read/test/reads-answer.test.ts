import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type AnswerResult, answerJson, type ReadsAnswer } from "../src/routes/reads-answer.ts";

// POST …/reads' answer is written by answerJson instead of JSON.stringify (for speed): a client must get the
// very same bytes, whatever the devices are called and whatever the warnings say.

const issue = fc.record({
  index: fc.nat(),
  field: fc.string(),
  code: fc.string(),
  message: fc.string({ unit: "binary" }),
});
const text = fc.oneof(
  fc.constantFrom("dev-1", "dev-bench-00001", "mrd-0b6c2f1e", "2026-01-01T01:00:00.000Z", ""),
  fc.string({ unit: "binary" }),
  fc.constantFrom('a"b', "c\\d", "line\nbreak", "\u0000", "\ud800", "Växjö ⚡", "</script>"),
);
const result: fc.Arbitrary<AnswerResult> = fc.record({
  index: fc.nat(),
  deviceId: text,
  status: fc.constantFrom("stored", "stored_with_warnings", "refused"),
  duplicate: fc.boolean(),
  readId: fc.option(text, { nil: null }),
  endtimestamp: text,
  value: fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.constant(-0),
    fc.constant(1e21),
  ),
  energyWh: fc.option(fc.integer(), { nil: null }),
  warnings: fc.array(issue, { maxLength: 3 }),
  reasons: fc.array(issue, { maxLength: 3 }),
});

describe("answerJson", () => {
  it("writes exactly what JSON.stringify writes, for any answer", () => {
    fc.assert(
      fc.property(
        fc.record({ stored: fc.nat(), duplicates: fc.nat(), refused: fc.nat(), results: fc.array(result) }),
        (answer: ReadsAnswer) => {
          expect(answerJson(answer).toString("utf8")).toBe(JSON.stringify(answer));
        },
      ),
      { numRuns: 500, seed: 20261202 },
    );
  });

  it("writes answers of many pieces (256 results each) exactly as JSON.stringify, bytes and all", () => {
    fc.assert(
      fc.property(
        fc.record({
          stored: fc.nat(),
          duplicates: fc.nat(),
          refused: fc.nat(),
          results: fc.array(result, { minLength: 255, maxLength: 1_100 }),
        }),
        (answer: ReadsAnswer) => {
          expect(answerJson(answer).equals(Buffer.from(JSON.stringify(answer), "utf8"))).toBe(true);
        },
      ),
      { numRuns: 20, seed: 20261203 },
    );
  });

  it("writes a run of one device's results with its id quoted once, as JSON.stringify does", () => {
    const results = Array.from(
      { length: 3 },
      (_, i): AnswerResult => ({
        index: i,
        deviceId: i < 2 ? 'dev "quoted"' : "dev-2",
        status: "stored",
        duplicate: false,
        readId: `mrd-${i}`,
        endtimestamp: "2026-01-01T01:00:00.000Z",
        value: 1.5,
        energyWh: 2,
        warnings: [],
        reasons: [],
      }),
    );
    const answer = { stored: 3, duplicates: 0, refused: 0, results };
    expect(answerJson(answer).toString("utf8")).toBe(JSON.stringify(answer));
    expect(JSON.parse(answerJson(answer).toString("utf8")).results[1].deviceId).toBe('dev "quoted"');
  });
});
