-- CreateTable
CREATE TABLE "meter_read_day" (
    "device_id" TEXT NOT NULL,
    "day" TIMESTAMPTZ(3) NOT NULL,
    "energy_wh" BIGINT NOT NULL,
    "reads" INTEGER NOT NULL,

    CONSTRAINT "meter_read_day_pkey" PRIMARY KEY ("device_id","day")
);

