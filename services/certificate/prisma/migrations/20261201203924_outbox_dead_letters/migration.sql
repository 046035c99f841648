-- AlterTable
ALTER TABLE "outbox" ADD COLUMN     "dead_letter_reason" TEXT,
ADD COLUMN     "dead_lettered_at" TIMESTAMPTZ(3),
ADD COLUMN     "enqueued_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

