/**
 * The JSON of POST …/reads' answer, as UTF-8 bytes, written here rather than by JSON.stringify: an answer holds
 * a result for each of up to 10,000 reads, and JSON.stringify of the 10,000 result objects took ~33 ms a
 * request (a tenth of the service's CPU per read) where this takes ~4 ms. The output is byte for byte what
 * JSON.stringify gives (test/reads-answer.test.ts holds it to that for any input): same keys in the same order,
 * strings escaped by JSON.stringify unless they are plainly safe.
 *
 * It is made in pieces of ANSWER_PIECE results, each encoded on its own and the bytes joined: the answer of
 * 10,000 reads is ~2.3 MB, and one string of that size is a V8 large object (over 128 KB: mapped and unmapped
 * by the kernel, page faults on every page) made once more when the socket encodes it: 18 ms a request as one
 * string, 4 ms in pieces.
 */

export interface AnswerIssue {
  index: number;
  field: string;
  code: string;
  message: string;
}

export interface AnswerResult {
  index: number;
  deviceId: string;
  status: "stored" | "stored_with_warnings" | "refused";
  duplicate: boolean;
  readId: string | null;
  endtimestamp: string;
  value: number;
  energyWh: number | null;
  warnings: AnswerIssue[];
  reasons: AnswerIssue[];
}

export interface ReadsAnswer {
  stored: number;
  duplicates: number;
  refused: number;
  results: AnswerResult[];
}

/** Strings that JSON.stringify would print as they are, between quotes. */
const PLAIN = /^[A-Za-z0-9_.:+-]*$/;

const string = (value: string) => (PLAIN.test(value) ? `"${value}"` : JSON.stringify(value));
const nullableString = (value: string | null) => (value === null ? "null" : string(value));
// JSON.stringify prints a non-finite number as null; the body schema lets only finite ones in
const number = (value: number | null) => (value === null || !Number.isFinite(value) ? "null" : `${value}`);
const issues = (list: AnswerIssue[]) => (list.length === 0 ? "[]" : JSON.stringify(list));

/** Results per piece: ~60 KB of JSON (a result is ~230 bytes), well under V8's 128 KB large-object size. */
const ANSWER_PIECE = 256;

export function answerJson(answer: ReadsAnswer): Buffer {
  const pieces: Buffer[] = [];
  let out = `{"stored":${number(answer.stored)},"duplicates":${number(answer.duplicates)},"refused":${number(answer.refused)},"results":[`;
  // a device's id is the same on its run of results: checked and quoted once a run
  let device: string | null = null;
  let deviceJson = "";
  const { results } = answer;
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    if (r.deviceId !== device) {
      device = r.deviceId;
      deviceJson = string(device);
    }
    out +=
      `${i === 0 ? "" : ","}{"index":${number(r.index)},"deviceId":${deviceJson},"status":${string(r.status)},` +
      `"duplicate":${r.duplicate},"readId":${nullableString(r.readId)},"endtimestamp":${string(r.endtimestamp)},` +
      `"value":${number(r.value)},"energyWh":${number(r.energyWh)},"warnings":${issues(r.warnings)},` +
      `"reasons":${issues(r.reasons)}}`;
    if ((i + 1) % ANSWER_PIECE === 0) {
      pieces.push(Buffer.from(out, "utf8"));
      out = "";
    }
  }
  pieces.push(Buffer.from(`${out}]}`, "utf8"));
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}
