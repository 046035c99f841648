-- CreateTable
CREATE TABLE "import_job" (
    "id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "uploaded_by" TEXT NOT NULL,
    "file_sha256" TEXT NOT NULL,
    "file_name" TEXT,
    "content" TEXT,
    "options" JSONB NOT NULL DEFAULT '{}',
    "status" TEXT NOT NULL DEFAULT 'queued',
    "total_rows" INTEGER NOT NULL DEFAULT 0,
    "done_rows" INTEGER NOT NULL DEFAULT 0,
    "created_rows" INTEGER NOT NULL DEFAULT 0,
    "updated_rows" INTEGER NOT NULL DEFAULT 0,
    "refused_rows" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "import_job_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "import_row" (
    "job_id" TEXT NOT NULL,
    "line" INTEGER NOT NULL,
    "external_id" TEXT,
    "outcome" TEXT NOT NULL,
    "reason" TEXT,
    "device_id" TEXT,

    CONSTRAINT "import_row_pkey" PRIMARY KEY ("job_id","line")
);

-- CreateIndex
CREATE INDEX "import_job_status_idx" ON "import_job"("status");

-- CreateIndex
CREATE UNIQUE INDEX "import_job_org_id_file_sha256_key" ON "import_job"("org_id", "file_sha256");

-- AddForeignKey
ALTER TABLE "import_row" ADD CONSTRAINT "import_row_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "import_job"("id") ON DELETE CASCADE ON UPDATE CASCADE;

