-- AlterTable
ALTER TABLE "import_job" ALTER COLUMN "total_rows" DROP NOT NULL,
ALTER COLUMN "total_rows" DROP DEFAULT;

