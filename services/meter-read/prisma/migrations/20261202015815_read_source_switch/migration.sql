-- CreateTable
CREATE TABLE "device_read_source" (
    "device_id" TEXT NOT NULL,
    "from_at" TIMESTAMPTZ(3) NOT NULL,
    "source" TEXT NOT NULL,
    "switched_by" TEXT NOT NULL,
    "switched_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "device_read_source_pkey" PRIMARY KEY ("device_id","from_at")
);

