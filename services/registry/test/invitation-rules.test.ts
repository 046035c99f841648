import { describe, expect, it } from "vitest";
import { invitationStatus } from "../src/domain/invitations.ts";
import {
  DECOY_HASH,
  hashOneTimePassword,
  newOneTimePassword,
  verifyOneTimePassword,
} from "../src/domain/otp.ts";

describe("one-time passwords", () => {
  it("are 12 characters of Crockford's base32 (digits 0-9, no I, L, O, U), different each time", () => {
    const a = newOneTimePassword();
    expect(a).toMatch(/^[0-9A-HJKMNP-TV-Z]{12}$/);
    const many = Array.from({ length: 200 }, () => newOneTimePassword()).join("");
    expect(many).toMatch(/[018]/);
    expect(many).not.toMatch(/[ILOU]/);
    expect(newOneTimePassword()).not.toBe(a);
  });

  it("are stored as a salted scrypt hash that verifies the password (any case) and nothing else", async () => {
    const otp = newOneTimePassword();
    const [first, second] = [await hashOneTimePassword(otp), await hashOneTimePassword(otp)];
    expect(first).not.toContain(otp);
    expect(first).not.toBe(second);
    expect(first).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyOneTimePassword(otp, first)).toBe(true);
    expect(await verifyOneTimePassword(otp.toLowerCase(), second)).toBe(true);
    // typed back as read: O for 0, I or L for 1
    const zeroOne = await hashOneTimePassword("K0Q1W3M9XT2B");
    expect(await verifyOneTimePassword("kOqIw3m9-xt2b", zeroOne)).toBe(true);
    expect(await verifyOneTimePassword("K0QLW3M9XT2B", zeroOne)).toBe(true);
    expect(await verifyOneTimePassword(newOneTimePassword(), first)).toBe(false);
    expect(await verifyOneTimePassword(otp, DECOY_HASH)).toBe(false);
    expect(await verifyOneTimePassword(otp, "garbage")).toBe(false);
  });
});

describe("invitation status", () => {
  const now = new Date("2026-11-23T12:00:00Z");
  const later = new Date("2026-11-24T12:00:00Z");
  const earlier = new Date("2026-11-22T12:00:00Z");
  it.each([
    ["pending", later, "pending"],
    ["pending", earlier, "expired"],
    ["pending", now, "expired"],
    ["accepted", earlier, "accepted"],
    ["accepted", later, "accepted"],
  ] as const)("%s expiring at %s reads as %s", (status, expiresAt, expected) => {
    expect(invitationStatus({ status, expiresAt }, now)).toBe(expected);
  });
});
