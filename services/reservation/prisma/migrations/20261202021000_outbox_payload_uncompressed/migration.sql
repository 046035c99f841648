-- The outbox's payloads (issuance requests, ~6 KB each, thousands per transaction) are kept out of line
-- but not compressed: pglz compressing each on insert and the relay decompressing it cost more than the
-- disk they save (rows are deleted a day after they were sent). Not in schema.prisma (Prisma has no
-- storage setting), so `migrate diff` never reports it.
ALTER TABLE "outbox" ALTER COLUMN "payload" SET STORAGE EXTERNAL;
