/**
 * What a simulated gateway's site holds: the devices registered in the registry, their DERs, and the
 * profile the curves run on. Provisioning and the generator both start from it, so the DERs in the
 * registry and the readings always match.
 *
 * Device 1 is a hybrid inverter (solar + battery + meter DERs). On every other site (even gateway index)
 * device 2 is an EV charger with one port; the further devices are extra PV string inverters (solar DER).
 */
import type { DerType, DeviceType } from "@energy/contracts";
import { LOCATIONS, type Location, type SiteProfile, siteProfile } from "./curves.ts";

/** A DER of the plan: `pv0`, `pv1`…, `battery`, `meter`, `ev`. */
export type DerKey = `pv${number}` | "battery" | "meter" | "ev";

export interface PlannedDer {
  key: DerKey;
  derType: DerType;
  name: string;
  ratedPowerW: number | null;
}

export interface PlannedDevice {
  /** Stable within the site: `inverter`, `charger`, `pv-inverter-2`… (part of the device's externalId). */
  key: string;
  type: DeviceType;
  name: string;
  model: string;
  /** kW */
  capacityKw: number;
  /** kWh of storage, when the device has a battery. */
  storageKwh: number | null;
  ders: PlannedDer[];
}

export interface SitePlan {
  /** The seed of the site's curves. */
  seed: string;
  index: number;
  location: Location;
  profile: SiteProfile;
  devices: PlannedDevice[];
}

/** The plan of gateway `index` (0-based) with `deviceCount` devices, from the simulation's seed. */
export function planSite(seed: string, index: number, deviceCount: number): SitePlan {
  if (!Number.isInteger(deviceCount) || deviceCount < 1) throw new Error("devices must be an integer >= 1");
  const siteSeed = `${seed}/site-${index}`;
  const location = LOCATIONS[index % LOCATIONS.length]!;
  const charger = deviceCount >= 2 && index % 2 === 0;
  const pvArrays = deviceCount - (charger ? 1 : 0);
  const profile = siteProfile(siteSeed, { location, pvArrays, charger });

  const devices: PlannedDevice[] = [
    {
      key: "inverter",
      type: "inverter",
      name: "Hybrid inverter",
      model: "SIM-HY10",
      capacityKw: profile.pvArraysW[0]! / 1000,
      storageKwh: profile.battery.capacityWh / 1000,
      ders: [
        { key: "pv0", derType: "solar", name: "PV array 1", ratedPowerW: profile.pvArraysW[0]! },
        { key: "battery", derType: "battery", name: "Battery", ratedPowerW: profile.battery.maxDischargeW },
        { key: "meter", derType: "meter", name: "Grid meter", ratedPowerW: null },
      ],
    },
  ];
  if (profile.charger) {
    devices.push({
      key: "charger",
      type: "ev_charger",
      name: "EV charger",
      model: profile.charger.phases === 3 ? "SIM-AC11" : "SIM-AC7",
      capacityKw: profile.charger.maxW / 1000,
      storageKwh: null,
      ders: [{ key: "ev", derType: "ev_charger_port", name: "Port 1", ratedPowerW: profile.charger.maxW }],
    });
  }
  for (let i = 1; i < profile.pvArraysW.length; i++) {
    devices.push({
      key: `pv-inverter-${i + 1}`,
      type: "inverter",
      name: `String inverter ${i + 1}`,
      model: "SIM-PV5",
      capacityKw: profile.pvArraysW[i]! / 1000,
      storageKwh: null,
      ders: [
        { key: `pv${i}`, derType: "solar", name: `PV array ${i + 1}`, ratedPowerW: profile.pvArraysW[i]! },
      ],
    });
  }
  return { seed: siteSeed, index, location, profile, devices };
}
