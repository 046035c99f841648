import { Readable } from "node:stream";
import { CsvError as ParseError, parse } from "csv-parse";

/**
 * The D-REC CSV files, read with csv-parse (RFC 4180: quoted fields, "" as an escaped quote, CRLF, LF or CR
 * line ends, also inside quoted fields), streamed: records are parsed as they are read, never the whole file
 * at once. The delimiter, comma or pipe, is detected from the header line. Each record carries the physical
 * line it starts on (the header is line 1), so refusals can name it.
 */

export type Delimiter = "," | "|";

export interface CsvRecord {
  /** the 1-based line the record starts on */
  line: number;
  fields: string[];
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

/** How much of the text the parser is given at a time (it parses as the records are taken). */
const SLICE = 64 * 1024;

function* slices(text: string): Generator<string> {
  for (let at = 0; at < text.length; at += SLICE) yield text.slice(at, at + SLICE);
}

/** csv-parse's error codes, said the way the upload's answer says them. */
const MESSAGES: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: "a quoted field is not closed",
  INVALID_OPENING_QUOTE: 'a quote inside an unquoted field (quote the field, "" for a quote)',
  CSV_INVALID_CLOSING_QUOTE: "text after a closing quote",
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: "text after a closing quote",
};

/** Line breaks in `text` (CRLF counts once), and how many of them come before its first other character. */
function lineBreaks(text: string): { total: number; leading: number } {
  let total = 0;
  let leading = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 13 /* \r */) {
      total++;
      if (text.charCodeAt(i + 1) === 10) i++;
    } else if (c === 10 /* \n */) total++;
    else if (leading < 0) leading = total;
  }
  return { total, leading: leading < 0 ? total : leading };
}

/**
 * Every record of `text`, header first, streamed. Blank lines are skipped; spaces around a quoted field are
 * tolerated. A syntax error throws a CsvError naming its line when the parser reaches it.
 */
export async function* csvRecords(text: string, delimiter: Delimiter): AsyncGenerator<CsvRecord> {
  const parser = parse({
    delimiter,
    record_delimiter: ["\r\n", "\n", "\r"],
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    raw: true,
  });
  const source = Readable.from(slices(text), { objectMode: false });
  source.pipe(parser);
  // the line the next record's text starts on
  let line = 1;
  try {
    for await (const { record, raw } of parser as AsyncIterable<{ record: string[]; raw: string }>) {
      const breaks = lineBreaks(raw);
      yield { line: line + breaks.leading, fields: record };
      line += breaks.total;
    }
  } catch (error) {
    if (error instanceof ParseError) {
      const lines = (error as ParseError & { lines?: number }).lines ?? line;
      throw new CsvError(MESSAGES[error.code] ?? error.message, lines);
    }
    throw error;
  } finally {
    source.unpipe(parser);
    source.destroy();
    parser.destroy();
  }
}

/** The header of a CSV file and its delimiter, read without parsing the rest of the file. */
export async function readHeader(text: string): Promise<{ delimiter: Delimiter; header: string[] }> {
  const delimiter = detectDelimiter(stripBom(text));
  for await (const record of csvRecords(text, delimiter)) {
    return { delimiter, header: record.fields };
  }
  throw new CsvError("the file is empty (a header line is required)", 1);
}

/** The records after the header (the header is read by readHeader), streamed. */
export async function* csvRows(text: string, delimiter: Delimiter): AsyncGenerator<CsvRecord> {
  let header = true;
  for await (const record of csvRecords(text, delimiter)) {
    if (header) header = false;
    else yield record;
  }
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
