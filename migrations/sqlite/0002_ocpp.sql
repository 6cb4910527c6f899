-- What the OCPP endpoint needs beyond the core schema. Keep in step with the PostgreSQL dialect.

ALTER TABLE charging_sessions ADD COLUMN anomaly VARCHAR(255);
ALTER TABLE charging_sessions ADD COLUMN meter_last_at TEXT;
-- Authorize and StartTransaction ask "is this tag charging anywhere right now?"; idTags are
-- case-insensitive (OCPP CiString20), so tags and sessions are matched on LOWER(id_tag).
CREATE INDEX ix_charging_sessions_id_tag_active ON charging_sessions (LOWER(id_tag)) WHERE status = 'Active';
CREATE UNIQUE INDEX uq_id_tags_id_tag_ci ON id_tags (LOWER(id_tag));

ALTER TABLE chargers ADD COLUMN status_at TEXT;
ALTER TABLE charging_sessions ADD COLUMN id_tag_status VARCHAR(30);
ALTER TABLE chargers ADD COLUMN firmware_status VARCHAR(30);
ALTER TABLE chargers ADD COLUMN diagnostics_status VARCHAR(30);
