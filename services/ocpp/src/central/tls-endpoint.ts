import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { Logger } from "@energy/kafka";
import type { CentralSystem } from "./central-system.ts";

export interface TlsEndpointOptions {
  central: CentralSystem;
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
}

/** A PEM file named by a setting, or an error that names the setting (never the file's content). */
function readPem(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/**
 * OCPP security profile 2: a TLS listener (`wss://<host>:<OCPP_TLS_PORT>/ocpp/<chargePointId>`) in front of
 * the same central system as the plain port. The charger checks the server's certificate and presents
 * HTTP Basic auth; the upgrade is checked exactly as on the plain port (404 unknown charger, 401 no or
 * wrong password, ...). A client that does not speak TLS never gets to HTTP: its connection ends in the
 * handshake. Anything but a websocket upgrade is answered 426 (under /ocpp/) or 404.
 */
export class TlsEndpoint {
  private readonly server: Server;
  private log: Logger = { info() {}, warn() {}, error() {} };

  constructor(private readonly opts: TlsEndpointOptions) {
    this.server = createServer(
      {
        cert: readPem("OCPP_TLS_CERT_FILE", opts.certFile),
        key: readPem("OCPP_TLS_KEY_FILE", opts.keyFile),
        minVersion: "TLSv1.2", // OCPP's security profiles (1.6 security whitepaper, 2.0.1 part 2): TLS 1.2 or above
      },
      (request, response) => {
        const path = (request.url ?? "/").split("?")[0]!;
        const underOcpp = path.startsWith("/ocpp/");
        response.writeHead(underOcpp ? 426 : 404, {
          "content-type": "text/plain",
          ...(underOcpp ? { upgrade: "websocket", connection: "Upgrade" } : {}),
        });
        response.end(
          underOcpp ? "OCPP-J: open a websocket (wss) here\n" : "Not Found: chargers connect to /ocpp/<id>\n",
        );
      },
    );
    this.server.on("upgrade", (request, socket, head) => opts.central.upgrade(request, socket, head));
    // a client that is not TLS, or does not trust the certificate, ends in the handshake (nothing to answer)
    this.server.on("tlsClientError", (err, socket) => {
      this.log.info({ reason: err.message, remote: socket.remoteAddress }, "TLS handshake failed");
      socket.destroy();
    });
  }

  /** Starts listening; resolves with the port (OCPP_TLS_PORT, or the one picked for 0). */
  async listen(log?: Logger): Promise<number> {
    if (log) this.log = log;
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const { port } = this.server.address() as AddressInfo;
    this.log.info({ port, host: this.opts.host }, "OCPP over TLS (security profile 2) listening");
    return port;
  }

  /** The port it listens on (null before listen). */
  get port(): number | null {
    const address = this.server.address();
    return address && typeof address === "object" ? address.port : null;
  }

  /** Stops taking connections (the chargers' sockets are closed by the central system first). */
  close(): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
