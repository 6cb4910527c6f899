-- The running sessions of one customer (the balance guard sums their running cost at every
-- wallet reading; a customer with one may not be deleted). Keep in step with the other dialect.
--
-- Without it, PostgreSQL without fresh statistics (autovacuum off, or a table that grew faster
-- than it was analyzed) combined the customer index with the partial index of running sessions
-- by connector, reading every running session: 1.5 ms per wallet reading with 19,000 sessions
-- running, which kept PostgreSQL at a full core in a one-hour soak of 19,000 chargers.
CREATE INDEX ix_charging_sessions_customer_active
    ON charging_sessions (customer_id) WHERE status = 'Active';
