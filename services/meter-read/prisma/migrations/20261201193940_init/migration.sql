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
    "timezone" TEXT NOT NULL,

    CONSTRAINT "site_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device" (
    "id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "site_id" TEXT NOT NULL,
    "external_id" TEXT,
    "capacity_w" INTEGER,
    "commissioning_date" TEXT,
    "onboarded_at" TIMESTAMPTZ(3),
    "yield_value" DOUBLE PRECISION,
    "state" TEXT NOT NULL,
    "cumulative_type" TEXT,
    "read_source" TEXT,
    "last_cumulative_at" TIMESTAMPTZ(3),
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "device_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device_capacity" (
    "device_id" TEXT NOT NULL,
    "from_at" TIMESTAMPTZ(3) NOT NULL,
    "capacity_w" INTEGER NOT NULL,

    CONSTRAINT "device_capacity_pkey" PRIMARY KEY ("device_id","from_at")
);

-- CreateTable
CREATE TABLE "meter_read" (
    "device_id" TEXT NOT NULL,
    "end_at" TIMESTAMPTZ(3) NOT NULL,
    "version" INTEGER NOT NULL,
    "read_id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "read_type" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "start_at" TIMESTAMPTZ(3),
    "value_wh" BIGINT NOT NULL,
    "energy_wh" BIGINT,
    "eligible" BOOLEAN NOT NULL,
    "flags" TEXT[],
    "content_hash" TEXT,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "meter_read_pkey" PRIMARY KEY ("device_id","end_at")
) PARTITION BY HASH ("device_id");

-- Every read is found by its device (writes, queries, exports), so the table is split by device: 16 hash
-- partitions of equal size and no maintenance (no time partitions to create, and history reads may be for
-- any date). Each partition's B-trees stay a sixteenth of the whole: at 500 million reads, ~31 million rows
-- each. More partitions later means a rebuild (a new table filled by INSERT ... SELECT).
CREATE TABLE "meter_read_p00" PARTITION OF "meter_read" FOR VALUES WITH (MODULUS 16, REMAINDER 0);
CREATE TABLE "meter_read_p01" PARTITION OF "meter_read" FOR VALUES WITH (MODULUS 16, REMAINDER 1);
CREATE TABLE "meter_read_p02" PARTITION OF "meter_read" FOR VALUES WITH (MODULUS 16, REMAINDER 2);
CREATE TABLE "meter_read_p03" PARTITION OF "meter_read" FOR VALUES WITH (MODULUS 16, REMAINDER 3);
CREATE TABLE "meter_read_p04" PARTITION OF "meter_read" FOR VALUES WITH (MODULUS 16, REMAINDER 4);
CREATE TABLE "meter_read_p05" PARTITION OF "meter_read" FOR VALUES WITH (MODULUS 16, REMAINDER 5);
CREATE TABLE "meter_read_p06" PARTITION OF "meter_read" FOR VALUES WITH (MODULUS 16, REMAINDER 6);
CREATE TABLE "meter_read_p07" PARTITION OF "meter_read" FOR VALUES WITH (MODULUS 16, REMAINDER 7);
CREATE TABLE "meter_read_p08" PARTITION OF "meter_read" FOR VALUES WITH (MODULUS 16, REMAINDER 8);
CREATE TABLE "meter_read_p09" PARTITION OF "meter_read" FOR VALUES WITH (MODULUS 16, REMAINDER 9);
CREATE TABLE "meter_read_p10" PARTITION OF "meter_read" FOR VALUES WITH (MODULUS 16, REMAINDER 10);
CREATE TABLE "meter_read_p11" PARTITION OF "meter_read" FOR VALUES WITH (MODULUS 16, REMAINDER 11);
CREATE TABLE "meter_read_p12" PARTITION OF "meter_read" FOR VALUES WITH (MODULUS 16, REMAINDER 12);
CREATE TABLE "meter_read_p13" PARTITION OF "meter_read" FOR VALUES WITH (MODULUS 16, REMAINDER 13);
CREATE TABLE "meter_read_p14" PARTITION OF "meter_read" FOR VALUES WITH (MODULUS 16, REMAINDER 14);
CREATE TABLE "meter_read_p15" PARTITION OF "meter_read" FOR VALUES WITH (MODULUS 16, REMAINDER 15);

-- CreateTable
CREATE TABLE "meter_read_version" (
    "device_id" TEXT NOT NULL,
    "end_at" TIMESTAMPTZ(3) NOT NULL,
    "version" INTEGER NOT NULL,
    "read_id" TEXT NOT NULL,
    "read_type" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "start_at" TIMESTAMPTZ(3),
    "value_wh" BIGINT NOT NULL,
    "energy_wh" BIGINT,
    "eligible" BOOLEAN NOT NULL,
    "flags" TEXT[],
    "content_hash" TEXT,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL,
    "superseded_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "meter_read_version_pkey" PRIMARY KEY ("device_id","end_at","version")
);

-- CreateTable
CREATE TABLE "refused_read" (
    "id" BIGSERIAL NOT NULL,
    "device_id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "read_type" TEXT NOT NULL,
    "read_index" INTEGER NOT NULL,
    "read" JSONB NOT NULL,
    "reasons" JSONB NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "refused_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "refused_read_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "telemetry_interval" (
    "der_id" TEXT NOT NULL,
    "interval_start" TIMESTAMPTZ(3) NOT NULL,
    "device_id" TEXT NOT NULL,
    "generation_wh" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "telemetry_interval_pkey" PRIMARY KEY ("der_id","interval_start")
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
CREATE INDEX "site_org_id_idx" ON "site"("org_id");

-- CreateIndex
CREATE INDEX "device_org_id_external_id_idx" ON "device"("org_id", "external_id");

-- CreateIndex
CREATE INDEX "meter_read_device_id_start_at_energy_wh_idx" ON "meter_read"("device_id", "start_at", "energy_wh");

-- CreateIndex
CREATE INDEX "refused_read_device_id_id_idx" ON "refused_read"("device_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "refused_read_device_id_fingerprint_key" ON "refused_read"("device_id", "fingerprint");

-- CreateIndex
CREATE INDEX "telemetry_interval_device_id_interval_start_idx" ON "telemetry_interval"("device_id", "interval_start");

-- CreateIndex
CREATE UNIQUE INDEX "outbox_id_key" ON "outbox"("id");

-- CreateIndex
CREATE INDEX "outbox_sent_at_seq_idx" ON "outbox"("sent_at", "seq");

