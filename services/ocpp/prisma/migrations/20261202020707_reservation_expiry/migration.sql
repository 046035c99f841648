-- AlterTable
ALTER TABLE "reservation" ADD COLUMN     "ended_at" TIMESTAMPTZ(3),
ADD COLUMN     "transaction_id" TEXT,
ADD COLUMN     "used_by_id_tag" TEXT;

-- CreateIndex
CREATE INDEX "reservation_state_expires_at_idx" ON "reservation"("state", "expires_at");

