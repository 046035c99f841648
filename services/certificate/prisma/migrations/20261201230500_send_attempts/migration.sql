-- MAX_SEND_ATTEMPTS: work whose transaction cannot be prepared (RPC errors) is counted, then given up.
ALTER TABLE "certificate" ADD COLUMN "send_attempts" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "claim" ADD COLUMN "send_attempts" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "reservation_log" ADD COLUMN "send_attempts" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "failure_reason" TEXT;
