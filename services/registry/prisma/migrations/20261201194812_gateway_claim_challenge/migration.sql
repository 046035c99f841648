-- AlterTable
ALTER TABLE "auth_challenge" ADD COLUMN     "claim_org_id" TEXT;

