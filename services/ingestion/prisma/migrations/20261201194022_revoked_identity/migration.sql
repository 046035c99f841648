-- CreateTable
CREATE TABLE "revoked_identity" (
    "identity_id" TEXT NOT NULL,
    "revoked_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "revoked_identity_pkey" PRIMARY KEY ("identity_id")
);

