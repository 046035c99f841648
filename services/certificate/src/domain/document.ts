import type { IssuanceRequest } from "@energy/contracts";
import { concat, keccak256, toUtf8Bytes } from "ethers";
import { apportion, hoursOf } from "./apportion.ts";
import { canonicalJson, documentHash } from "./canonical-json.ts";

type Contribution = IssuanceRequest["contributions"][number];

/** Energy of one device in one UTC hour (EnergyTag's granularity: at most an hour, whole Wh). */
export interface HourlyEnergy {
  deviceId: string;
  hourStart: string;
  energyWh: number;
}

const MWH = 1_000_000;
const distinct = <T>(values: Array<T | null>): T[] =>
  [...new Set(values.filter((v): v is T => v !== null))].sort();
const joined = (values: Array<string | null>) =>
  distinct(values).length ? distinct(values).join(",") : null;

/**
 * A contribution's energy per UTC hour: each read's energy is spread over the hours it spans in
 * proportion to time, then the device's hours are scaled to the energy it contributes (less than its
 * reads when the request was capped at the target volume), all in whole Wh that add up exactly.
 */
export function hourlyEnergy(contribution: Contribution): HourlyEnergy[] {
  const byHour = new Map<number, bigint>();
  for (const read of contribution.reads) {
    const hours = hoursOf(Date.parse(read.start), Date.parse(read.end));
    const split = apportion(
      BigInt(read.energyWh),
      hours.map((h) => BigInt(h.ms)),
    );
    hours.forEach((h, i) => {
      byHour.set(h.hourStartMs, (byHour.get(h.hourStartMs) ?? 0n) + split[i]!);
    });
  }
  const hours = [...byHour.keys()].sort((a, b) => a - b);
  const scaled = apportion(
    BigInt(contribution.energyWh),
    hours.map((h) => byHour.get(h)!),
  );
  return hours
    .map((h, i) => ({
      deviceId: contribution.deviceId,
      hourStart: new Date(h).toISOString(),
      energyWh: Number(scaled[i]),
    }))
    .filter((h) => h.energyWh > 0);
}

/**
 * Root of a Merkle tree over the reads a certificate was made from: leaf = keccak256 of the canonical
 * JSON of { deviceId, readId, version, contentHash }; leaves sorted, each pair hashed in sorted order
 * (as OpenZeppelin's MerkleProof), an odd node carried up. A read's inclusion can be proven with its path.
 */
export function readsRootHash(contributions: readonly Contribution[]): string {
  let level = contributions
    .flatMap((c) =>
      c.reads.map((r) =>
        keccak256(
          toUtf8Bytes(
            canonicalJson({
              deviceId: c.deviceId,
              readId: r.readId,
              version: r.version,
              contentHash: r.contentHash,
            }),
          ),
        ),
      ),
    )
    .sort();
  if (level.length === 0) return keccak256("0x");
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const a = level[i]!;
      const b = level[i + 1];
      next.push(b === undefined ? a : keccak256(concat(a < b ? [a, b] : [b, a])));
    }
    level = next;
  }
  return level[0]!;
}

/**
 * The certificate document: the D-REC structure the seed asks for (Version v1.0, I-REC, REC, the
 * device group snapshot, the reservation and its counters) plus what D-REC lacks: the energy per device
 * and per hour, each device's capacity, location, commissioning date and technology, and the root hash
 * of the reads it came from. Deterministic: the same request and certificate id give the same document.
 */
export function buildDocument(request: IssuanceRequest, certificateId: string) {
  const contributions = [...request.contributions].sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
  const commissioning = distinct(contributions.map((c) => c.commissioningDate));
  const grid = contributions.map((c) => c.gridInterconnection);
  const offTakers = distinct(contributions.map((c) => c.offTaker));
  const r = request.reservation;
  return {
    Version: "v1.0",
    transactionCertificateId: certificateId,
    requestId: request.requestId,
    buyerReservationId: request.reservationId,
    beneficiary: request.buyerOrganization.name,
    isStandardIssuanceRequested: "I-REC",
    isStandardIssued: false,
    type: "REC",
    deviceIds: contributions.map((c) => c.deviceId),
    deviceGroup: {
      name: r.name,
      countryCode: joined(contributions.map((c) => c.countryCode)),
      fuelCode: joined(contributions.map((c) => c.fuelCode)),
      deviceTypeCodes: distinct(contributions.map((c) => c.deviceTypeCode)),
      offTakers: offTakers.length ? offTakers : null,
      commissioningDateRange: commissioning.length ? [commissioning[0]!, commissioning.at(-1)!] : [],
      gridInterconnection: grid.includes(false) ? false : grid.includes(null) ? null : true,
      /** Watts: the sum of the devices' capacities. */
      aggregatedCapacity: contributions.reduce((sum, c) => sum + (c.capacityW ?? 0), 0),
      labels: [],
      buyerId: request.buyerOrgId,
      buyerAddress: request.buyerAddress,
      frequency: request.frequency,
      targetVolumeInMegaWattHour: r.targetVolumeWh === null ? null : r.targetVolumeWh / MWH,
      targetVolumeCertificateGenerationSucceededInMegaWattHour: r.succeededWh / MWH,
      targetVolumeCertificateGenerationRequestedInMegaWattHour: r.requestedWh / MWH,
      targetVolumeCertificateGenerationFailedInMegaWattHour: r.failedWh / MWH,
      authorityToExceed: r.authorityToExceed,
      reservationStartDate: r.start,
      reservationEndDate: r.end,
      organization: {
        name: request.buyerOrganization.name,
        blockchainAccountAddress: request.buyerOrganization.blockchainAccountAddress,
      },
    },
    energy: {
      amountWh: request.energyWh,
      start: request.window.start,
      end: request.window.end,
      carriedOverWh: request.carriedOverWh,
      late: request.late,
      capped: request.capped,
    },
    devices: contributions.map((c) => ({
      deviceId: c.deviceId,
      name: c.name,
      energyWh: c.energyWh,
      capacityW: c.capacityW,
      commissioningDate: c.commissioningDate,
      technology: c.type,
      fuelCode: c.fuelCode,
      deviceTypeCode: c.deviceTypeCode,
      location: {
        countryCode: c.countryCode,
        address: c.address,
        latitude: c.latitude,
        longitude: c.longitude,
      },
    })),
    hourly: contributions.flatMap(hourlyEnergy),
    readsRootHash: readsRootHash(contributions),
    readCount: contributions.reduce((n, c) => n + c.reads.length, 0),
  };
}
export type CertificateDocument = ReturnType<typeof buildDocument>;

export { documentHash };

/**
 * EnergyTag-style granular bundles of a certificate: one per device and hour, its issuance id the device
 * and hour start, and a range of Wh ids that runs on per device: `bundleStarts` (assigned when the
 * certificate was first minted) gives each device's first id in this certificate, continuing from the
 * device's previous certificate, so each Wh a device ever had certified has exactly one id. Before the
 * mint the ranges are null.
 */
export function granularBundles(document: CertificateDocument, bundleStarts: Record<string, number> | null) {
  const next = new Map<string, number>(Object.entries(bundleStarts ?? {}));
  return document.hourly.map((h) => {
    const first = next.get(h.deviceId);
    if (first !== undefined) next.set(h.deviceId, first + h.energyWh);
    const device = document.devices.find((d) => d.deviceId === h.deviceId);
    return {
      issuanceId: `${h.deviceId}:${h.hourStart}`,
      deviceId: h.deviceId,
      productionStart: h.hourStart,
      productionEnd: new Date(Date.parse(h.hourStart) + 3_600_000).toISOString(),
      energyWh: h.energyWh,
      bundleIdRange: first === undefined ? null : { start: first, end: first + h.energyWh - 1 },
      technology: device?.technology ?? null,
      capacityW: device?.capacityW ?? null,
      commissioningDate: device?.commissioningDate ?? null,
      location: device?.location ?? null,
    };
  });
}
