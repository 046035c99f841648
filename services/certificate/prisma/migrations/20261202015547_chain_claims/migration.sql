-- AlterTable
ALTER TABLE "chain_cursor" ADD COLUMN     "block_hash" TEXT;

-- AlterTable
ALTER TABLE "claim" ADD COLUMN     "block_hash" TEXT,
ADD COLUMN     "block_number" BIGINT;

