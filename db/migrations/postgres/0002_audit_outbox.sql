-- 0002 for PostgreSQL: nothing. On SQLite this migration adds the audit outbox, through which change
-- events reach audit_events; on PostgreSQL a change inserts its event into audit_events directly.
-- The number is kept so that both engines count their schema versions alike.
SELECT 1;
