/** The part of a `ws` WebSocket the keep-alive uses. */
export interface PingableSocket {
  readonly readyState: number;
  ping(): void;
  terminate(): void;
  on(event: "pong" | "close", listener: () => void): unknown;
}

interface Tracked {
  /** when the next ping is due (ms since epoch) */
  nextPingAt: number;
  /** when the unanswered ping went out, or null when none is outstanding */
  pingSentAt: number | null;
  onDead: () => void;
}

const OPEN = 1;

export interface KeepAliveOptions {
  /** a ping goes out this long after the socket opened or its last pong */
  intervalMs: number;
  /** a socket that has not answered a ping this long after it went out is dead: it is cut off */
  timeoutMs: number;
}

/**
 * Websocket pings for every charger socket, with a dead-peer timeout of its own (PING_INTERVAL_SECONDS,
 * DEAD_PEER_TIMEOUT_SECONDS): ping `intervalMs` after the socket opened, last answered a ping or last sent a
 * frame, and terminate it
 * when the answer (a pong) has not come `timeoutMs` after the ping. A terminated socket closes like any
 * other (1006), so the central system records the disconnection; `onDead` lets it say why.
 *
 * One timer for all sockets (a fleet of 10,000 costs one Map walk per tick, not 10,000 timers); the tick is
 * a quarter of the shorter of the two durations, between 100 ms and 1 s, so a timeout fires at most a tick late.
 */
export class KeepAlive {
  private readonly sockets = new Map<PingableSocket, Tracked>();
  private readonly timer: NodeJS.Timeout;
  readonly tickMs: number;

  constructor(private readonly opts: KeepAliveOptions) {
    this.tickMs = Math.min(1_000, Math.max(100, Math.min(opts.intervalMs, opts.timeoutMs) / 4));
    this.timer = setInterval(() => this.tick(Date.now()), this.tickMs);
    this.timer.unref();
  }

  /**
   * Starts pinging a socket until it closes; `onDead` runs just before a dead one is terminated. Returns
   * what to call when a frame arrives on it: a peer that talks is alive, so it is pinged only once it has
   * been quiet for the interval (a fleet sending meter values every 10 s is never pinged at 30 s: no ping
   * and pong, two syscalls and wake-ups each, per charger and interval).
   */
  track(socket: PingableSocket, onDead: () => void = () => {}): () => void {
    const tracked: Tracked = { nextPingAt: Date.now() + this.opts.intervalMs, pingSentAt: null, onDead };
    this.sockets.set(socket, tracked);
    const alive = () => {
      tracked.pingSentAt = null;
      tracked.nextPingAt = Date.now() + this.opts.intervalMs;
    };
    socket.on("pong", alive);
    socket.on("close", () => this.sockets.delete(socket));
    return alive;
  }

  /** How many sockets it pings. */
  get size(): number {
    return this.sockets.size;
  }

  private tick(now: number): void {
    for (const [socket, t] of this.sockets) {
      if (socket.readyState !== OPEN) continue;
      if (t.pingSentAt !== null) {
        if (now - t.pingSentAt >= this.opts.timeoutMs) {
          this.sockets.delete(socket);
          t.onDead();
          socket.terminate();
        }
      } else if (now >= t.nextPingAt) {
        t.pingSentAt = now;
        try {
          socket.ping();
        } catch {
          // the socket is going: its close removes it
        }
      }
    }
  }

  /** Stops pinging (at shutdown). */
  close(): void {
    clearInterval(this.timer);
    this.sockets.clear();
  }
}
