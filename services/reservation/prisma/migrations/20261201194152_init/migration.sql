-- CreateTable
CREATE TABLE "organization" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "deleted" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "organization_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "membership" (
    "org_id" TEXT NOT NULL,
    "identity_id" TEXT NOT NULL,
    "role" TEXT NOT NULL,

    CONSTRAINT "membership_pkey" PRIMARY KEY ("org_id","identity_id")
);

-- CreateTable
CREATE TABLE "device" (
    "id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "site_id" TEXT,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "external_id" TEXT,
    "capacity_w" INTEGER,
    "commissioning_date" DATE,
    "country_code" TEXT,
    "fuel_code" TEXT,
    "device_type_code" TEXT,
    "off_taker" TEXT,
    "grid_interconnection" BOOLEAN,
    "address" TEXT,
    "latitude" DOUBLE PRECISION,
    "longitude" DOUBLE PRECISION,
    "deleted" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "device_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "meter_read" (
    "read_id" TEXT NOT NULL,
    "device_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "content_hash" TEXT NOT NULL,
    "start" TIMESTAMPTZ(3) NOT NULL,
    "end" TIMESTAMPTZ(3) NOT NULL,
    "energy_wh" BIGINT NOT NULL,
    "eligible" BOOLEAN NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "reservation_id" TEXT,
    "request_id" UUID,
    "claimed_wh" BIGINT,
    "late" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "meter_read_pkey" PRIMARY KEY ("read_id")
);

-- CreateTable
CREATE TABLE "reservation" (
    "id" TEXT NOT NULL,
    "buyer_org_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "buyer_address" TEXT NOT NULL,
    "start" TIMESTAMPTZ(3) NOT NULL,
    "end" TIMESTAMPTZ(3) NOT NULL,
    "frequency" TEXT NOT NULL,
    "timezone" TEXT NOT NULL,
    "target_volume_wh" BIGINT,
    "authority_to_exceed" BOOLEAN NOT NULL,
    "continue_if_unavailable" BOOLEAN NOT NULL,
    "continue_if_target_below" BOOLEAN NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'active',
    "ended_at" TIMESTAMPTZ(3),
    "end_reason" TEXT,
    "requested_until" TIMESTAMPTZ(3) NOT NULL,
    "next_window_end" TIMESTAMPTZ(3),
    "requested_wh" BIGINT NOT NULL DEFAULT 0,
    "succeeded_wh" BIGINT NOT NULL DEFAULT 0,
    "failed_wh" BIGINT NOT NULL DEFAULT 0,
    "carried_wh" BIGINT NOT NULL DEFAULT 0,
    "late_pending" BOOLEAN NOT NULL DEFAULT false,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "reservation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "reservation_device" (
    "reservation_id" TEXT NOT NULL,
    "device_id" TEXT NOT NULL,
    "added_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "removed_at" TIMESTAMPTZ(3),

    CONSTRAINT "reservation_device_pkey" PRIMARY KEY ("reservation_id","device_id")
);

-- CreateTable
CREATE TABLE "device_lock" (
    "device_id" TEXT NOT NULL,
    "reservation_id" TEXT NOT NULL,
    "locked_until" TIMESTAMPTZ(3),

    CONSTRAINT "device_lock_pkey" PRIMARY KEY ("device_id")
);

-- CreateTable
CREATE TABLE "issuance_window" (
    "request_id" UUID NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "reservation_id" TEXT NOT NULL,
    "window_start" TIMESTAMPTZ(3) NOT NULL,
    "window_end" TIMESTAMPTZ(3) NOT NULL,
    "version" INTEGER NOT NULL,
    "energy_wh" BIGINT NOT NULL,
    "carried_over_wh" BIGINT NOT NULL,
    "late" BOOLEAN NOT NULL,
    "capped" BOOLEAN NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'requested',
    "failure_reason" TEXT,
    "contributions" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "issuance_window_pkey" PRIMARY KEY ("request_id")
);

-- CreateTable
CREATE TABLE "reservation_warning" (
    "id" BIGSERIAL NOT NULL,
    "reservation_id" TEXT NOT NULL,
    "code" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "window_start" TIMESTAMPTZ(3),
    "device_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reservation_warning_pkey" PRIMARY KEY ("id")
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
CREATE INDEX "device_country_code_idx" ON "device"("country_code");

-- CreateIndex
CREATE INDEX "meter_read_reservation_id_device_id_end_idx" ON "meter_read"("reservation_id", "device_id", "end");

-- CreateIndex
CREATE INDEX "meter_read_reservation_id_request_id_idx" ON "meter_read"("reservation_id", "request_id");

-- CreateIndex
CREATE INDEX "reservation_buyer_org_id_idx" ON "reservation"("buyer_org_id");

-- CreateIndex
CREATE INDEX "reservation_next_window_end_idx" ON "reservation"("next_window_end");

-- CreateIndex
CREATE INDEX "reservation_status_end_idx" ON "reservation"("status", "end");

-- CreateIndex
CREATE INDEX "reservation_device_device_id_idx" ON "reservation_device"("device_id");

-- CreateIndex
CREATE INDEX "device_lock_reservation_id_idx" ON "device_lock"("reservation_id");

-- CreateIndex
CREATE UNIQUE INDEX "issuance_window_idempotency_key_key" ON "issuance_window"("idempotency_key");

-- CreateIndex
CREATE UNIQUE INDEX "issuance_window_reservation_id_window_start_version_key" ON "issuance_window"("reservation_id", "window_start", "version");

-- CreateIndex
CREATE INDEX "reservation_warning_reservation_id_id_idx" ON "reservation_warning"("reservation_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "outbox_id_key" ON "outbox"("id");

-- CreateIndex
CREATE INDEX "outbox_sent_at_seq_idx" ON "outbox"("sent_at", "seq");

-- AddForeignKey
ALTER TABLE "reservation_device" ADD CONSTRAINT "reservation_device_reservation_id_fkey" FOREIGN KEY ("reservation_id") REFERENCES "reservation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "issuance_window" ADD CONSTRAINT "issuance_window_reservation_id_fkey" FOREIGN KEY ("reservation_id") REFERENCES "reservation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reservation_warning" ADD CONSTRAINT "reservation_warning_reservation_id_fkey" FOREIGN KEY ("reservation_id") REFERENCES "reservation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

