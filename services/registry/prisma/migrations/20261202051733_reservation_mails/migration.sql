-- CreateTable
CREATE TABLE "reservation_notice" (
    "reservation_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "buyer_org_id" TEXT NOT NULL,
    "buyer_org_name" TEXT NOT NULL,
    "start" TIMESTAMPTZ(3) NOT NULL,
    "end" TIMESTAMPTZ(3) NOT NULL,
    "frequency" TEXT NOT NULL,
    "timezone" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "reservation_notice_pkey" PRIMARY KEY ("reservation_id")
);

-- CreateTable
CREATE TABLE "mail_outbox" (
    "event_id" UUID NOT NULL,
    "org_id" TEXT NOT NULL,
    "recipient" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "sent_at" TIMESTAMPTZ(3),
    "failed_at" TIMESTAMPTZ(3),

    CONSTRAINT "mail_outbox_pkey" PRIMARY KEY ("event_id","org_id","recipient")
);

-- CreateIndex
CREATE INDEX "mail_outbox_sent_at_failed_at_next_attempt_at_idx" ON "mail_outbox"("sent_at", "failed_at", "next_attempt_at");

