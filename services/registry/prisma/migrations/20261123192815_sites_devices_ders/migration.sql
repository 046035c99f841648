-- CreateTable
CREATE TABLE "site" (
    "id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "address" TEXT,
    "timezone" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "site_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device" (
    "id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "site_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "name" TEXT NOT NULL,
    "make" TEXT,
    "model" TEXT,
    "comm_identity_id" TEXT,
    "external_id" TEXT,
    "address" TEXT,
    "latitude" DOUBLE PRECISION,
    "longitude" DOUBLE PRECISION,
    "country_code" TEXT,
    "postal_code" TEXT,
    "fuel_code" TEXT,
    "device_type_code" TEXT,
    "capacity" DOUBLE PRECISION,
    "commissioning_date" DATE,
    "grid_interconnection" BOOLEAN,
    "energy_storage" BOOLEAN NOT NULL DEFAULT false,
    "energy_storage_capacity" DOUBLE PRECISION,
    "off_taker" TEXT,
    "yield_value" DOUBLE PRECISION,
    "quality_labels" TEXT,
    "sdg_benefits" INTEGER NOT NULL DEFAULT 0,
    "impact_story" TEXT,
    "images" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "integrator" TEXT,
    "description" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "device_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device_log" (
    "id" SERIAL NOT NULL,
    "device_id" TEXT NOT NULL,
    "field" TEXT NOT NULL,
    "old_value" TEXT,
    "new_value" TEXT,
    "changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "changed_by" TEXT NOT NULL,

    CONSTRAINT "device_log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "der" (
    "id" TEXT NOT NULL,
    "device_id" TEXT NOT NULL,
    "der_type" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "rated_power_w" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "der_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "gateway_claim" (
    "gateway_id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "site_id" TEXT,
    "claimed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "claimed_by" TEXT NOT NULL,

    CONSTRAINT "gateway_claim_pkey" PRIMARY KEY ("gateway_id")
);

-- CreateIndex
CREATE INDEX "site_org_id_idx" ON "site"("org_id");

-- CreateIndex
CREATE INDEX "device_org_id_site_id_idx" ON "device"("org_id", "site_id");

-- CreateIndex
CREATE INDEX "device_comm_identity_id_idx" ON "device"("comm_identity_id");

-- CreateIndex
CREATE UNIQUE INDEX "device_org_id_external_id_key" ON "device"("org_id", "external_id");

-- CreateIndex
CREATE INDEX "device_log_device_id_changed_at_idx" ON "device_log"("device_id", "changed_at");

-- CreateIndex
CREATE INDEX "der_device_id_idx" ON "der"("device_id");

-- CreateIndex
CREATE INDEX "gateway_claim_org_id_idx" ON "gateway_claim"("org_id");

-- AddForeignKey
ALTER TABLE "site" ADD CONSTRAINT "site_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device" ADD CONSTRAINT "device_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device" ADD CONSTRAINT "device_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "site"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device_log" ADD CONSTRAINT "device_log_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "device"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "der" ADD CONSTRAINT "der_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "device"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "gateway_claim" ADD CONSTRAINT "gateway_claim_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

