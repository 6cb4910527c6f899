-- What the OCPP endpoint needs beyond the core schema. Keep in step with the PostgreSQL dialect.

ALTER TABLE charging_sessions ADD COLUMN anomaly VARCHAR(255);
ALTER TABLE charging_sessions ADD COLUMN meter_last_at TEXT;
CREATE INDEX ix_charging_sessions_id_tag_active ON charging_sessions (id_tag) WHERE status = 'Active';

ALTER TABLE chargers ADD COLUMN status_at TEXT;
ALTER TABLE charging_sessions ADD COLUMN id_tag_status VARCHAR(30);
ALTER TABLE chargers ADD COLUMN firmware_status VARCHAR(30);
ALTER TABLE chargers ADD COLUMN diagnostics_status VARCHAR(30);
