-- CreateTable
CREATE TABLE "charger_registration" (
    "charge_point_id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "decided_by" TEXT NOT NULL,
    "decided_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "charger_registration_pkey" PRIMARY KEY ("charge_point_id")
);

