-- AlterTable
ALTER TABLE "claim" ADD COLUMN     "tier" TEXT;

