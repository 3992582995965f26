-- A change's audit event commits with the change, into this outbox; the audit writer moves it into
-- audit_events (every 250 ms, and before a listing) together with the journaled read events, in the
-- order of seq, which reads and changes take from one counter. So a commit writes one row at the end
-- of a small table instead of its events' entries in every index of audit_events.
CREATE TABLE audit_outbox (
	seq           INTEGER PRIMARY KEY, -- becomes the event's journal_id
	at            INTEGER NOT NULL,
	org_id        TEXT NOT NULL DEFAULT '',
	actor_id      TEXT NOT NULL DEFAULT '',
	actor_email   TEXT NOT NULL DEFAULT '',
	api_key_id    TEXT NOT NULL DEFAULT '',
	api_key_label TEXT NOT NULL DEFAULT '',
	source        TEXT NOT NULL DEFAULT '',
	client_ip     TEXT NOT NULL DEFAULT '',
	action        TEXT NOT NULL,
	secret_id     TEXT NOT NULL DEFAULT '',
	secret_name   TEXT NOT NULL DEFAULT '',
	target_kind   TEXT NOT NULL DEFAULT '',
	target_id     TEXT NOT NULL DEFAULT '',
	target_name   TEXT NOT NULL DEFAULT '',
	role          TEXT NOT NULL DEFAULT '',
	detail        TEXT NOT NULL DEFAULT ''
);
