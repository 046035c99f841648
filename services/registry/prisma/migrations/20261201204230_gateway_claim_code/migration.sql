-- CreateTable
CREATE TABLE "gateway_claim_code" (
    "gateway_id" TEXT NOT NULL,
    "code_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "gateway_claim_code_pkey" PRIMARY KEY ("gateway_id")
);

