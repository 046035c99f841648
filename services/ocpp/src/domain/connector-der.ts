/**
 * Which ev_charger_port DER a connector's readings go to. A charger device in the registry has one
 * ev_charger_port DER per connector (per EVSE in 2.0.1); the connector number is the last number in the
 * DER's name ("ev-port-1", "Connector 2", "port_3"). A device with a single ev_charger_port DER whose name
 * has no number gets all connector 1 readings on it. A connector with no DER gets no readings (its status,
 * transactions and events are still kept).
 */
export interface PortDerRef {
  id: string;
  name: string;
}

const TRAILING_NUMBER = /(\d+)\D*$/;

export function connectorNumberOf(name: string): number | null {
  const match = TRAILING_NUMBER.exec(name);
  if (!match) return null;
  const n = Number(match[1]);
  return Number.isSafeInteger(n) && n >= 1 ? n : null;
}

export function derForConnector<T extends PortDerRef>(ders: readonly T[], connectorId: number): T | null {
  const numbered = ders.filter((der) => connectorNumberOf(der.name) === connectorId);
  if (numbered.length >= 1) return numbered.toSorted((a, b) => a.id.localeCompare(b.id))[0]!;
  if (connectorId === 1 && ders.length === 1 && connectorNumberOf(ders[0]!.name) === null) return ders[0]!;
  return null;
}
