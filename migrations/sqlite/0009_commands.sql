-- Remote commands (the 19 central-system operations of OCPP 1.6) and what they change: every
-- command with who sent it and its outcome; reservations; the local authorization list as sent;
-- charging profiles; the configuration as last read; firmware updates and diagnostics uploads;
-- the balance guard's marks on a session. Keep in step with PostgreSQL.

CREATE TABLE charger_commands (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_point_id        VARCHAR(255) NOT NULL,
    action                 VARCHAR(50)  NOT NULL,
    request                TEXT         NOT NULL,
    -- Pending until answered; Answered (a CALLRESULT, its payload in response), CallError,
    -- Timeout, Offline (not connected), Busy (too many queued), Disconnected (mid-call).
    status                 VARCHAR(20)  NOT NULL CHECK (status IN ('Pending', 'Answered', 'CallError', 'Timeout', 'Offline', 'Busy', 'Disconnected')),
    response               TEXT,
    error_code             VARCHAR(50),
    error_description      TEXT,
    -- 'user' (requested_by_user_id says who) or 'balance_guard'.
    requested_by           VARCHAR(20)  NOT NULL,
    requested_by_user_id   BIGINT       REFERENCES users (id),
    session_id             BIGINT       REFERENCES charging_sessions (id),
    created_at             TEXT         NOT NULL,
    answered_at            TEXT       
);
CREATE INDEX ix_charger_commands_charger ON charger_commands (charge_point_id, id);

-- The OCPP reservationId is this row's id.
CREATE TABLE reservations (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_point_id    VARCHAR(255) NOT NULL,
    connector_number   INTEGER      NOT NULL CHECK (connector_number >= 0),
    id_tag             VARCHAR(20)  NOT NULL,
    parent_id_tag      VARCHAR(20),
    expiry_date        TEXT         NOT NULL,
    -- Requested (sent, no answer yet), Accepted, the charger's refusal (Faulted, Occupied,
    -- Rejected, Unavailable) or a failed command (Failed), Cancelled, Used (by a StartTransaction).
    -- An Accepted one past its expiry is shown Expired.
    status             VARCHAR(20)  NOT NULL,
    session_id         BIGINT       REFERENCES charging_sessions (id),
    command_id         BIGINT       REFERENCES charger_commands (id),
    created_at         TEXT         NOT NULL,
    updated_at         TEXT         NOT NULL
);
CREATE INDEX ix_reservations_charger ON reservations (charge_point_id, id);

-- The local authorization list each charger was last sent (accepted), entry by entry.
CREATE TABLE local_list_entries (
    charge_point_id    VARCHAR(255) NOT NULL,
    id_tag             VARCHAR(20)  NOT NULL,
    status             VARCHAR(20)  NOT NULL,
    expiry_date        TEXT       ,
    parent_id_tag      VARCHAR(20),
    PRIMARY KEY (charge_point_id, id_tag)
);
CREATE TABLE local_lists (
    charge_point_id    VARCHAR(255) PRIMARY KEY,
    -- The version of the list the charger accepted last (sent_version when the last send was
    -- accepted), and what GetLocalListVersion last reported.
    version            INTEGER      NOT NULL,
    sent_at            TEXT       ,
    reported_version   INTEGER,
    reported_at        TEXT       
);

CREATE TABLE charging_profiles (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_point_id      VARCHAR(255) NOT NULL,
    connector_number     INTEGER      NOT NULL,
    charging_profile_id  INTEGER      NOT NULL,
    stack_level          INTEGER      NOT NULL,
    purpose              VARCHAR(30)  NOT NULL,
    profile              TEXT         NOT NULL,
    valid_to             TEXT       ,
    command_id           BIGINT       REFERENCES charger_commands (id),
    created_at           TEXT         NOT NULL,
    cleared_at           TEXT       
);
CREATE INDEX ix_charging_profiles_charger ON charging_profiles (charge_point_id, cleared_at);

CREATE TABLE charger_configuration (
    charge_point_id    VARCHAR(255) NOT NULL,
    key                VARCHAR(50)  NOT NULL,
    value              VARCHAR(500),
    readonly           BOOLEAN      NOT NULL DEFAULT 0,
    -- Known (as read or accepted), RebootRequired (accepted, effective after a reboot), Unknown
    -- (the charger reported it does not have the key).
    status             VARCHAR(20)  NOT NULL,
    updated_at         TEXT         NOT NULL,
    PRIMARY KEY (charge_point_id, key)
);

-- Firmware images operators upload; chargers download them from /ocpp-files/firmware/{token}.
CREATE TABLE firmware_files (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    file_name      VARCHAR(255) NOT NULL,
    size_bytes     BIGINT       NOT NULL,
    storage_key    VARCHAR(255) NOT NULL,
    token          VARCHAR(64)  NOT NULL CONSTRAINT uq_firmware_files_token UNIQUE,
    uploaded_by    BIGINT       REFERENCES users (id),
    created_at     TEXT         NOT NULL,
    deleted_at     TEXT       
);

CREATE TABLE firmware_updates (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_point_id    VARCHAR(255) NOT NULL,
    firmware_file_id   BIGINT       REFERENCES firmware_files (id),
    location           TEXT         NOT NULL,
    retrieve_date      TEXT         NOT NULL,
    -- Requested, then the charger's FirmwareStatusNotification statuses.
    status             VARCHAR(30)  NOT NULL,
    command_id         BIGINT       REFERENCES charger_commands (id),
    created_at         TEXT         NOT NULL,
    updated_at         TEXT         NOT NULL
);
CREATE INDEX ix_firmware_updates_charger ON firmware_updates (charge_point_id, id);

-- A GetDiagnostics request: the charger uploads to /ocpp-files/diagnostics/{token}.
CREATE TABLE diagnostics_requests (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_point_id    VARCHAR(255) NOT NULL,
    token              VARCHAR(64)  NOT NULL CONSTRAINT uq_diagnostics_requests_token UNIQUE,
    location           TEXT         NOT NULL,
    -- Requested, then the charger's DiagnosticsStatusNotification statuses.
    status             VARCHAR(30)  NOT NULL,
    file_name          VARCHAR(255),
    storage_key        VARCHAR(255),
    size_bytes         BIGINT,
    uploaded_at        TEXT       ,
    command_id         BIGINT       REFERENCES charger_commands (id),
    created_at         TEXT         NOT NULL,
    updated_at         TEXT         NOT NULL
);
CREATE INDEX ix_diagnostics_requests_charger ON diagnostics_requests (charge_point_id, id);

-- The balance guard: when it asked the charger to stop the session, and when an operator must
-- look because the charger refused or could not be reached.
ALTER TABLE charging_sessions ADD COLUMN guard_stop_requested_at TEXT       ;
ALTER TABLE charging_sessions ADD COLUMN guard_note VARCHAR(255);
ALTER TABLE charging_sessions ADD COLUMN guard_flagged_at TEXT       ;
