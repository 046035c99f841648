-- DropIndex
DROP INDEX "reservation_charge_point_id_idx";

-- AlterTable
ALTER TABLE "reservation" DROP CONSTRAINT "reservation_pkey",
ADD CONSTRAINT "reservation_pkey" PRIMARY KEY ("charge_point_id", "id");

