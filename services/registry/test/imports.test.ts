import { readTopic } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry } from "./helpers.ts";
import { startSmtp } from "./smtp.ts";

const HEADER =
  "version,externalId,deviceGrpId,orgId,organisationName,deviceOnBoardedBy,deviceOEM,address,latitude,longitude," +
  "countryCode,postalCode,fuelCode,deviceTypeCode,capacity,commissioningDate,gridInterconnection,energyStorage," +
  "energyStorageCapacity,offTaker,qualityLabels,SDGBenefits,impactStory,images";

type Row = Partial<Record<string, string>>;
const COLUMNS = HEADER.split(",");
const quote = (v: string, d: string) =>
  /[",\r\n|]/.test(v) && (v.includes(d) || /["\r\n]/.test(v)) ? `"${v.replaceAll('"', '""')}"` : v;
function csv(rows: Row[], delimiter = ","): string {
  const lines = [COLUMNS.join(delimiter)];
  for (const row of rows) lines.push(COLUMNS.map((c) => quote(row[c] ?? "", delimiter)).join(delimiter));
  return `${lines.join("\r\n")}\r\n`;
}
const good = (externalId: string, extra: Row = {}): Row => ({
  version: "v2.0",
  externalId,
  deviceOEM: "SCHNDLR",
  latitude: "34.92",
  longitude: "135.71",
  countryCode: "DE",
  fuelCode: "ES100",
  deviceTypeCode: "TC110",
  capacity: "1200",
  commissioningDate: "2012-07-10",
  gridInterconnection: "yes",
  energyStorage: "false",
  offTaker: "HealthFacility",
  qualityLabels: "Label 1; Label 2",
  SDGBenefits: "1;7;13",
  impactStory: "120 jobs created",
  images: "a.png;b.png",
  ...extra,
});

describe("bulk CSV onboarding", () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let r: Awaited<ReturnType<typeof startRegistry>>;
  let orgId: string;
  let siteId: string;
  let rivalOrgId: string;

  beforeAll(async () => {
    smtp = await startSmtp();
    r = await startRegistry({ SMTP_URL: smtp.url });
    for (const id of ["usr-owner", "usr-viewer", "usr-rival"]) {
      await r.db.identity.create({ data: { id, type: "user", name: id } });
    }
    orgId = (
      await call("usr-owner", "POST", "/organizations", { name: "Thai Solar", kind: "developer" })
    ).json().id;
    rivalOrgId = (
      await call("usr-rival", "POST", "/organizations", { name: "Rival", kind: "developer" })
    ).json().id;
    siteId = (
      await call("usr-owner", "POST", `/organizations/${orgId}/sites`, {
        name: "Farm",
        timezone: "Asia/Bangkok",
      })
    ).json().id;
    await call("usr-owner", "POST", `/organizations/${orgId}/members`, {
      identityId: "usr-viewer",
      role: "viewer",
    });
  });
  afterAll(async () => {
    await r?.close();
    await smtp?.close();
  });

  function call(as: string, method: "GET" | "POST", url: string, payload?: unknown) {
    return r.app.inject({
      method,
      url,
      headers: r.auth(as),
      ...(payload ? { payload: payload as object } : {}),
    });
  }
  function upload(as: string, body: string, query = "", org = orgId) {
    return r.app.inject({
      method: "POST",
      url: `/organizations/${org}/imports?siteId=${siteId}&deviceType=inverter${query}`,
      headers: { ...r.auth(as), "content-type": "text/csv" },
      payload: body,
    });
  }
  async function waitDone(jobId: string) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const job = (await call("usr-viewer", "GET", `/organizations/${orgId}/imports/${jobId}`)).json();
      if (job.status === "done" || job.status === "failed") return job;
      if (Date.now() > deadline) throw new Error(`job ${jobId} not done: ${JSON.stringify(job)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  async function deviceTopic() {
    const deadline = Date.now() + 10_000;
    while ((await r.db.outboxMessage.count({ where: { sentAt: null } })) > 0) {
      if (Date.now() > deadline) throw new Error("outbox not drained");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const topic = "registry.device.v1";
    const count = await r.db.outboxMessage.count({ where: { topic } });
    const messages = await readTopic(r.testKafka.kafka, `${r.testKafka.topicPrefix}${topic}`, {
      count,
      settleMs: 500,
    });
    return messages.map((m) => ({
      key: m.key,
      type: JSON.parse(m.headers.envelope!).type as string,
      payload: JSON.parse(m.value!),
    }));
  }

  const first = csv([
    good("DEV-1", { orgId: "" }),
    good("DEV-2", { countryCode: "de" }),
    good("DEV-3", { address: 'Moo 5, "Green" Village, Bangkok' }),
    good("DEV-4", { energyStorage: "1", energyStorageCapacity: "324", SDGBenefits: "mask:3" }),
    good("DEV-5", { orgId: "org-someoneelse" }),
  ]);

  it("imports good rows, refuses bad ones by line, and mails the report", async () => {
    const res = await upload("usr-owner", first, "&notify=ops%40thai.test&fileName=first.csv");
    expect(res.statusCode).toBe(202);
    // answered before the file is read beyond its header: the worker counts the rows
    expect(res.json()).toMatchObject({ status: "queued", totalRows: null });
    const { jobId } = res.json();
    const job = await waitDone(jobId);
    expect(job).toMatchObject({
      status: "done",
      totalRows: 5,
      doneRows: 5,
      createdRows: 3,
      updatedRows: 0,
      refusedRows: 2,
    });
    expect((await r.db.importJob.findUnique({ where: { id: jobId } }))?.content).toBeNull();

    const refused = (
      await call("usr-viewer", "GET", `/organizations/${orgId}/imports/${jobId}/rows?outcome=refused`)
    ).json();
    expect(refused.items).toMatchObject([
      { line: 3, externalId: "DEV-2", outcome: "refused", reason: expect.stringMatching(/^countryCode: /) },
      { line: 6, externalId: "DEV-5", outcome: "refused", reason: expect.stringMatching(/^orgId: /) },
    ]);
    const page = (
      await call("usr-viewer", "GET", `/organizations/${orgId}/imports/${jobId}/rows?limit=2`)
    ).json();
    expect(page.items.map((i: { line: number }) => i.line)).toEqual([2, 3]);
    expect(page.nextCursor).toBe(3);

    const devices = (await call("usr-viewer", "GET", `/organizations/${orgId}/devices`)).json().items;
    const byExt = Object.fromEntries(devices.map((d: { externalId: string }) => [d.externalId, d]));
    expect(Object.keys(byExt).sort()).toEqual(["DEV-1", "DEV-3", "DEV-4"]);
    expect(byExt["DEV-1"]).toMatchObject({
      siteId,
      type: "inverter",
      make: "SCHNDLR",
      capacity: 1200,
      commissioningDate: "2012-07-10",
      gridInterconnection: true,
      energyStorage: false,
      sdgBenefits: 1 + 64 + 4096,
      sdgGoals: [1, 7, 13],
      images: ["a.png", "b.png"],
      qualityLabels: "Label 1;Label 2",
    });
    expect(byExt["DEV-3"].address).toBe('Moo 5, "Green" Village, Bangkok');
    expect(byExt["DEV-4"]).toMatchObject({ energyStorage: true, energyStorageCapacity: 324, sdgBenefits: 3 });

    const deadline = Date.now() + 10_000;
    while (!smtp.mails.some((m) => m.to.includes("ops@thai.test")) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const mail = smtp.mails.find((m) => m.to.includes("ops@thai.test"));
    expect(mail?.text).toContain(jobId);
    expect(mail?.text).toContain("Refused: 2");
    expect(mail?.text).toMatch(/3: countryCode/);
  });

  it("answers the same file with its job, and creates nothing new", async () => {
    const before = await r.db.device.count();
    const res = await upload("usr-owner", first);
    expect(res.statusCode).toBe(200);
    expect(await r.db.importJob.count({ where: { orgId } })).toBe(1);
    expect(await r.db.device.count()).toBe(before);
  });

  it("updates an overlapping file's changed device once, with a log entry and one device.updated", async () => {
    const res = await upload(
      "usr-owner",
      csv(
        [
          good("DEV-1", { capacity: "1500" }),
          good("DEV-3", { address: 'Moo 5, "Green" Village, Bangkok' }),
          good("DEV-6"),
        ],
        "|",
      ),
    );
    expect(res.statusCode).toBe(202);
    const job = await waitDone(res.json().jobId);
    expect(job).toMatchObject({ status: "done", createdRows: 1, updatedRows: 2, refusedRows: 0 });
    const rows = (await call("usr-owner", "GET", `/organizations/${orgId}/imports/${job.jobId}/rows`)).json()
      .items;
    expect(rows.map((row: { outcome: string }) => row.outcome)).toEqual(["updated", "unchanged", "created"]);
    const dev1 = await r.db.device.findFirstOrThrow({ where: { orgId, externalId: "DEV-1" } });
    expect(dev1.capacity).toBe(1500);
    const log = (await call("usr-viewer", "GET", `/organizations/${orgId}/devices/${dev1.id}/log`)).json()
      .items;
    expect(log).toMatchObject([
      { field: "capacity", oldValue: "1200", newValue: "1500", changedBy: "usr-owner" },
    ]);
    expect(await r.db.device.count({ where: { orgId } })).toBe(4);

    const events = await deviceTopic();
    expect(events.filter((e) => e.type === "device.updated")).toMatchObject([
      { key: dev1.id, payload: { capacityW: 1_500_000 } },
    ]);
    expect(events.filter((e) => e.type === "device.registered")).toHaveLength(4);
  });

  it("refuses viewers (403), other organizations (404), unknown sites (404) and a bad header (400)", async () => {
    expect((await upload("usr-viewer", csv([good("X-1")]))).statusCode).toBe(403);
    expect((await upload("usr-rival", csv([good("X-1")]))).statusCode).toBe(404);
    expect((await call("usr-rival", "GET", `/organizations/${orgId}/imports/imp-nope`)).statusCode).toBe(404);
    const noSite = await r.app.inject({
      method: "POST",
      url: `/organizations/${rivalOrgId}/imports?siteId=${siteId}&deviceType=inverter`,
      headers: { ...r.auth("usr-rival"), "content-type": "text/csv" },
      payload: csv([good("X-1")]),
    });
    expect(noSite.statusCode).toBe(404);
    const bad = await upload("usr-owner", csv([good("X-1")]).replace(",capacity,", ",kapacity,"));
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.json())).toContain("missing columns: capacity");
    expect(JSON.stringify(bad.json())).toContain("unknown columns: kapacity");
  });

  it("refuses a row whose cell holds a NUL or bytes that are not UTF-8, naming the column, and imports the rest", async () => {
    const text = csv([good("NUL-1"), good("NUL-2", { deviceOEM: "De\u0000ye" }), good("NUL-3")]);
    // NUL-3's deviceGrpId cell (after its externalId): the bytes of a lone surrogate, not UTF-8, as a file can hold
    const body = Buffer.from(text);
    const at = body.indexOf(Buffer.from("NUL-3,")) + "NUL-3,".length;
    const bad = Buffer.concat([body.subarray(0, at), Buffer.from([0xed, 0xa0, 0x80]), body.subarray(at)]);
    const res = await r.app.inject({
      method: "POST",
      url: `/organizations/${orgId}/imports?siteId=${siteId}&deviceType=inverter`,
      headers: { ...r.auth("usr-owner"), "content-type": "text/csv" },
      payload: bad,
    });
    expect(res.statusCode, res.body).toBe(202);
    const job = await waitDone(res.json().jobId);
    expect(job).toMatchObject({ status: "done", createdRows: 1, refusedRows: 2 });
    const refused = (
      await call("usr-viewer", "GET", `/organizations/${orgId}/imports/${job.jobId}/rows?outcome=refused`)
    ).json();
    expect(refused.items).toMatchObject([
      { externalId: "NUL-2", reason: expect.stringMatching(/^deviceOEM: contains a NUL character/) },
      { externalId: "NUL-3", reason: expect.stringMatching(/^deviceGrpId: .*not UTF-8/) },
    ]);
  });

  it("fails a file with a syntax error far into it before importing any row, naming the line, and mails why", async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => good(`SYN-${i + 1}`));
    // line 3002: a quote opened and never closed
    const body = `${csv(rows)}SYN-X,"open\r\n`;
    const res = await upload("usr-owner", body, "&notify=syntax%40thai.test");
    expect(res.statusCode).toBe(202);
    const job = await waitDone(res.json().jobId);
    expect(job).toMatchObject({ status: "failed", doneRows: 0, createdRows: 0, totalRows: null });
    expect(job.error).toMatch(/^line 300\d: a quoted field is not closed/);
    expect(await r.db.device.count({ where: { orgId, externalId: { startsWith: "SYN-" } } })).toBe(0);
    expect((await r.db.importJob.findUnique({ where: { id: job.jobId } }))?.content).toBeNull();
    const deadline = Date.now() + 10_000;
    while (!smtp.mails.some((m) => m.to.includes("syntax@thai.test")) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const mail = smtp.mails.find((m) => m.to.includes("syntax@thai.test"));
    expect(mail?.text).toContain("is failed");
    expect(mail?.text).toContain("a quoted field is not closed");
  });
});
