-- AlterTable
ALTER TABLE "auth_challenge" ADD COLUMN     "public_key" TEXT,
ALTER COLUMN "identity_id" DROP NOT NULL;

