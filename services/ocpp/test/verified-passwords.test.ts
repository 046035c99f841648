import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../src/domain/password.ts";
import { basic, type Ocpp, PASSWORD, seedCharger, startOcpp, upgradeStatus } from "./helpers.ts";

/**
 * A password once verified is remembered (a boot storm does not pay scrypt again), but only for the
 * stored hash it matched and the very password sent: a new password, or another one, is checked afresh.
 */
let ocpp: Ocpp;
const ID = "dev-verified-1";
const NEW_PASSWORD = "a-brand-new-password-42";

beforeAll(async () => {
  ocpp = await startOcpp();
  await seedCharger(ocpp.db, { chargePointId: ID });
});
afterAll(async () => {
  await ocpp?.close();
});

describe("remembered password checks", () => {
  it("a reconnect with the verified password is let in; a wrong or replaced password is refused", async () => {
    const url = `${ocpp.endpoint}/${ID}`;
    const withPassword = (password: string) => upgradeStatus(url, { authorization: basic(ID, password) });
    expect(await withPassword(PASSWORD)).toBe(101);
    expect(await withPassword(PASSWORD)).toBe(101);
    expect(await withPassword("not-the-password-at-all")).toBe(401);
    // the password is changed: the remembered check is of no use to the old one
    await ocpp.db.chargerCredential.update({
      where: { chargePointId: ID },
      data: { passwordHash: await hashPassword(NEW_PASSWORD) },
    });
    expect(await withPassword(PASSWORD)).toBe(401);
    expect(await withPassword(NEW_PASSWORD)).toBe(101);
    expect(await withPassword(NEW_PASSWORD)).toBe(101);
    expect(await withPassword(PASSWORD)).toBe(401);
  });
});
