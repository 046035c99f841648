import { describe, expect, it } from "vitest";
import { deviceLogChanges, type LoggedDevice } from "../src/domain/device-log.ts";

const day = (date: string) => new Date(`${date}T00:00:00.000Z`);
const device = (capacity: number | null, commissioningDate: string | null): LoggedDevice => ({
  capacity,
  commissioningDate: commissioningDate === null ? null : day(commissioningDate),
});

describe("the device log's changes", () => {
  it.each([
    {
      name: "nothing changed",
      before: device(1200, "2012-07-10"),
      after: device(1200, "2012-07-10"),
      changes: [],
    },
    {
      name: "capacity changed",
      before: device(1200, "2012-07-10"),
      after: device(1500, "2012-07-10"),
      changes: [{ field: "capacity", oldValue: "1200", newValue: "1500" }],
    },
    {
      name: "capacity set and cleared",
      before: device(null, null),
      after: device(0.5, null),
      changes: [{ field: "capacity", oldValue: null, newValue: "0.5" }],
    },
    {
      name: "capacity cleared",
      before: device(7, null),
      after: device(null, null),
      changes: [{ field: "capacity", oldValue: "7", newValue: null }],
    },
    {
      name: "commissioning date moved, compared by day",
      before: device(1, "2012-07-10"),
      after: { capacity: 1, commissioningDate: new Date("2012-07-11T00:00:00.000Z") },
      changes: [{ field: "commissioningDate", oldValue: "2012-07-10", newValue: "2012-07-11" }],
    },
    {
      name: "both, in the log's field order",
      before: device(1, null),
      after: device(2, "2020-01-01"),
      changes: [
        { field: "capacity", oldValue: "1", newValue: "2" },
        { field: "commissioningDate", oldValue: null, newValue: "2020-01-01" },
      ],
    },
  ])("$name", ({ before, after, changes }) => {
    expect(deviceLogChanges(before, after)).toEqual(changes);
  });
});
