import stub from "./index.cjs";
export const { createLogger, consoleTransport, prettyTransport } = stub;
export default stub;
