/**
 * A small RFC 4180 CSV parser: quoted fields, "" as an escaped quote, CRLF or LF line ends (also inside
 * quoted fields), and a comma or pipe delimiter detected from the header line. Each record carries the
 * physical line it starts on (the header is line 1), so refusals can name it.
 * (A drop-in for a library such as csv-parse: see the README's Bulk onboarding section.)
 */

export type Delimiter = "," | "|";

export interface CsvRecord {
  /** the 1-based line the record starts on */
  line: number;
  fields: string[];
}

export interface ParsedCsv {
  delimiter: Delimiter;
  header: string[];
  records: CsvRecord[];
}

export class CsvError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** The delimiter of the header line: the one of comma and pipe that occurs more often outside quotes. */
export function detectDelimiter(text: string): Delimiter {
  let commas = 0;
  let pipes = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted) {
      if (c === "\n" || c === "\r") break;
      if (c === ",") commas++;
      else if (c === "|") pipes++;
    }
  }
  return pipes > commas ? "|" : ",";
}

/** All records of `text`; the first is the header. Blank lines are skipped. */
export function parseCsv(input: string, delimiter: Delimiter = detectDelimiter(stripBom(input))): ParsedCsv {
  const text = stripBom(input);
  const rows: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let recordLine = 1;
  let quoted = false;
  /** the current field was quoted (an empty quoted field still counts as a field) */
  let wasQuoted = false;
  let i = 0;
  const n = text.length;

  const endRecord = () => {
    fields.push(field);
    const blank = fields.length === 1 && fields[0] === "" && !wasQuoted;
    if (!blank) rows.push({ line: recordLine, fields });
    fields = [];
    field = "";
    wasQuoted = false;
  };

  while (i < n) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      if (c === "\n") line++;
      else if (c === "\r" && text[i + 1] !== "\n") line++;
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      if (field.trim() !== "")
        throw new CsvError('a quote inside an unquoted field (quote the field, "" for a quote)', line);
      field = "";
      quoted = true;
      wasQuoted = true;
      i++;
      continue;
    }
    if (c === delimiter) {
      fields.push(field);
      field = "";
      wasQuoted = false;
      i++;
      continue;
    }
    if (c === "\r" || c === "\n") {
      endRecord();
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
      line++;
      recordLine = line;
      continue;
    }
    if (wasQuoted) {
      // spaces after a closing quote are tolerated, anything else is not
      if (c === " " || c === "\t") {
        i++;
        continue;
      }
      throw new CsvError("text after a closing quote", line);
    }
    field += c;
    i++;
  }
  if (quoted) throw new CsvError("a quoted field is not closed", recordLine);
  if (field !== "" || fields.length > 0 || wasQuoted) endRecord();

  const [first, ...records] = rows;
  if (!first) throw new CsvError("the file is empty (a header line is required)", 1);
  return { delimiter, header: first.fields.map((name) => name.trim()), records };
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
