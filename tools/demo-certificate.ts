/**
 * The start command's certificate demo: the value chain with the real services. The demo user (owner of
 * the demo developer organization) also owns a demo buyer organization; a demo device is registered in
 * the registry, meter reads are posted for it to meter-read, and the buyer reserves its production hourly
 * (reservation). When the hour of the reads has closed (and reservation's WINDOW_CLOSE_DELAY_SECONDS has
 * passed) reservation requests the window and certificate mints it on anvil to the buyer's address.
 *
 * Why not at once: meter-read refuses API reads from before a device's onboarding (its registration), and
 * reservation's shortest window is an hour, so a device registered now gives its first certificate once
 * the current hour has closed. Done once (ids kept in .data/demo-certificate.json); each start then prints
 * the certificates minted so far, with their public verification URL.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** anvil's second dev account (public, local chains only): the demo buyer's address. */
export const DEMO_BUYER_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const DEMO_READ_WH = 2_500;
const HOUR = 3_600_000;

interface DemoState {
  buyerOrgId: string;
  deviceId: string;
  reservationId: string;
  /** when the window holding the reads closes (then it is requested, after reservation's delay) */
  windowEnd: string;
}

export interface CertificateDemoOptions {
  dataDir: string;
  urls: { registry: string; meterRead: string; reservation: string; certificate: string };
  /** the demo developer organization (its owner is the demo user) */
  developerOrgId: string;
  /** the demo user's access token */
  token: string;
}

async function http(
  method: string,
  url: string,
  token: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: each caller reads the fields of its own answer
): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed };
}

/** POST that must answer `ok`; retried while the answer is one of `whileStatus` (a projection not there yet). */
async function post(
  url: string,
  token: string,
  body: unknown,
  ok: number,
  whileStatus: number[] = [],
  // biome-ignore lint/suspicious/noExplicitAny: as above
): Promise<any> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await http("POST", url, token, body);
    if (res.status === ok) return res.body;
    if (!whileStatus.includes(res.status) || Date.now() > deadline) {
      throw new Error(`POST ${url} answered ${res.status}: ${JSON.stringify(res.body)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function setUp(opts: CertificateDemoOptions): Promise<DemoState> {
  const { urls, token, developerOrgId } = opts;
  const buyer = await post(
    `${urls.registry}/organizations`,
    token,
    { name: "Demo Buyer", kind: "buyer" },
    201,
  );
  const site = await post(
    `${urls.registry}/organizations/${developerOrgId}/sites`,
    token,
    { name: "Demo rooftop", address: "Lund, SE", timezone: "UTC" },
    201,
  );
  const device = await post(
    `${urls.registry}/organizations/${developerOrgId}/devices`,
    token,
    {
      siteId: site.id,
      type: "inverter",
      name: "Demo rooftop (meter reads by API)",
      capacity: 100, // kW: the demo read stays under its physical limit even over a few minutes
      commissioningDate: "2024-01-01",
      countryCode: "SE",
      fuelCode: "ES100",
    },
    201,
  );
  // One read from the device's onboarding to a few minutes from now (meter-read takes up to 5 min ahead).
  const start = new Date(device.createdAt ?? Date.now());
  const end = new Date(Date.now() + 240_000);
  const reads = await post(
    `${urls.meterRead}/organizations/${developerOrgId}/reads`,
    token,
    {
      type: "history",
      unit: "Wh",
      deviceId: device.id,
      reads: [{ starttimestamp: start.toISOString(), endtimestamp: end.toISOString(), value: DEMO_READ_WH }],
    },
    200,
    [404], // meter-read has not projected the device (or the membership) yet
  );
  if (reads.refused > 0)
    throw new Error(`meter-read refused the demo read: ${JSON.stringify(reads.results)}`);
  const reservation = await post(
    `${urls.reservation}/organizations/${buyer.id}/reservations`,
    token,
    {
      name: "Demo reservation",
      deviceIds: [device.id],
      targetVolumeInMegaWattHour: 1,
      reservationStartDate: new Date(Math.floor(start.getTime() / HOUR) * HOUR).toISOString(),
      reservationEndDate: new Date(Date.now() + 30 * 24 * HOUR).toISOString(),
      frequency: "hourly",
      authorityToExceed: true,
      blockchainAddress: DEMO_BUYER_ADDRESS,
      continueWithReservationIfOneOrMoreDevicesUnavailableForReservation: false,
      continueWithReservationIfTargetCapacityIsLessThanDeviceTotalCapacityBetweenDuration: true,
    },
    201,
    [400, 404], // reservation has not projected the device, the buyer organization or its owner yet
  );
  return {
    buyerOrgId: buyer.id,
    deviceId: device.id,
    reservationId: reservation.id,
    windowEnd: new Date(Math.ceil(end.getTime() / HOUR) * HOUR).toISOString(),
  };
}

/** Sets the demo up once, then tells where its certificate is (or when it will be). Lines to print. */
export async function certificateDemo(opts: CertificateDemoOptions): Promise<string[]> {
  const marker = join(opts.dataDir, "demo-certificate.json");
  let state: DemoState;
  if (existsSync(marker)) state = JSON.parse(readFileSync(marker, "utf8")) as DemoState;
  else {
    state = await setUp(opts);
    writeFileSync(marker, JSON.stringify(state, null, 2));
  }
  const { urls } = opts;
  const list = `${urls.certificate}/organizations/${state.buyerOrgId}/certificates?reservationId=${state.reservationId}`;
  const res = await http("GET", list, opts.token);
  const certificates = (res.body?.certificates ?? []) as Array<{
    tokenId: string | null;
    energyWh: number;
    status: string;
    periodStart: string;
  }>;
  const lines = [
    `demo reads of device ${state.deviceId} → reservation ${state.reservationId} of Demo Buyer ` +
      `(${state.buyerOrgId}) → certificates to ${DEMO_BUYER_ADDRESS} on anvil`,
    `certificates: ${list} (bearer token of the demo user)`,
  ];
  const minted = certificates.filter((c) => c.tokenId);
  if (minted.length === 0) {
    lines.push(
      `none minted yet: the reads' hourly window closes at ${state.windowEnd}; reservation requests it ` +
        "WINDOW_CLOSE_DELAY_SECONDS (300) later and certificate mints it within seconds",
    );
  }
  for (const c of minted) {
    lines.push(
      `token ${c.tokenId}: ${c.energyWh} Wh from ${c.periodStart}, ${c.status}; anyone checks it: ` +
        `${urls.certificate}/verify/${c.tokenId}`,
    );
  }
  return lines;
}
