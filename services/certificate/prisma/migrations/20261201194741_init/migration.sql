-- CreateTable
CREATE TABLE "membership" (
    "org_id" TEXT NOT NULL,
    "identity_id" TEXT NOT NULL,
    "role" TEXT NOT NULL,

    CONSTRAINT "membership_pkey" PRIMARY KEY ("org_id","identity_id")
);

-- CreateTable
CREATE TABLE "reservation" (
    "id" TEXT NOT NULL,
    "buyer_org_id" TEXT NOT NULL,
    "buyer_address" TEXT,
    "status" TEXT NOT NULL,
    "snapshot" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "reservation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "certificate" (
    "id" UUID NOT NULL,
    "request_id" TEXT NOT NULL,
    "reservation_id" TEXT NOT NULL,
    "buyer_org_id" TEXT NOT NULL,
    "owner_address" TEXT NOT NULL,
    "device_ids" TEXT[],
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "period_end" TIMESTAMPTZ(3) NOT NULL,
    "energy_wh" BIGINT NOT NULL,
    "document" JSONB NOT NULL,
    "document_hash" TEXT NOT NULL,
    "issuance_key" TEXT NOT NULL,
    "tier" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "chain_tx_id" BIGINT,
    "token_id" TEXT,
    "tx_hash" TEXT,
    "block_number" BIGINT,
    "failure_reason" TEXT,
    "claimed_wh" BIGINT NOT NULL DEFAULT 0,
    "correlation_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "issued_at" TIMESTAMPTZ(3),
    "confirmed_at" TIMESTAMPTZ(3),

    CONSTRAINT "certificate_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "issuance_log" (
    "id" BIGSERIAL NOT NULL,
    "certificate_id" UUID NOT NULL,
    "request_id" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "detail" JSONB NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "issuance_log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "claim" (
    "id" UUID NOT NULL,
    "certificate_id" UUID NOT NULL,
    "owner_address" TEXT NOT NULL,
    "amount_wh" BIGINT NOT NULL,
    "beneficiary" TEXT NOT NULL,
    "claim_data" JSONB NOT NULL,
    "source" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "chain_tx_id" BIGINT,
    "tx_hash" TEXT,
    "log_index" INTEGER,
    "failure_reason" TEXT,
    "requested_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "claim_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "reservation_log" (
    "id" BIGSERIAL NOT NULL,
    "event_id" UUID NOT NULL,
    "reservation_id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "buyer_address" TEXT NOT NULL,
    "devices_hash" TEXT NOT NULL,
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "period_end" TIMESTAMPTZ(3) NOT NULL,
    "chain_tx_id" BIGINT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reservation_log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "signer_nonce" (
    "signer" TEXT NOT NULL,
    "next_nonce" INTEGER NOT NULL,

    CONSTRAINT "signer_nonce_pkey" PRIMARY KEY ("signer")
);

-- CreateTable
CREATE TABLE "chain_tx" (
    "id" BIGSERIAL NOT NULL,
    "chain_id" INTEGER NOT NULL,
    "signer" TEXT NOT NULL,
    "nonce" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "to" TEXT NOT NULL,
    "data" TEXT NOT NULL,
    "gas_limit" BIGINT NOT NULL,
    "tier" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "max_fee_per_gas" BIGINT NOT NULL,
    "max_priority_fee_per_gas" BIGINT NOT NULL,
    "tx_hash" TEXT NOT NULL,
    "raw_tx" TEXT NOT NULL,
    "attempts" JSONB NOT NULL,
    "last_sent_at" TIMESTAMPTZ(3),
    "priced_at" TIMESTAMPTZ(3) NOT NULL,
    "mined_hash" TEXT,
    "mined_block" BIGINT,
    "mined_block_hash" TEXT,
    "gas_used" BIGINT,
    "failure_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "chain_tx_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "deployment" (
    "chain_id" INTEGER NOT NULL,
    "address" TEXT NOT NULL,
    "tx_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "deployment_pkey" PRIMARY KEY ("chain_id")
);

-- CreateTable
CREATE TABLE "chain_cursor" (
    "name" TEXT NOT NULL,
    "block" BIGINT NOT NULL,

    CONSTRAINT "chain_cursor_pkey" PRIMARY KEY ("name")
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
CREATE INDEX "reservation_buyer_org_id_idx" ON "reservation"("buyer_org_id");

-- CreateIndex
CREATE UNIQUE INDEX "certificate_request_id_key" ON "certificate"("request_id");

-- CreateIndex
CREATE UNIQUE INDEX "certificate_document_hash_key" ON "certificate"("document_hash");

-- CreateIndex
CREATE UNIQUE INDEX "certificate_issuance_key_key" ON "certificate"("issuance_key");

-- CreateIndex
CREATE INDEX "certificate_buyer_org_id_period_start_idx" ON "certificate"("buyer_org_id", "period_start");

-- CreateIndex
CREATE INDEX "certificate_reservation_id_period_start_idx" ON "certificate"("reservation_id", "period_start");

-- CreateIndex
CREATE INDEX "certificate_device_ids_idx" ON "certificate" USING GIN ("device_ids");

-- CreateIndex
CREATE INDEX "certificate_status_created_at_idx" ON "certificate"("status", "created_at");

-- CreateIndex
CREATE INDEX "certificate_chain_tx_id_idx" ON "certificate"("chain_tx_id");

-- CreateIndex
CREATE INDEX "issuance_log_certificate_id_id_idx" ON "issuance_log"("certificate_id", "id");

-- CreateIndex
CREATE INDEX "claim_certificate_id_idx" ON "claim"("certificate_id");

-- CreateIndex
CREATE INDEX "claim_status_idx" ON "claim"("status");

-- CreateIndex
CREATE UNIQUE INDEX "claim_tx_hash_log_index_key" ON "claim"("tx_hash", "log_index");

-- CreateIndex
CREATE UNIQUE INDEX "reservation_log_event_id_key" ON "reservation_log"("event_id");

-- CreateIndex
CREATE INDEX "reservation_log_chain_tx_id_idx" ON "reservation_log"("chain_tx_id");

-- CreateIndex
CREATE INDEX "chain_tx_status_idx" ON "chain_tx"("status");

-- CreateIndex
CREATE UNIQUE INDEX "chain_tx_signer_nonce_key" ON "chain_tx"("signer", "nonce");

-- CreateIndex
CREATE UNIQUE INDEX "outbox_id_key" ON "outbox"("id");

-- CreateIndex
CREATE INDEX "outbox_sent_at_seq_idx" ON "outbox"("sent_at", "seq");

