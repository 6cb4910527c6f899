-- The running sessions of one connector, found by point and connector (a Start closes those left
-- open; a Stop without its transaction id looks among them). Keep in step with the other dialect.
--
-- Without it, PostgreSQL planned these lookups on the partial index of running sessions by id
-- tag whenever the table was small when the plan was made (a fresh database, a plan cached by
-- a pooled connection), and then read every running session for each Start: quadratic in a
-- network starting at once (19,000 Starts kept PostgreSQL at 180 % CPU for over a minute).
CREATE INDEX ix_charging_sessions_connector_active
    ON charging_sessions (charging_point_id, connector_id) WHERE status = 'Active';
