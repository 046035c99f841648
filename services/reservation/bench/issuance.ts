/**
 * Issuance benchmark: R reservations over D devices (D / R devices each, hourly frequency) with hourly reads
 * for N days, published on Kafka as meter-read does and consumed by the service's own consumer; then the
 * time from the last read stored to every hourly window's issuance request computed and published (acked
 * by the broker), and the cost of one more window for every reservation.
 *
 *   TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres TEST_KAFKA_BROKERS=127.0.0.1:9092 \
 *     node --import tsx bench/issuance.ts [--devices 10000] [--reservations 1000] [--days 30] [--reads kafka|sql]
 *
 * `--reads sql` writes the reads into the service's meter_read table by SQL, as its consumer stores them,
 * instead of publishing them (the consumer takes ~12 minutes for the 7.2 million on this machine at 10,000 reads/s;
 * the goal is measured from the last read stored either way).
 *
 * The size is the default (10,000 devices, 1,000 reservations, 30 days: 7.2 million reads,
 * 720,000 requests). Baseline in the same run: the same reads written by PostgreSQL alone
 * (INSERT … SELECT from generate_series into an unindexed table), i.e. the floor of storing them; and, once the
 * reads are stored, PostgreSQL alone computing every window (one statement: sums, device counts, per-device
 * contributions, into an unlogged table), i.e. the floor of computing the windows, which issuance is printed
 * as a multiple of.
 * The service runs in this process, started by the runtime as in its tests (startTestService: consumers and
 * outbox relay, no issuance job: the passes are run here) on its own database and topic prefix; the reservations are created through the service's command (the one-buyer-per-device
 * claim), before the reads, and issuance starts once the last read is stored.
 */
import { parseArgs } from "node:util";
import { topics } from "@energy/contracts";
import { EventProducer, event, type OutgoingEvent } from "@energy/kafka";
import { startTestService } from "@energy/service-kit/testing";
import { waitFor } from "@energy/testing";
import { createReservation } from "../src/commands.ts";
import { issuanceOptions, runIssuance } from "../src/issuance.ts";
import { reservation } from "../src/service.ts";
import { countedRead, HOUR, hoursAgo } from "../test/helpers.ts";

/** The run was cut short by --max-seconds (what it measured is printed). */
class Stopped extends Error {}

const { values } = parseArgs({
  options: {
    devices: { type: "string", default: "10000" },
    reservations: { type: "string", default: "1000" },
    days: { type: "string", default: "30" },
    /** kafka: the reads go through the service's consumer; sql: written into its meter_read table as the consumer stores them */
    reads: { type: "string", default: "kafka" },
    /** stop requesting after this long (0: never) and report the rate reached instead of the total time */
    "max-seconds": { type: "string", default: "0" },
    /** the service's WINDOWS_PER_TRANSACTION (its default if not given) */
    "windows-per-transaction": { type: "string" },
  },
});
if (values.reads !== "kafka" && values.reads !== "sql") throw new Error("--reads must be kafka or sql");
const DEVICES = Number(values.devices);
const RESERVATIONS = Number(values.reservations);
const HOURS = Number(values.days) * 24;
const PER_RESERVATION = Math.floor(DEVICES / RESERVATIONS);
const READS = DEVICES * HOURS;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const say = (line: string) => console.log(line);

const svc = await startTestService(reservation, {
  env: {
    WINDOW_CLOSE_DELAY_SECONDS: "0",
    ...(values["windows-per-transaction"]
      ? { WINDOWS_PER_TRANSACTION: values["windows-per-transaction"] }
      : {}),
  },
  jobs: false,
});
const { db } = svc;
const meterRead = new EventProducer(svc.ctx.kafka, {
  source: "meter-read",
  topicPrefix: svc.testKafka.topicPrefix,
});
await meterRead.connect();
say(
  `reservation issuance bench: ${fmt(DEVICES)} devices, ${fmt(RESERVATIONS)} reservations × ${PER_RESERVATION} devices, ${HOURS} hourly windows, ${fmt(READS)} reads`,
);

try {
  // ---- baseline: PostgreSQL alone writes the same rows ---------------------------------------------------
  await db.$executeRawUnsafe(
    `CREATE UNLOGGED TABLE baseline_read (read_id text, device_id text, version int, content_hash text, start timestamptz, "end" timestamptz, energy_wh bigint, eligible bool)`,
  );
  let t = Date.now();
  await db.$executeRawUnsafe(
    `INSERT INTO baseline_read SELECT 'mrd-' || d || '-' || h, 'dev-' || d, 1, md5(d::text || h::text) || md5(h::text || d::text),
            $1::timestamptz + h * interval '1 hour', $1::timestamptz + (h + 1) * interval '1 hour', 1000 + (d + h) % 700, true
       FROM generate_series(0, $2 - 1) AS d, generate_series(0, $3 - 1) AS h`,
    hoursAgo(HOURS),
    DEVICES,
    HOURS,
  );
  const baselineMs = Date.now() - t;
  await db.$executeRawUnsafe("DROP TABLE baseline_read");
  say(
    `baseline  PostgreSQL alone inserts the ${fmt(READS)} reads: ${secs(baselineMs)} (${fmt(READS / (baselineMs / 1000))} reads/s)`,
  );

  // ---- registry projection and reservations ----------------------------------------------------------------
  await db.organization.createMany({
    data: [
      { id: "org-buyer", name: "Bench buyer", kind: "buyer" },
      { id: "org-dev", name: "Bench developer", kind: "developer" },
    ],
  });
  const deviceId = (i: number) => `dev-${String(i).padStart(6, "0")}`;
  await db.device.createMany({
    data: Array.from({ length: DEVICES }, (_, i) => ({
      id: deviceId(i),
      orgId: "org-dev",
      siteId: "sit-bench",
      name: deviceId(i),
      type: "inverter",
      state: "active",
      countryCode: "IND",
      fuelCode: "ES100",
      capacityW: 5_000,
    })),
  });
  const start = hoursAgo(HOURS);
  t = Date.now();
  for (let r = 0; r < RESERVATIONS; r++) {
    await createReservation(
      db,
      {
        buyerOrgId: "org-buyer",
        createdBy: "usr-bench",
        name: `bench ${r}`,
        deviceIds: Array.from({ length: PER_RESERVATION }, (_, k) => deviceId(r * PER_RESERVATION + k)),
        targetVolumeWh: null,
        start,
        end: new Date(Date.now() + 7 * 24 * HOUR),
        frequency: "hourly",
        timezone: "UTC",
        authorityToExceed: true,
        buyerAddress: "0x410CB6672F7ebE397F866fC2CE1020cB18Ac6C5F",
        continueIfUnavailable: false,
        continueIfTargetBelow: true,
      },
      new Date(),
    );
  }
  say(`setup     ${fmt(RESERVATIONS)} reservations created: ${secs(Date.now() - t)}`);

  // ---- reads over Kafka into the service's consumer (or written by SQL as it stores them) ---------------------
  t = Date.now();
  if (values.reads === "sql") {
    // the rows the consumer writes for reads.recorded (ids, energies and hash shape as below), in chunks of devices
    for (let d0 = 0; d0 < DEVICES; d0 += 500) {
      await db.$executeRawUnsafe(
        `INSERT INTO meter_read (read_id, device_id, version, content_hash, start, "end", energy_wh, eligible)
         SELECT 'mrd-' || d || '-' || h, 'dev-' || lpad(d::text, 6, '0'), 1, md5(d::text || '/' || h::text) || md5(h::text || '/' || d::text),
                $1::timestamptz + h * interval '1 hour', $1::timestamptz + (h + 1) * interval '1 hour', 1000 + (d + h) % 700, true
           FROM generate_series($2::int, $3::int) AS d, generate_series(0, $4::int - 1) AS h`,
        start,
        d0,
        Math.min(d0 + 500, DEVICES) - 1,
        HOURS,
      );
    }
    await db.$executeRawUnsafe("ANALYZE meter_read");
  }
  const PER_MESSAGE = Math.min(HOURS, 720);
  let sent = 0;
  let expectedWh = 0;
  for (let d = 0; d < DEVICES; d++) {
    for (let h = 0; h < HOURS; h++) {
      if (d < RESERVATIONS * PER_RESERVATION) expectedWh += 1_000 + ((d + h) % 700);
    }
  }
  for (let d = 0; d < DEVICES && values.reads === "kafka"; d++) {
    const id = deviceId(d);
    const batch = [];
    for (let h = 0; h < HOURS; h++) {
      const energy = 1_000 + ((d + h) % 700);
      batch.push(
        countedRead(
          `mrd-${d}-${h}`,
          new Date(start.getTime() + h * HOUR),
          new Date(start.getTime() + (h + 1) * HOUR),
          energy,
        ),
      );
    }
    const events: OutgoingEvent[] = [];
    for (let i = 0; i < batch.length; i += PER_MESSAGE) {
      const reads = batch.slice(i, i + PER_MESSAGE);
      events.push(event(topics.meterReadRead, "reads.recorded", { deviceId: id, orgId: "org-dev", reads }));
    }
    await meterRead.publishAll(events);
    sent += batch.length;
  }
  const publishedMs = Date.now() - t;
  await waitFor(
    "every read stored",
    async () =>
      Number((await db.$queryRawUnsafe<[{ n: bigint }]>("SELECT count(*) AS n FROM meter_read"))[0].n) ===
      READS,
    { timeoutMs: 3_600_000, intervalMs: 500 },
  );
  const storedMs = Date.now() - t;
  say(
    values.reads === "sql"
      ? `reads     ${fmt(READS)} written into meter_read by SQL (--reads sql, not through the consumer) in ${secs(storedMs)}`
      : `reads     ${fmt(sent)} published in ${secs(publishedMs)}; all stored by the consumer after ${secs(storedMs)} (${fmt(READS / (storedMs / 1000))} reads/s, ${(storedMs / baselineMs).toFixed(1)}× the baseline)`,
  );

  // ---- baseline: PostgreSQL alone computes every window ----------------------------------------------------
  // Each reservation's hourly windows with their sums, device counts and per-device contributions, from the
  // same stored reads, in one statement into an unlogged table: what issuance computes, without what it keeps
  // per read (the claims, each read listed in the records) and without the outbox and Kafka. The floor of
  // computing the windows at all.
  t = Date.now();
  const windowsComputed = await db.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe("SET LOCAL work_mem = '256MB'");
      const n = await tx.$executeRawUnsafe(
        `CREATE UNLOGGED TABLE baseline_window AS
         SELECT rd.reservation_id, date_trunc('hour', m."end" - interval '1 microsecond') AS window_start,
                sum(m.energy_wh) AS energy_wh, count(DISTINCT m.device_id) AS devices,
                jsonb_agg(jsonb_build_object('deviceId', m.device_id, 'energyWh', m.energy_wh) ORDER BY m.device_id)
                  AS contributions
           FROM reservation_device rd JOIN meter_read m ON m.device_id = rd.device_id
          WHERE rd.removed_at IS NULL AND m.eligible AND m.reservation_id IS NULL
          GROUP BY 1, 2`,
      );
      await tx.$executeRawUnsafe("DROP TABLE baseline_window");
      return n;
    },
    { timeout: 3_600_000, maxWait: 60_000 },
  );
  const windowsBaselineMs = Date.now() - t;
  say(
    `baseline  PostgreSQL alone computes the ${fmt(windowsComputed)} windows (of ${fmt(RESERVATIONS * HOURS)}; sums, devices, per-device contributions; no per-read claims or read lists, no outbox): ${secs(windowsBaselineMs)}`,
  );

  // ---- from the last read to every window's request published ---------------------------------------------
  const stats = { setBased: 0, oneByOne: 0 };
  // minimum 1,000 Wh, no close delay, WINDOWS_PER_TRANSACTION windows a transaction
  const issuance = { ...issuanceOptions(svc.ctx), stats };
  const records = async () => {
    const [row] = await db.$queryRawUnsafe<[{ n: bigint; bytes: string }]>(
      `SELECT count(*) AS n, coalesce(sum(octet_length(payload::text)), 0)::text AS bytes FROM outbox WHERE topic = $1`,
      topics.reservationIssuanceRequest.name,
    );
    return `${fmt(Number(row.n))} records, ${(Number(row.bytes) / 1e6).toFixed(0)} MB (set-based ${fmt(stats.setBased)} requests, one by one ${fmt(stats.oneByOne)})`;
  };
  const expectedRequests = RESERVATIONS * HOURS;
  t = Date.now();
  let requests = 0;
  const stop = new AbortController();
  const maxMs = Number(values["max-seconds"]) * 1000;
  const timer = maxMs > 0 ? setTimeout(() => stop.abort(), maxMs) : undefined;
  for (
    let pass = await runIssuance(issuance, new Date(), stop.signal);
    pass > 0 && !stop.signal.aborted;
    pass = await runIssuance(issuance, new Date(), stop.signal)
  ) {
    requests += pass;
  }
  clearTimeout(timer);
  const computedMs = Date.now() - t;
  await waitFor(
    "every request published",
    async () => (await db.outboxMessage.count({ where: { sentAt: null } })) === 0,
    { timeoutMs: 3_600_000, intervalMs: 200 },
  );
  const allMs = Date.now() - t;
  if (stop.signal.aborted) {
    const made = await db.issuanceWindow.count();
    const [{ claimed, windowed }] = await db.$queryRawUnsafe<[{ claimed: string; windowed: string }]>(
      `SELECT (SELECT coalesce(sum(claimed_wh), 0)::text FROM meter_read WHERE request_id IS NOT NULL) AS claimed,
              (SELECT coalesce(sum(energy_wh), 0)::text FROM issuance_window) AS windowed`,
    );
    const rate = made / (allMs / 1000);
    say(
      `issuance  stopped by --max-seconds: ${fmt(made)} of ${fmt(expectedRequests)} requests computed and published (broker acks) in ${secs(allMs)}: ` +
        `${fmt(rate)} requests/s, all of them at that rate in ${secs((expectedRequests / rate) * 1000)}; requested ${fmt(Number(windowed))} Wh = claimed reads ${fmt(Number(claimed))} Wh: ${claimed === windowed}`,
    );
    say(`          ${await records()}`);
    process.exitCode = 0;
    throw new Stopped();
  }
  const [{ wh }] = await db.$queryRawUnsafe<[{ wh: string }]>(
    "SELECT coalesce(sum(energy_wh), 0)::text AS wh FROM issuance_window",
  );
  say(
    `issuance  ${fmt(requests)} requests (expected ${fmt(expectedRequests)}) computed in ${secs(computedMs)}, all published (broker acks) ${secs(allMs)} after the last read; ` +
      `${fmt(requests / (allMs / 1000))} requests/s; energy requested ${fmt(Number(wh))} Wh = reads ${fmt(expectedWh)} Wh: ${Number(wh) === expectedWh}`,
  );
  say(
    `          ${(allMs / windowsBaselineMs).toFixed(1)}× the time PostgreSQL alone takes to compute the windows (goal: 30 s after the last read)`,
  );
  say(`          ${await records()}`);

  // ---- one more window for every reservation -------------------------------------------------------------------
  const next = hoursAgo(0);
  const more: OutgoingEvent[] = [];
  for (let d = 0; d < RESERVATIONS * PER_RESERVATION; d++) {
    more.push(
      event(topics.meterReadRead, "reads.recorded", {
        deviceId: deviceId(d),
        orgId: "org-dev",
        reads: [countedRead(`mrd-${d}-next`, next, new Date(next.getTime() + HOUR), 1_234)],
      }),
    );
  }
  for (let i = 0; i < more.length; i += 1_000) await meterRead.publishAll(more.slice(i, i + 1_000));
  await waitFor(
    "the next hour's reads stored",
    async () => (await db.meterRead.count({ where: { start: next } })) === more.length,
    { timeoutMs: 600_000, intervalMs: 200 },
  );
  t = Date.now();
  const nextCount = await runIssuance(issuance, new Date(next.getTime() + HOUR + 1));
  await waitFor("published", async () => (await db.outboxMessage.count({ where: { sentAt: null } })) === 0, {
    timeoutMs: 600_000,
    intervalMs: 50,
  });
  const oneMs = Date.now() - t;
  say(
    `one more  window for ${fmt(RESERVATIONS)} reservations: ${nextCount} requests computed and published in ${secs(oneMs)} (${((oneMs / RESERVATIONS) * 1000).toFixed(0)} µs per reservation)`,
  );
} catch (error) {
  if (!(error instanceof Stopped)) throw error;
} finally {
  await meterRead.disconnect();
  await svc.close();
}
