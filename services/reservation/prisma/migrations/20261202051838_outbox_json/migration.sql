-- Outbox payloads as json, not jsonb (like meter-read's): the issuance requests (~6 KB, thousands per
-- transaction) were parsed by jsonb on insert, printed again for the relay, and parsed and encoded once
-- more by the relay to take out the spaces jsonb prints. json keeps the text as written and the relay
-- sends it as it is. A type change resets the column's storage, so it is kept uncompressed again (see
-- 20261202021000_outbox_payload_uncompressed).
-- (No semicolons in these comments: the schema engine splits the script on them.)
-- AlterTable
ALTER TABLE "outbox" ALTER COLUMN "payload" SET DATA TYPE JSON;
ALTER TABLE "outbox" ALTER COLUMN "payload" SET STORAGE EXTERNAL;
