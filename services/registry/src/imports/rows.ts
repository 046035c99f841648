import { unsafeTextReason } from "@energy/service-kit";
import type { z } from "zod";
import { DrecFieldsSchema, ExternalIdSchema } from "../domain/device-fields.ts";
import { deviceRuleViolations } from "../domain/device-rules.ts";
import { SDG_COUNT, SDG_MAX_MASK, sdgGoalsToMask } from "../domain/sdg.ts";

/** The D-REC bulk onboarding header, in its order (matched case-insensitively, any order). */
export const IMPORT_COLUMNS = [
  "version",
  "externalId",
  "deviceGrpId",
  "orgId",
  "organisationName",
  "deviceOnBoardedBy",
  "deviceOEM",
  "address",
  "latitude",
  "longitude",
  "countryCode",
  "postalCode",
  "fuelCode",
  "deviceTypeCode",
  "capacity",
  "commissioningDate",
  "gridInterconnection",
  "energyStorage",
  "energyStorageCapacity",
  "offTaker",
  "qualityLabels",
  "SDGBenefits",
  "impactStory",
  "images",
] as const;
export type ImportColumn = (typeof IMPORT_COLUMNS)[number];

export interface HeaderCheck {
  missing: string[];
  unknown: string[];
  /** the index of each column in a record (when nothing is missing) */
  index: Record<ImportColumn, number>;
}

/** Which columns of the D-REC header are missing, which are not part of it, and where each one is. */
export function checkHeader(header: readonly string[]): HeaderCheck {
  const byLower = new Map(IMPORT_COLUMNS.map((name) => [name.toLowerCase(), name]));
  const index = {} as Record<ImportColumn, number>;
  const unknown: string[] = [];
  header.forEach((raw, i) => {
    const name = byLower.get(raw.trim().toLowerCase());
    if (!name || index[name] !== undefined) unknown.push(raw);
    else index[name] = i;
  });
  const missing = IMPORT_COLUMNS.filter((name) => index[name] === undefined);
  return { missing, unknown, index };
}

/** The rules of POST /organizations/:orgId/devices for the fields a CSV row sets (externalId required). */
const RowFields = DrecFieldsSchema.extend({ externalId: ExternalIdSchema });

/** The device columns one CSV row sets (the upsert key is (orgId, externalId)). */
export type RowDevice = z.infer<typeof RowFields>;

export type MappedRow =
  | { ok: true; line: number; device: RowDevice }
  | { ok: false; line: number; externalId: string | null; reason: string };

class FieldError extends Error {}

const blankToNull = (value: string | undefined) => {
  const trimmed = (value ?? "").trim();
  return trimmed === "" ? null : trimmed;
};

function number(field: string, value: string | null): number | null {
  if (value === null) return null;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new FieldError(`${field}: "${value}" is not a number`);
  return n;
}

const TRUE = new Set(["true", "yes", "1", "y"]);
const FALSE = new Set(["false", "no", "0", "n"]);

function boolean(field: string, value: string | null): boolean | null {
  if (value === null) return null;
  const v = value.toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new FieldError(`${field}: "${value}" is not a boolean (true/false, yes/no, 1/0)`);
}

const list = (value: string | null) =>
  value === null
    ? []
    : value
        .split(";")
        .map((item) => item.trim())
        .filter((item) => item !== "");

/**
 * SDGBenefits: a list of goal numbers separated by ';' or ',' ("1;7;13"), or a bitmask: "mask:4161", "0x1041",
 * or a lone number above 17. A lone number 1..17 is a goal (write "mask:7" for the bitmask 7).
 */
export function parseSdg(value: string | null): number {
  if (value === null) return 0;
  const v = value.trim();
  const mask = /^(?:mask:\s*(\d+)|0x([0-9a-f]+))$/i.exec(v);
  if (mask) {
    const n = mask[1] !== undefined ? Number(mask[1]) : Number.parseInt(mask[2] ?? "", 16);
    if (n > SDG_MAX_MASK) throw new FieldError(`SDGBenefits: bitmask ${v} is not in 0..${SDG_MAX_MASK}`);
    return n;
  }
  if (/^\d+$/.test(v) && Number(v) > SDG_COUNT) {
    if (Number(v) > SDG_MAX_MASK)
      throw new FieldError(`SDGBenefits: bitmask ${v} is not in 0..${SDG_MAX_MASK}`);
    return Number(v);
  }
  const goals = v
    .split(/[;,\s]+/)
    .filter((g) => g !== "")
    .map((g) => {
      const n = Number(g);
      if (!Number.isInteger(n) || n < 1 || n > SDG_COUNT) {
        throw new FieldError(`SDGBenefits: "${g}" is not a goal number 1..${SDG_COUNT}`);
      }
      return n;
    });
  return sdgGoalsToMask(goals);
}

/**
 * Marks a NUL of an uploaded file before it is stored (PostgreSQL text holds no NUL): the same character that
 * stands for bytes that are not UTF-8, so a cell with either is refused by `badCell`.
 */
export const storableCsv = (content: string) =>
  content.includes("\u0000") ? content.replaceAll("\u0000", "\ufffd") : content;

/** Why a cell cannot be imported as text, naming its column: NUL, bytes that are not UTF-8, a lone surrogate. */
function badCell(record: { fields: readonly string[] }, index: Record<ImportColumn, number>): string | null {
  for (const column of IMPORT_COLUMNS) {
    const value = record.fields[index[column]];
    if (value === undefined) continue;
    if (value.includes("\ufffd")) {
      return `${column}: contains a NUL character or bytes that are not UTF-8 (the file must be UTF-8 text)`;
    }
    const reason = unsafeTextReason(value);
    if (reason) return `${column}: ${reason}`;
  }
  return null;
}

/** One CSV record as device columns, validated like POST devices; or why it is refused, naming the field. */
export function mapRow(
  record: { line: number; fields: readonly string[] },
  index: Record<ImportColumn, number>,
  ctx: { orgId: string; today: string },
): MappedRow {
  const cell = (name: ImportColumn) => blankToNull(record.fields[index[name]]);
  const externalId = cell("externalId");
  const refuse = (reason: string): MappedRow => ({ ok: false, line: record.line, externalId, reason });
  if (record.fields.length !== IMPORT_COLUMNS.length) {
    return refuse(`row has ${record.fields.length} fields, the header ${IMPORT_COLUMNS.length}`);
  }
  const unsafe = badCell(record, index);
  if (unsafe) return refuse(unsafe);
  if (externalId === null) return refuse("externalId: required (the key a re-upload updates by)");
  const orgId = cell("orgId");
  if (orgId !== null && orgId !== ctx.orgId) {
    return refuse(`orgId: ${orgId} is not the organization of this upload (${ctx.orgId})`);
  }
  let candidate: RowDevice;
  try {
    const qualityLabels = list(cell("qualityLabels"));
    candidate = {
      externalId,
      make: cell("deviceOEM"),
      address: cell("address"),
      latitude: number("latitude", cell("latitude")),
      longitude: number("longitude", cell("longitude")),
      countryCode: cell("countryCode"),
      postalCode: cell("postalCode"),
      fuelCode: cell("fuelCode"),
      deviceTypeCode: cell("deviceTypeCode"),
      capacity: number("capacity", cell("capacity")),
      commissioningDate: cell("commissioningDate"),
      gridInterconnection: boolean("gridInterconnection", cell("gridInterconnection")),
      energyStorage: boolean("energyStorage", cell("energyStorage")) ?? false,
      energyStorageCapacity: number("energyStorageCapacity", cell("energyStorageCapacity")),
      offTaker: cell("offTaker"),
      qualityLabels: qualityLabels.length > 0 ? qualityLabels.join(";") : null,
      sdgBenefits: parseSdg(cell("SDGBenefits")),
      impactStory: cell("impactStory"),
      images: list(cell("images")),
    };
  } catch (error) {
    if (error instanceof FieldError) return refuse(error.message);
    throw error;
  }
  const parsed = RowFields.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? "row");
    return refuse(`${COLUMN_OF[field] ?? field}: ${issue?.message ?? "invalid"}`);
  }
  const [violation] = deviceRuleViolations(
    {
      energyStorage: parsed.data.energyStorage,
      energyStorageCapacity: parsed.data.energyStorageCapacity,
      commissioningDate: parsed.data.commissioningDate,
    },
    ctx.today,
  );
  if (violation) return refuse(violation.message);
  return { ok: true, line: record.line, device: parsed.data };
}

/** Device fields named as their CSV column in refusals. */
const COLUMN_OF: Record<string, string> = { make: "deviceOEM", sdgBenefits: "SDGBenefits" };
