-- The charging domain's records: how each session was settled and by whom, the meter-silence
-- flag, and operator corrections of a bill. Keep in step with the PostgreSQL dialect.

-- Who closed the session: 'charger' (its StopTransaction), 'new_transaction' (a new Start on its
-- connector), 'connector_available' / 'charger_reboot' (closed provisionally after the grace
-- period, no Stop having come), 'operator'. A provisional close is billed again, for the
-- difference only, when the charger's own Stop arrives.
ALTER TABLE charging_sessions ADD COLUMN settled_by VARCHAR(30);
ALTER TABLE charging_sessions ADD COLUMN settled_at TEXT;
ALTER TABLE charging_sessions ADD COLUMN settled_by_user_id INTEGER REFERENCES users (id);
ALTER TABLE charging_sessions ADD COLUMN settle_note VARCHAR(255);
ALTER TABLE charging_sessions ADD COLUMN meter_silence_flagged_at TEXT;
UPDATE charging_sessions SET settled_by = 'charger', settled_at = updated_at WHERE status <> 'Active' AND meter_stop_wh IS NOT NULL;

-- A refund or extra charge on a settled session: a wallet ledger entry referencing the session,
-- never an edit of the original debit.
CREATE TABLE session_corrections (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id             INTEGER      NOT NULL REFERENCES charging_sessions (id),
    wallet_transaction_id  INTEGER      NOT NULL REFERENCES wallet_transactions (id),
    kind                   VARCHAR(10)  NOT NULL CHECK (kind IN ('Refund', 'Charge')),
    amount                 INTEGER      NOT NULL CHECK (amount > 0),
    reason                 VARCHAR(255) NOT NULL,
    user_id                INTEGER      REFERENCES users (id),
    created_at             TEXT         NOT NULL
);
CREATE INDEX ix_session_corrections_session ON session_corrections (session_id, id);
