-- Outbox payloads as text, not json: the payload of reads.recorded (1,000 reads, ~350 KB) is written by the
-- statement that stores the reads, from typed values (src/reads/store.ts), and json checked its syntax once
-- more on insert, about 30 ms for each request of 10,000 reads. The relay sends the text as it is either way
-- (packages/kafka's relay treats text like json), and the tests parse what is published with the contract.
-- (No semicolons in these comments: the schema engine splits the script on them.)
-- AlterTable
ALTER TABLE "outbox" ALTER COLUMN "payload" SET DATA TYPE TEXT;
ALTER TABLE "outbox" ALTER COLUMN "payload" SET COMPRESSION lz4;
