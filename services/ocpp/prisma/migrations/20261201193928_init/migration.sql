-- CreateTable
CREATE TABLE "charger_device" (
    "id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "site_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "make" TEXT,

    CONSTRAINT "charger_device_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "port_der" (
    "id" TEXT NOT NULL,
    "device_id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "rated_power_w" INTEGER,

    CONSTRAINT "port_der_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "membership" (
    "org_id" TEXT NOT NULL,
    "identity_id" TEXT NOT NULL,
    "role" TEXT NOT NULL,

    CONSTRAINT "membership_pkey" PRIMARY KEY ("org_id","identity_id")
);

-- CreateTable
CREATE TABLE "charge_point" (
    "id" BIGSERIAL NOT NULL,
    "serial_number" VARCHAR(255) NOT NULL,
    "model" VARCHAR(255),
    "vendor" VARCHAR(255),
    "firmware_version" VARCHAR(255),
    "status" VARCHAR(255) NOT NULL DEFAULT 'unknown',
    "last_heartbeat" TIMESTAMPTZ(3),
    "last_updated" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "reported_serial" VARCHAR(255),
    "ocpp_version" TEXT,
    "boot_status" TEXT,
    "booted_at" TIMESTAMPTZ(3),
    "clock_skew_ms" BIGINT,
    "firmware_status" TEXT,
    "diagnostics_status" TEXT,

    CONSTRAINT "charge_point_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "connector" (
    "id" UUID NOT NULL,
    "charge_point_id" VARCHAR(255) NOT NULL,
    "connector_id" INTEGER NOT NULL,
    "status" VARCHAR(255) NOT NULL,
    "error_code" VARCHAR(255),
    "last_updated" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ocpp_status" TEXT,
    "charging_state" TEXT,
    "evse_connector_id" INTEGER,
    "vendor_error_code" TEXT,
    "info" TEXT,
    "status_at" TIMESTAMPTZ(3),
    "energy_register_wh" DOUBLE PRECISION,
    "limit_w" INTEGER,

    CONSTRAINT "connector_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "charging_transaction" (
    "id" BIGSERIAL NOT NULL,
    "charge_point_id" TEXT NOT NULL,
    "connector_id" INTEGER NOT NULL,
    "ocpp_transaction_id" TEXT,
    "start_key" TEXT,
    "id_tag" TEXT,
    "meter_start_wh" DOUBLE PRECISION,
    "meter_stop_wh" DOUBLE PRECISION,
    "last_meter_wh" DOUBLE PRECISION,
    "started_at" TIMESTAMPTZ(3),
    "started_received_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3),
    "ended_received_at" TIMESTAMPTZ(3),
    "stop_reason" TEXT,
    "state" TEXT NOT NULL DEFAULT 'active',
    "last_seq_no" INTEGER,
    "charging_state" TEXT,
    "orphan" BOOLEAN NOT NULL DEFAULT false,
    "clock_skewed" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "charging_transaction_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "transaction_event" (
    "id" BIGSERIAL NOT NULL,
    "transaction_id" BIGINT NOT NULL,
    "event_type" TEXT NOT NULL,
    "seq_no" INTEGER,
    "trigger_reason" TEXT,
    "charger_time" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "offline" BOOLEAN NOT NULL DEFAULT false,
    "meter_wh" DOUBLE PRECISION,
    "power_w" DOUBLE PRECISION,
    "payload" JSONB NOT NULL,

    CONSTRAINT "transaction_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ocpp_message" (
    "charge_point_id" TEXT NOT NULL,
    "message_id" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "content_hash" TEXT NOT NULL,
    "response" JSONB NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ocpp_message_pkey" PRIMARY KEY ("charge_point_id","message_id","action","content_hash")
);

-- CreateTable
CREATE TABLE "charger_log" (
    "id" BIGSERIAL NOT NULL,
    "charge_point_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "payload" JSONB NOT NULL,

    CONSTRAINT "charger_log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "id_tag" (
    "org_id" TEXT NOT NULL,
    "id_tag" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3),
    "parent_id_tag" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "id_tag_pkey" PRIMARY KEY ("org_id","id_tag")
);

-- CreateTable
CREATE TABLE "charger_credential" (
    "charge_point_id" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "set_by" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "charger_credential_pkey" PRIMARY KEY ("charge_point_id")
);

-- CreateTable
CREATE TABLE "charger_session" (
    "charge_point_id" TEXT NOT NULL,
    "instance_id" TEXT NOT NULL,
    "session_id" UUID NOT NULL,
    "ocpp_version" TEXT NOT NULL,
    "connected_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "charger_session_pkey" PRIMARY KEY ("charge_point_id")
);

-- CreateTable
CREATE TABLE "service_instance" (
    "id" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "service_instance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "command_log" (
    "id" UUID NOT NULL,
    "charge_point_id" TEXT NOT NULL,
    "org_id" TEXT,
    "command" TEXT NOT NULL,
    "action" TEXT,
    "params" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "response" JSONB,
    "error_code" TEXT,
    "error_message" TEXT,
    "requested_by" TEXT NOT NULL,
    "correlation_id" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "instance_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),
    "timeout_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "command_log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "reservation" (
    "id" INTEGER NOT NULL,
    "charge_point_id" TEXT NOT NULL,
    "connector_id" INTEGER NOT NULL,
    "id_tag" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'active',
    "command_id" UUID NOT NULL,

    CONSTRAINT "reservation_pkey" PRIMARY KEY ("id")
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
CREATE INDEX "charger_device_org_id_idx" ON "charger_device"("org_id");

-- CreateIndex
CREATE INDEX "port_der_device_id_idx" ON "port_der"("device_id");

-- CreateIndex
CREATE UNIQUE INDEX "charge_point_serial_number_key" ON "charge_point"("serial_number");

-- CreateIndex
CREATE UNIQUE INDEX "connector_charge_point_id_connector_id_key" ON "connector"("charge_point_id", "connector_id");

-- CreateIndex
CREATE INDEX "charging_transaction_charge_point_id_connector_id_state_idx" ON "charging_transaction"("charge_point_id", "connector_id", "state");

-- CreateIndex
CREATE UNIQUE INDEX "charging_transaction_charge_point_id_ocpp_transaction_id_key" ON "charging_transaction"("charge_point_id", "ocpp_transaction_id");

-- CreateIndex
CREATE UNIQUE INDEX "charging_transaction_charge_point_id_start_key_key" ON "charging_transaction"("charge_point_id", "start_key");

-- CreateIndex
CREATE INDEX "transaction_event_transaction_id_charger_time_idx" ON "transaction_event"("transaction_id", "charger_time");

-- CreateIndex
CREATE UNIQUE INDEX "transaction_event_transaction_id_seq_no_key" ON "transaction_event"("transaction_id", "seq_no");

-- CreateIndex
CREATE INDEX "ocpp_message_received_at_idx" ON "ocpp_message"("received_at");

-- CreateIndex
CREATE INDEX "charger_log_charge_point_id_received_at_idx" ON "charger_log"("charge_point_id", "received_at");

-- CreateIndex
CREATE INDEX "charger_session_instance_id_idx" ON "charger_session"("instance_id");

-- CreateIndex
CREATE INDEX "command_log_charge_point_id_created_at_idx" ON "command_log"("charge_point_id", "created_at");

-- CreateIndex
CREATE INDEX "command_log_status_timeout_at_idx" ON "command_log"("status", "timeout_at");

-- CreateIndex
CREATE INDEX "reservation_charge_point_id_idx" ON "reservation"("charge_point_id");

-- CreateIndex
CREATE UNIQUE INDEX "outbox_id_key" ON "outbox"("id");

-- CreateIndex
CREATE INDEX "outbox_sent_at_seq_idx" ON "outbox"("sent_at", "seq");

-- AddForeignKey
ALTER TABLE "connector" ADD CONSTRAINT "connector_charge_point_id_fkey" FOREIGN KEY ("charge_point_id") REFERENCES "charge_point"("serial_number") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transaction_event" ADD CONSTRAINT "transaction_event_transaction_id_fkey" FOREIGN KEY ("transaction_id") REFERENCES "charging_transaction"("id") ON DELETE CASCADE ON UPDATE CASCADE;

