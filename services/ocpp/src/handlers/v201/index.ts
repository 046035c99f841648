import type { ActionHandler } from "../../central/handler.ts";
import { authorize } from "./authorize.ts";
import { bootNotification } from "./boot-notification.ts";
import { heartbeat } from "./heartbeat.ts";
import { meterValues } from "./meter-values.ts";
import { notifyEvent } from "./notify-event.ts";
import { notifyReport } from "./notify-report.ts";
import { reservationStatusUpdate } from "./reservation-status-update.ts";
import { securityEventNotification } from "./security-event-notification.ts";
import { statusNotification } from "./status-notification.ts";
import { transactionEvent } from "./transaction-event.ts";

/** OCPP 2.0.1 calls a charging station sends, by action. */
export const v201Handlers: Record<string, ActionHandler> = {
  BootNotification: bootNotification,
  Heartbeat: heartbeat,
  StatusNotification: statusNotification,
  Authorize: authorize,
  TransactionEvent: transactionEvent,
  MeterValues: meterValues,
  NotifyEvent: notifyEvent,
  SecurityEventNotification: securityEventNotification,
  NotifyReport: notifyReport,
  ReservationStatusUpdate: reservationStatusUpdate,
};
