-- Sessions are found by status only through the partial indexes of running sessions (by tag,
-- connector and customer); a B-tree on a column of three values served no query better, and the
-- point's index needs no status either. Each costs every Stop an index update (on SQLite, where an
-- UPDATE touches only the indexes of the columns it changes, they were two of five), and on a table
-- without statistics each was one more index PostgreSQL could wrongly scan whole for "the running
-- sessions of …". Keep in step with the other dialect.
DROP INDEX ix_charging_sessions_status;
DROP INDEX ix_charging_sessions_point;
CREATE INDEX ix_charging_sessions_point ON charging_sessions (charging_point_id);
