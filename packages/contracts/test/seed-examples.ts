// The telemetry examples of the data model (shared/seeds/000), verbatim. They carry no
// timestamp; the tests add one, since a reading without a timestamp is refused.

export const pvExample = {
  type: "pv",
  make: "Deye",
  W: -1500,
  rated_power_W: 3000,
  mppt1_V: 400,
  mppt1_A: -3.75,
  mppt2_V: 380,
  mppt2_A: -3.68,
  heatsink_C: 45,
  total_generation_Wh: 15000,
};

export const batteryExample = {
  type: "battery",
  make: "Tesla",
  W: 500,
  A: 10.5,
  V: 48.2,
  SoC_nom_fract: 0.75,
  heatsink_C: 25,
  total_charge_Wh: 8000,
  total_discharge_Wh: 7200,
};

export const meterExample = {
  type: "meter",
  make: "Kamstrup",
  W: 1200,
  Hz: 50.0,
  L1_V: 230,
  L1_A: 5.2,
  L1_W: 400,
  L2_V: 229,
  L2_A: 5.1,
  L2_W: 380,
  L3_V: 231,
  L3_A: 5.3,
  L3_W: 420,
  total_import_Wh: 25000,
  total_export_Wh: 18000,
};

export const evChargerPortExample = {
  type: "ev_charger_port",
  make: "Zaptec",
  connector_status: "occupied",
  charging_state: "charging",
  W: 7200,
  L1_V: 230.5,
  L1_A: 10.4,
  L2_V: 231.2,
  L2_A: 10.3,
  L3_V: 229.8,
  L3_A: 10.5,
  total_charge_Wh: 125000,
  session_charge_Wh: 5000,
  session_id: 12345,
  upper_limit_W: [0, 11000],
  lower_limit_W: [0, 4500],
};

export const v2xChargerExample = {
  type: "v2x_charger",
  make: "Ferroamp",
  connector_status: "occupied",
  charging_state: "charging",
  protocol: "ISO_15118_20",
  control_mode: "bi_dir",
  plug_connected: true,
  W: 5300,
  ac_W: 5300,
  A: 23.0,
  V: 230.5,
  Hz: 49.98,
  L1_V: 232.8,
  L1_A: 23.0,
  L1_W: 5354,
  dc_W: 5100,
  dc_V: 400.0,
  dc_A: 12.75,
  vehicle_soc_fract: 0.55,
  session_charge_Wh: 1500,
  session_discharge_Wh: 0,
  total_charge_Wh: 142000,
  total_discharge_Wh: 5100,
};

/** The bidirectional power bands of the data model's "Power Limits" section. */
export const v2xPowerBands = {
  upper_limit_W: [-500, 50, 7000],
  lower_limit_W: [-7000, -50, 500],
};

/** 2024-05-01T12:00:00Z in ms. */
export const T = 1_714_564_800_000;
