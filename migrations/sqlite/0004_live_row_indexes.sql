-- SQLite uses a partial index only when the query's WHERE repeats the index's condition as
-- written. The queries say `deleted = FALSE` (the spelling both databases share), the 0001 indexes
-- said `deleted = 0`, so every lookup of a live point by device_id (each charger connection, boot,
-- StartTransaction and StopTransaction), of a tariff by code and of a customer by phone scanned its
-- whole table. Same indexes, same uniqueness, written the way the queries are.
-- (SQLite only: PostgreSQL proves the implication itself, and its 0001 already says FALSE.)

DROP INDEX uq_tariffs_tariff_id;
CREATE UNIQUE INDEX uq_tariffs_tariff_id ON tariffs (tariff_id) WHERE deleted = FALSE;

DROP INDEX uq_charging_points_device_id;
CREATE UNIQUE INDEX uq_charging_points_device_id ON charging_points (device_id) WHERE deleted = FALSE;

DROP INDEX uq_customers_phone;
CREATE UNIQUE INDEX uq_customers_phone ON customers (phone) WHERE deleted = FALSE;
