-- AlterTable
ALTER TABLE "certificate" ADD COLUMN     "bundle_starts" JSONB;

-- CreateTable
CREATE TABLE "device_bundle_counter" (
    "device_id" TEXT NOT NULL,
    "next_id" BIGINT NOT NULL,

    CONSTRAINT "device_bundle_counter_pkey" PRIMARY KEY ("device_id")
);

