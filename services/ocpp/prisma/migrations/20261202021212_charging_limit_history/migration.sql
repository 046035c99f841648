-- CreateTable
CREATE TABLE "charging_limit" (
    "id" BIGSERIAL NOT NULL,
    "charge_point_id" TEXT NOT NULL,
    "connector_id" INTEGER NOT NULL,
    "limit_w" INTEGER NOT NULL,
    "valid_from" TIMESTAMPTZ(3) NOT NULL,
    "valid_to" TIMESTAMPTZ(3),
    "command_id" UUID NOT NULL,
    "ended_by_command_id" UUID,

    CONSTRAINT "charging_limit_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "charging_limit_charge_point_id_connector_id_valid_from_idx" ON "charging_limit"("charge_point_id", "connector_id", "valid_from");

-- The limits in force before the history existed: each becomes a row in force since the connector's last update.
INSERT INTO "charging_limit" ("charge_point_id", "connector_id", "limit_w", "valid_from", "command_id")
SELECT "charge_point_id", "connector_id", "limit_w", "last_updated", gen_random_uuid()
FROM "connector" WHERE "limit_w" IS NOT NULL;
