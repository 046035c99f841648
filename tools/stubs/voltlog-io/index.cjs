"use strict";
// Silent logger: ocpp-ws-io only calls createLogger (then debug/info/warn/error/child) and the two transports.
const noop = () => {};
function createLogger() {
  const logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, fatal: noop, log: noop };
  logger.child = () => logger;
  return logger;
}
const consoleTransport = () => ({ write: noop });
const prettyTransport = () => ({ write: noop });
module.exports = { createLogger, consoleTransport, prettyTransport };
