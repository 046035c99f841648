-- Outbox payloads as json, not jsonb: meter-read messages carry 1,000 reads (~350 KB) each, and jsonb
-- parsed every one on insert and printed it again for the relay (which sends the text as it is).
-- json keeps the text as written, and lz4 compresses it several times faster than the default pglz.
-- (No semicolons in these comments: the schema engine splits the script on them.)
-- AlterTable
ALTER TABLE "outbox" ALTER COLUMN "payload" SET DATA TYPE JSON;
ALTER TABLE "outbox" ALTER COLUMN "payload" SET COMPRESSION lz4;
