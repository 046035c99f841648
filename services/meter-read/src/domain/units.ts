/** The units a developer may report energy in, as powers of ten of a watt-hour. */
export const ENERGY_UNITS = { Wh: 0, kWh: 3, MWh: 6 } as const;
export type EnergyUnit = keyof typeof ENERGY_UNITS;

export type WholeWh = { ok: true; wh: number } | { ok: false; message: string };

/**
 * A reported value in whole Wh, computed on its decimal digits (never by a float multiplication, which
 * turns 1.001 kWh into 1000.9999999999999 Wh). A value that is not a whole Wh after conversion
 * (0.0005 kWh) is refused: energy is stored as integers and every Wh must be traceable to what was sent.
 * The sign is kept (a negative value is a rule of its own).
 */
export function toWholeWh(value: number, unit: EnergyUnit): WholeWh {
  if (!Number.isFinite(value)) return { ok: false, message: "value must be a finite number" };
  if (Number.isSafeInteger(value)) {
    // Whole values (most of them): an integer times 1, 1,000 or 1,000,000 is exact while it stays safe.
    const wh = value * 10 ** ENERGY_UNITS[unit];
    if (Number.isSafeInteger(wh)) return { ok: true, wh };
  }
  // The shortest decimal that round-trips to the same double: what the client wrote for any value it
  // wrote with at most 15 significant digits.
  const text = Math.abs(value).toString();
  const [mantissa = "0", exp = "0"] = text.split("e");
  const [intPart = "0", fraction = ""] = mantissa.split(".");
  let digits = (intPart + fraction).replace(/^0+(?=\d)/, "");
  let scale = Number(exp) - fraction.length + ENERGY_UNITS[unit]; // value = digits × 10^scale Wh
  if (scale < 0) {
    const dropped = digits.slice(Math.max(0, digits.length + scale));
    if (/[^0]/.test(dropped)) {
      return { ok: false, message: `${value} ${unit} is not a whole number of Wh` };
    }
    digits = digits.slice(0, Math.max(0, digits.length + scale)) || "0";
    scale = 0;
  }
  const wh = BigInt(digits) * 10n ** BigInt(scale);
  if (wh > BigInt(Number.MAX_SAFE_INTEGER)) {
    return { ok: false, message: `${value} ${unit} is too large` };
  }
  const whole = Number(wh);
  return { ok: true, wh: value < 0 ? -whole : whole };
}
