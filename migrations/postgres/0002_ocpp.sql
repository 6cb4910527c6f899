-- What the OCPP endpoint needs beyond the core schema.

-- Something about a session an operator should look at (a meter that went backwards, a Stop for a
-- rejected start...). The charger was answered normally; this is where the doubt is kept.
ALTER TABLE charging_sessions ADD COLUMN anomaly VARCHAR(255);
-- The charger time of the latest energy sample applied to a running session's live energy and
-- cost, so samples delivered late never move it backwards.
ALTER TABLE charging_sessions ADD COLUMN meter_last_at TIMESTAMPTZ;
-- Authorize and StartTransaction ask "is this tag charging anywhere right now?"; idTags are
-- case-insensitive (OCPP CiString20), so tags and sessions are matched on LOWER(id_tag).
CREATE INDEX ix_charging_sessions_id_tag_active ON charging_sessions (LOWER(id_tag)) WHERE status = 'Active';
CREATE UNIQUE INDEX uq_id_tags_id_tag_ci ON id_tags (LOWER(id_tag));

-- The charger time of the connector-0 status, so a late StatusNotification never overwrites a newer one.
ALTER TABLE chargers ADD COLUMN status_at TIMESTAMPTZ;
-- The idTag status StartTransaction was answered with, so a repeated Start gets the same answer.
ALTER TABLE charging_sessions ADD COLUMN id_tag_status VARCHAR(30);
-- The latest firmware and diagnostics upload states the charger reported.
ALTER TABLE chargers ADD COLUMN firmware_status VARCHAR(30);
ALTER TABLE chargers ADD COLUMN diagnostics_status VARCHAR(30);
