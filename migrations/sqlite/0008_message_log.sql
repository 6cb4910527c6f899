-- The OCPP message log: every frame in and out of a charger (Heartbeats only when asked), written
-- in batches off the hot path and kept EVCMS_MESSAGE_LOG_DAYS days. Keep in step with PostgreSQL.
CREATE TABLE ocpp_messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_point_id  VARCHAR(255) NOT NULL,
    direction        VARCHAR(3)   NOT NULL CHECK (direction IN ('in', 'out')),
    message_type     INTEGER      NOT NULL,  -- 2 CALL, 3 CALLRESULT, 4 CALLERROR, 0 unreadable
    message_id       VARCHAR(255),
    action           VARCHAR(50),
    payload          TEXT         NOT NULL,
    at               TEXT         NOT NULL
);
CREATE INDEX ix_ocpp_messages_charger ON ocpp_messages (charge_point_id, id);
CREATE INDEX ix_ocpp_messages_at ON ocpp_messages (at);
