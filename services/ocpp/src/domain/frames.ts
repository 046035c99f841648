/** The id of a CALL frame, read from its first bytes only (a frame too big to parse still gets an answer). */
const CALL_ID = /^\s*\[\s*2\s*,\s*"((?:[^"\\]|\\.){1,36})"/;

/**
 * Null for an incoming frame within `maxBytes`; for one over it, the CALLERROR frame to answer with
 * (`answer`; null for a CALLRESULT or CALLERROR, which OCPP-J never answers). The
 * frame is not parsed: the message id is read from its start, and a frame that is not a CALL (or whose id
 * cannot be read there) is answered with id "-1", as OCPP-J does for a message id it cannot read. The
 * code is FormatViolation (renamed FormationViolation for 1.6 on the way out: domain/error-codes.ts).
 */
export function oversizedFrame(frame: Buffer, maxBytes: number): { answer: string | null } | null {
  if (frame.length <= maxBytes) return null;
  const start = frame.subarray(0, 128).toString("utf8");
  const id = CALL_ID.exec(start)?.[1];
  let messageId = "-1";
  if (id !== undefined) {
    try {
      messageId = JSON.parse(`"${id}"`) as string;
    } catch {}
  }
  if (id === undefined && /^\s*\[\s*[34]\s*,/.test(start)) return { answer: null };
  const answer = JSON.stringify([
    4,
    messageId,
    "FormatViolation",
    `the frame is ${frame.length} bytes, over the limit of ${maxBytes}`,
    {},
  ]);
  return { answer };
}
