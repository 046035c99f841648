-- AlterTable
ALTER TABLE "refresh_token" ADD COLUMN     "key_id" TEXT;

-- CreateIndex
CREATE INDEX "refresh_token_key_id_idx" ON "refresh_token"("key_id");

