import { describe, expect, it } from "vitest";
import { detectDelimiter, parseCsv } from "../src/imports/csv.ts";
import { parseSdg } from "../src/imports/rows.ts";

describe("the CSV parser", () => {
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
  it.each(cases)("$name", ({ input, header, records }) => {
    const csv = parseCsv(input);
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
  ])("refuses %j", (input, message) => {
    expect(() => parseCsv(input)).toThrow(message);
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
