-- AlterTable
ALTER TABLE "charger_credential" ADD COLUMN     "security_profile" INTEGER NOT NULL DEFAULT 1;

