import type { ActionHandler } from "../../central/handler.ts";
import { authorize } from "./authorize.ts";
import { bootNotification } from "./boot-notification.ts";
import { dataTransfer } from "./data-transfer.ts";
import { diagnosticsStatusNotification } from "./diagnostics-status-notification.ts";
import { firmwareStatusNotification } from "./firmware-status-notification.ts";
import { heartbeat } from "./heartbeat.ts";
import { meterValues } from "./meter-values.ts";
import { securityEventNotification } from "./security-event-notification.ts";
import { startTransaction } from "./start-transaction.ts";
import { statusNotification } from "./status-notification.ts";
import { stopTransaction } from "./stop-transaction.ts";

/** OCPP 1.6J calls a charge point sends, by action. */
export const v16Handlers: Record<string, ActionHandler> = {
  BootNotification: bootNotification,
  Heartbeat: heartbeat,
  StatusNotification: statusNotification,
  Authorize: authorize,
  StartTransaction: startTransaction,
  StopTransaction: stopTransaction,
  MeterValues: meterValues,
  DataTransfer: dataTransfer,
  FirmwareStatusNotification: firmwareStatusNotification,
  DiagnosticsStatusNotification: diagnosticsStatusNotification,
  SecurityEventNotification: securityEventNotification,
};
