-- The message log's time index serves only the hourly pruning (`DELETE … WHERE at < cutoff`;
-- operators read a charger's log through ix_ocpp_messages_charger). Rows arrive in time order, so
-- a BRIN index (a summary per block range) serves that as well as a B-tree, while adding almost
-- nothing to each insert: in a storm of 19,000 chargers the log's inserts were the largest single
-- cost in PostgreSQL. SQLite has no BRIN and keeps its B-tree (see its 0013).
DROP INDEX ix_ocpp_messages_at;
CREATE INDEX ix_ocpp_messages_at ON ocpp_messages USING BRIN (at);
