-- What ingestion keeps in memory from these tables (src/db-changes.ts) is trusted only while it is told of
-- every change: each statement that changes one of them notifies its channel, whichever instance (or
-- operator) ran it, and the listening instances forget what they kept. Statement-level, so a bulk change
-- is one notification (PostgreSQL also folds equal notifications of a transaction into one), and it is
-- delivered when the transaction commits.
--   ingestion_der_scope:  der, device (the acknowledgement path's DERs)
--   ingestion_revocation: revoked_identity, identity_key (the revocation check of every request)
-- The body's semicolons are written \073: the migration runner (Prisma's Wasm schema engine through the
-- pg adapter) cuts a script at every semicolon, even inside quotes.
CREATE FUNCTION notify_change() RETURNS trigger LANGUAGE plpgsql AS
  E'BEGIN PERFORM pg_notify(TG_ARGV[0], TG_TABLE_NAME)\073 RETURN NULL\073 END';

CREATE TRIGGER der_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "der"
  FOR EACH STATEMENT EXECUTE FUNCTION notify_change('ingestion_der_scope');

CREATE TRIGGER device_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "device"
  FOR EACH STATEMENT EXECUTE FUNCTION notify_change('ingestion_der_scope');

CREATE TRIGGER revoked_identity_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "revoked_identity"
  FOR EACH STATEMENT EXECUTE FUNCTION notify_change('ingestion_revocation');

CREATE TRIGGER identity_key_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "identity_key"
  FOR EACH STATEMENT EXECUTE FUNCTION notify_change('ingestion_revocation');
