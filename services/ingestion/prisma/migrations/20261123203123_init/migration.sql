-- CreateTable
CREATE TABLE "identity_key" (
    "key_id" TEXT NOT NULL,
    "identity_id" TEXT NOT NULL,
    "identity_type" TEXT NOT NULL,
    "algorithm" TEXT NOT NULL,
    "public_key" TEXT NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "identity_key_pkey" PRIMARY KEY ("key_id")
);

-- CreateTable
CREATE TABLE "membership" (
    "org_id" TEXT NOT NULL,
    "identity_id" TEXT NOT NULL,
    "role" TEXT NOT NULL,

    CONSTRAINT "membership_pkey" PRIMARY KEY ("org_id","identity_id")
);

-- CreateTable
CREATE TABLE "site" (
    "id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "timezone" TEXT NOT NULL,

    CONSTRAINT "site_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device" (
    "id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "site_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "comm_identity_id" TEXT,

    CONSTRAINT "device_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "der" (
    "id" TEXT NOT NULL,
    "device_id" TEXT NOT NULL,
    "site_id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "der_type" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "rated_power_w" INTEGER,

    CONSTRAINT "der_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "reading" (
    "der_id" TEXT NOT NULL,
    "reading_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "device_id" TEXT NOT NULL,
    "gateway_id" TEXT,
    "reading" JSONB NOT NULL,

    CONSTRAINT "reading_pkey" PRIMARY KEY ("der_id","reading_at")
) PARTITION BY RANGE ("reading_at");

-- Raw readings are partitioned by day on reading_at: src/readings/partitions.ts creates the days
-- ahead and drops the ones past RAW_RETENTION_DAYS. A reading whose day has no partition (a device
-- clock far off, or a day not made yet) lands in the default partition, which retention prunes by DELETE.
CREATE TABLE "reading_default" PARTITION OF "reading" DEFAULT;

-- CreateTable
CREATE TABLE "rejected_reading" (
    "id" BIGSERIAL NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "channel" TEXT NOT NULL,
    "gateway_id" TEXT,
    "device_id" TEXT,
    "der_id" TEXT,
    "reasons" JSONB NOT NULL,
    "raw" JSONB,

    CONSTRAINT "rejected_reading_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "twin" (
    "der_id" TEXT NOT NULL,
    "device_id" TEXT NOT NULL,
    "site_id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "der_type" TEXT NOT NULL,
    "reading_type" TEXT NOT NULL,
    "fields" JSONB NOT NULL,
    "last_reading_at" TIMESTAMPTZ(3) NOT NULL,
    "last_received_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "twin_pkey" PRIMARY KEY ("der_id")
);

-- CreateTable
CREATE TABLE "device_liveness" (
    "device_id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3),
    "changed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "device_liveness_pkey" PRIMARY KEY ("device_id")
);

-- CreateTable
CREATE TABLE "energy_interval" (
    "der_id" TEXT NOT NULL,
    "interval_start" TIMESTAMPTZ(3) NOT NULL,
    "device_id" TEXT NOT NULL,
    "site_id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "der_type" TEXT NOT NULL,
    "generation_wh" DOUBLE PRECISION,
    "import_wh" DOUBLE PRECISION,
    "export_wh" DOUBLE PRECISION,
    "charge_wh" DOUBLE PRECISION,
    "discharge_wh" DOUBLE PRECISION,
    "reading_count" INTEGER NOT NULL DEFAULT 0,
    "published_at" TIMESTAMPTZ(3),
    "corrections" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "energy_interval_pkey" PRIMARY KEY ("der_id","interval_start")
);

-- CreateTable
CREATE TABLE "outbox" (
    "seq" BIGSERIAL NOT NULL,
    "id" UUID NOT NULL,
    "topic" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "schema_version" INTEGER NOT NULL,
    "payload" JSONB NOT NULL,
    "correlation_id" TEXT NOT NULL,
    "causation_id" TEXT,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "sent_at" TIMESTAMPTZ(3),

    CONSTRAINT "outbox_pkey" PRIMARY KEY ("seq")
);

-- CreateTable
CREATE TABLE "processed_message" (
    "id" UUID NOT NULL,
    "topic" TEXT NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "processed_message_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "identity_key_identity_id_idx" ON "identity_key"("identity_id");

-- CreateIndex
CREATE INDEX "site_org_id_idx" ON "site"("org_id");

-- CreateIndex
CREATE INDEX "device_comm_identity_id_idx" ON "device"("comm_identity_id");

-- CreateIndex
CREATE INDEX "device_org_id_site_id_idx" ON "device"("org_id", "site_id");

-- CreateIndex
CREATE INDEX "der_device_id_idx" ON "der"("device_id");

-- CreateIndex
CREATE INDEX "der_org_id_site_id_idx" ON "der"("org_id", "site_id");

-- CreateIndex
CREATE INDEX "rejected_reading_received_at_idx" ON "rejected_reading"("received_at");

-- CreateIndex
CREATE INDEX "rejected_reading_gateway_id_received_at_idx" ON "rejected_reading"("gateway_id", "received_at");

-- CreateIndex
CREATE INDEX "twin_org_id_site_id_idx" ON "twin"("org_id", "site_id");

-- CreateIndex
CREATE INDEX "twin_device_id_idx" ON "twin"("device_id");

-- CreateIndex
CREATE INDEX "device_liveness_state_last_seen_at_idx" ON "device_liveness"("state", "last_seen_at");

-- CreateIndex
CREATE INDEX "device_liveness_org_id_changed_at_idx" ON "device_liveness"("org_id", "changed_at");

-- CreateIndex
CREATE INDEX "energy_interval_org_id_site_id_interval_start_idx" ON "energy_interval"("org_id", "site_id", "interval_start");

-- CreateIndex
CREATE UNIQUE INDEX "outbox_id_key" ON "outbox"("id");

-- CreateIndex
CREATE INDEX "outbox_sent_at_seq_idx" ON "outbox"("sent_at", "seq");

