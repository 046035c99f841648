import { KafkaConfigSchema } from "@energy/kafka";
import { BaseConfigSchema, loadConfig } from "@energy/service-kit";
import { z } from "zod";

const positive = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

export const ConfigSchema = BaseConfigSchema.extend(KafkaConfigSchema.shape)
  .extend({
    PORT: z.coerce.number().int().min(0).max(65_535).default(4003),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
    /** This instance's name in the routing table of commands; default: a random one per start. */
    INSTANCE_ID: z.string().min(1).max(100).optional(),
    /** The interval a BootNotification answer tells chargers to send heartbeats at. */
    HEARTBEAT_INTERVAL_SECONDS: positive(60),
    /** A websocket ping goes to each charger this long after it connected or answered the last one. */
    PING_INTERVAL_SECONDS: positive(30),
    /**
     * A charger that has not answered a ping (pong) this long after it went out is a dead peer: its socket
     * is cut off and it is recorded disconnected (`charger.disconnected`, reason "dead peer: …").
     */
    DEAD_PEER_TIMEOUT_SECONDS: positive(30),
    /** How long a command waits for the charger's answer before it fails with Timeout. */
    COMMAND_TIMEOUT_SECONDS: positive(30),
    /** A charger clock further off than this from the receive time is flagged as skewed. */
    CLOCK_SKEW_TOLERANCE_SECONDS: positive(300),
    /**
     * What a booting charger is answered when no owner decided on it (PUT .../registration): Accepted, or
     * Pending (it may then only send BootNotification, Heartbeat, NotifyReport and messages asked for with a
     * TriggerMessage until an owner or admin accepts it; domain/registration.ts).
     */
    BOOT_POLICY: z.enum(["Accepted", "Pending"]).default("Accepted"),
    /** Authorize an id tag that is not on the organization's list (off: such a tag is Invalid). */
    ACCEPT_UNKNOWN_ID_TAGS: z
      .enum(["true", "false"])
      .default("false")
      .transform((v) => v === "true"),
    /** Rated power of a connector whose DER has none in the registry, in W (power bands of readings). */
    DEFAULT_RATED_POWER_W: positive(11_000),
    /** Lowest power a charger can charge at (6 A on one phase ≈ 1,380 W): the bottom of the charge band. */
    MIN_CHARGE_POWER_W: positive(1_380),
    /** An instance that has not refreshed its row this long is dead: its chargers count as offline. */
    INSTANCE_STALE_SECONDS: positive(15),
    /**
     * The largest OCPP frame a charger may send: a bigger one is answered with a CALLERROR
     * (FormatViolation; 1.6 FormationViolation) without being parsed. One over 4 times this closes the
     * socket (1009, as RFC 6455 says) before it is read whole.
     */
    OCPP_MAX_FRAME_BYTES: positive(262_144),
    /** How often the instance loop refreshes this instance's row, drops superseded sockets and sweeps timeouts. */
    INSTANCE_LOOP_INTERVAL_MS: positive(5_000),
    /** How often active reservations past their expiry are marked expired (`reservation.expired`). */
    RESERVATION_EXPIRY_INTERVAL_MS: positive(10_000),
    /**
     * OCPP security profile 2: the port of a second listener that takes chargers over TLS (wss, the same
     * /ocpp/<chargePointId> path and Basic auth); unset: no TLS listener. 0 picks a free port (tests).
     */
    OCPP_TLS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
    /** The TLS listener's certificate (PEM, the chain after it) and private key (PEM): files read at start. */
    OCPP_TLS_CERT_FILE: z.string().min(1).optional(),
    OCPP_TLS_KEY_FILE: z.string().min(1).optional(),
    /**
     * Whether chargers may connect over plain ws on PORT (security profile 1). false: only over the TLS
     * listener (profile 2; OCPP_TLS_PORT required), a plain upgrade is refused with 403 before any password
     * is checked.
     */
    OCPP_PLAIN_WS: z
      .enum(["true", "false"])
      .default("true")
      .transform((v) => v === "true"),
  })
  .superRefine((config, ctx) => {
    if (config.OCPP_TLS_PORT === undefined) {
      if (!config.OCPP_PLAIN_WS) {
        ctx.addIssue({
          code: "custom",
          path: ["OCPP_PLAIN_WS"],
          message: "false needs OCPP_TLS_PORT (no way in)",
        });
      }
      return;
    }
    for (const variable of ["OCPP_TLS_CERT_FILE", "OCPP_TLS_KEY_FILE"] as const) {
      if (config[variable] === undefined) {
        ctx.addIssue({ code: "custom", path: [variable], message: "required when OCPP_TLS_PORT is set" });
      }
    }
  });
export type Config = z.infer<typeof ConfigSchema>;

/** The service's configuration from the environment, parsed once; a bad variable stops start-up naming it. */
export const readConfig = (env: NodeJS.ProcessEnv = process.env): Config => loadConfig(ConfigSchema, env);
