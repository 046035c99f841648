-- CreateTable
CREATE TABLE "reserved_device" (
    "reservation_id" TEXT NOT NULL,
    "device_id" TEXT NOT NULL,
    "buyer_org_id" TEXT NOT NULL,
    "available_again_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "reserved_device_pkey" PRIMARY KEY ("reservation_id","device_id")
);

-- CreateIndex
CREATE INDEX "reserved_device_device_id_idx" ON "reserved_device"("device_id");

