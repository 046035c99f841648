import pg from "pg";

/**
 * The channels on which ingestion's tables announce their changes (the triggers of migration
 * 20261202230000_change_notify): each statement that changes one of them notifies its channel when its
 * transaction commits, whichever instance (or operator) ran it.
 */
export const CHANGE_CHANNELS = {
  /** the der and device tables: the registry projection's DERs (src/ingest/der-scopes.ts) */
  derScope: "ingestion_der_scope",
  /** the revoked_identity and identity_key tables: revocations (app.ts: the revocation cache) */
  revocation: "ingestion_revocation",
} as const;

export type ChangeChannel = (typeof CHANGE_CHANNELS)[keyof typeof CHANGE_CHANNELS];

interface Log {
  warn(obj: object, msg: string): void;
}

/**
 * One connection of the service that LISTENs to CHANGE_CHANNELS, so that what is kept in memory from the
 * database can be trusted for as long as it is not told otherwise. A subscriber of a channel is called on
 * each of its notifications, and also whenever listening starts or stops (changes may have been missed
 * meanwhile): it forgets what it kept. While `listening` is false (not started, the connection lost and
 * being made again) a memory must not be trusted, only the database.
 */
export class DbChanges {
  private readonly subscribers = new Map<ChangeChannel, Array<() => void>>();
  private client: pg.Client | null = null;
  private stopped = true;
  private retry: NodeJS.Timeout | undefined;
  private log: Log = { warn: () => {} };

  constructor(
    private readonly databaseUrl: string,
    /** wait before listening again after the connection was lost, ms */
    private readonly retryMs = 1000,
  ) {}

  get listening(): boolean {
    return this.client !== null;
  }

  on(channel: ChangeChannel, forget: () => void): void {
    this.subscribers.set(channel, [...(this.subscribers.get(channel) ?? []), forget]);
  }

  /** Starts listening. Resolves once listening, or once the first try failed (it tries again). */
  async start(log: Log): Promise<void> {
    this.log = log;
    this.stopped = false;
    await this.listen();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    this.forgetAll();
    await client?.end().catch(() => {});
  }

  private forgetAll(): void {
    for (const forgets of this.subscribers.values()) for (const forget of forgets) forget();
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.databaseUrl });
    const lost = (error?: Error) => {
      if (this.client !== client) return;
      this.client = null;
      this.forgetAll();
      client.end().catch(() => {});
      if (this.stopped) return;
      this.log.warn(
        { err: error },
        "the connection listening for database changes was lost; what is kept in memory is read from the database until it is back",
      );
      this.scheduleRetry();
    };
    client.on("error", lost);
    client.on("end", () => lost());
    client.on("notification", ({ channel }) => {
      for (const forget of this.subscribers.get(channel as ChangeChannel) ?? []) forget();
    });
    try {
      await client.connect();
      for (const channel of Object.values(CHANGE_CHANNELS)) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      client.end().catch(() => {});
      if (!this.stopped) {
        this.log.warn(
          { err: error },
          "cannot listen for database changes; what is kept in memory is read from the database meanwhile",
        );
        this.scheduleRetry();
      }
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    // whatever was kept before this connection listened may be stale
    this.forgetAll();
  }

  private scheduleRetry(): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.listen(), this.retryMs);
    this.retry.unref();
  }
}
