import { describe, expect, it } from "vitest";
import { csvRows, detectDelimiter, readHeader } from "../src/imports/csv.ts";
import { parseSdg } from "../src/imports/rows.ts";

/** The header and every record of `input`, as the upload and the worker read them. */
async function parseCsv(input: string) {
  const { header, delimiter } = await readHeader(input);
  const records = [];
  for await (const record of csvRows(input, delimiter)) records.push(record);
  return { header, records };
}

describe("the CSV parser (csv-parse, streamed)", () => {
  const cases: {
    name: string;
    input: string;
    header: string[];
    records: { line: number; fields: string[] }[];
  }[] = [
    {
      name: "LF",
      input: "a,b\n1,2\n3,4\n",
      header: ["a", "b"],
      records: [
        { line: 2, fields: ["1", "2"] },
        { line: 3, fields: ["3", "4"] },
      ],
    },
    {
      name: "CRLF, no final newline",
      input: "a,b\r\n1,2\r\n3,4",
      header: ["a", "b"],
      records: [
        { line: 2, fields: ["1", "2"] },
        { line: 3, fields: ["3", "4"] },
      ],
    },
    { name: "pipe", input: "a|b\n1|x,y\n", header: ["a", "b"], records: [{ line: 2, fields: ["1", "x,y"] }] },
    {
      name: "quoted delimiter and escaped quote",
      input: 'a,b\n"Main St, 4 ""B""",2\n',
      header: ["a", "b"],
      records: [{ line: 2, fields: ['Main St, 4 "B"', "2"] }],
    },
    {
      name: "newline inside quotes keeps line numbers",
      input: 'a,b\n"x\r\ny",1\n2,3\n',
      header: ["a", "b"],
      records: [
        { line: 2, fields: ["x\r\ny", "1"] },
        { line: 4, fields: ["2", "3"] },
      ],
    },
    {
      name: "empty fields and empty quoted field",
      input: 'a,b,c\n,"",\n',
      header: ["a", "b", "c"],
      records: [{ line: 2, fields: ["", "", ""] }],
    },
    {
      name: "blank lines skipped",
      input: "a\n\n1\n\n",
      header: ["a"],
      records: [{ line: 3, fields: ["1"] }],
    },
    {
      name: "BOM and quoted header",
      input: '\uFEFF"a"|"b"\n1|2\n',
      header: ["a", "b"],
      records: [{ line: 2, fields: ["1", "2"] }],
    },
  ];
  it.each(cases)("$name", async ({ input, header, records }) => {
    const csv = await parseCsv(input);
    expect(csv.header).toEqual(header);
    expect(csv.records).toEqual(records);
  });

  it.each([
    ["a,b|c", ","],
    ["a|b|c,d", "|"],
    ['"a,b,c"|d|e', "|"],
  ])("detects the delimiter of %s", (line, delimiter) => {
    expect(detectDelimiter(line)).toBe(delimiter);
  });

  it.each([
    ['a\n"open', /not closed/],
    ['a\nx"y', /quote inside an unquoted field/],
    ['a\n"x"y', /after a closing quote/],
    ["", /empty/],
  ])("refuses %j", async (input, message) => {
    await expect(parseCsv(input)).rejects.toThrow(message);
  });

  it("names the line of a syntax error far into a file, and reads records before it", async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `${i},"x\ny"`);
    const input = `a,b\n${rows.join("\n")}\n7,"open\n8,9\n`;
    const seen: number[] = [];
    const error = await (async () => {
      try {
        for await (const record of csvRows(input, ",")) seen.push(record.line);
      } catch (e) {
        return e as Error;
      }
    })();
    // each row spans two lines: row i starts on line 2 + 2i; the unclosed quote opens on line 10,002
    expect(seen.slice(0, 3)).toEqual([2, 4, 6]);
    expect(seen.length).toBeGreaterThan(4000);
    expect(seen.at(-1)).toBe(2 + 2 * (seen.length - 1));
    expect(error?.message).toMatch(/^line 1000\d: a quoted field is not closed/);
  });

  it("reads the header without parsing the rest of a large file", async () => {
    // the file ends in an unclosed quote: parsing it all would throw
    const input = `a|b\n${"1|2\n".repeat(50_000)}"broken`;
    expect(await readHeader(input)).toEqual({ delimiter: "|", header: ["a", "b"] });
    await expect(parseCsv(input)).rejects.toThrow(/not closed/);
  });

  it.each([
    ["1;7;13", 1 + 64 + 4096],
    ["7", 64],
    ["mask:7", 7],
    ["0x41", 65],
    ["4161", 4161],
  ])("reads SDGBenefits %s", (value, mask) => {
    expect(parseSdg(value)).toBe(mask);
  });
});
