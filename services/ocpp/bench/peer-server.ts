/**
 * The peer baseline of bench/chargers.ts: a bare ocpp-rpc RPCServer in strict mode (ocpp-rpc's own 1.6
 * schemas) that accepts every charger and answers BootNotification, Heartbeat and MeterValues at once,
 * with no database, Kafka or HTTP app. Forked by the bench, which measures its RSS with the same fleet;
 * it sends `{ port }` once it listens.
 */
import { RPCServer } from "ocpp-rpc";

const server = new RPCServer({ protocols: ["ocpp1.6"], strictMode: true });
server.auth((accept) => accept());
server.on("client", (client: { handle(action: string, fn: () => unknown): void }) => {
  client.handle("BootNotification", () => ({
    status: "Accepted",
    currentTime: new Date().toISOString(),
    interval: 60,
  }));
  client.handle("Heartbeat", () => ({ currentTime: new Date().toISOString() }));
  client.handle("MeterValues", () => ({}));
});
const http = await server.listen(0, "127.0.0.1");
process.send!({ port: (http.address() as { port: number }).port });
