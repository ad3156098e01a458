-- deploy/postgres-grants.sql — the one-time Postgres setup for failoverd (DESIGN §10, §13).
--
-- failoverd's Postgres role is NOT a superuser. It gets exactly what the actions
-- postgres.promote and postgres.fence (actions/postgres.c) and the probes need.
--
-- Run it ONCE, as a superuser, on the PRIMARY, in the database that failoverd connects to
-- (the `dbname` of its postgres steps), BEFORE the standbys are cloned from it:
--
--     psql -v ON_ERROR_STOP=1 -d app -f deploy/postgres-grants.sql
--     psql -d app -c '\password failoverd'
--
-- Everything below is stored in the catalogs, so physical replication carries it to every
-- standby (a standby cannot be changed: it is read-only until it is promoted, and that is
-- exactly when these rights are needed). Functions live in each database's own pg_catalog:
-- the EXECUTE grants apply to this database only, which is why it must be failoverd's
-- dbname. The role memberships and the parameter grant are cluster-wide. Running the file
-- again is harmless.
--
-- Requires PostgreSQL 15 or later (GRANT ALTER SYSTEM ON PARAMETER is new in 15).

-- The login role. Its password is set separately (\password above), so that it never sits
-- in a file under version control; failoverd reads it from its `password_file`.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'failoverd') THEN
        CREATE ROLE failoverd LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
    END IF;
END
$$;

-- Where a promoted server records the epoch that promoted it: the one-row table
-- failoverd.epoch (epoch, operation_id, promoted_at), the fencing token read by every
-- later promote. The role owns the schema, so it can create the table itself on first
-- promotion and nothing else in the database needs a grant. (PostgreSQL 15 no longer lets
-- every role create objects in `public`, and the role must not own application tables.)
CREATE SCHEMA IF NOT EXISTS failoverd AUTHORIZATION failoverd;
ALTER SCHEMA failoverd OWNER TO failoverd;

-- postgres.promote: pg_promote() is superuser-only until EXECUTE is granted.
GRANT EXECUTE ON FUNCTION pg_catalog.pg_promote(boolean, integer) TO failoverd;

-- Probes and the RPO gate: replication state and lag (pg_stat_replication rows in full,
-- pg_stat_activity of other roles). pg_last_wal_*_lsn() and pg_is_in_recovery() are
-- public already.
GRANT pg_monitor TO failoverd;

-- postgres.fence, step 1: ALTER SYSTEM SET default_transaction_read_only = on (and the
-- promote's ALTER SYSTEM RESET of it, when it promotes a server that was once fenced).
-- Only this one parameter: the role cannot change any other server setting.
GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only TO failoverd;

-- postgres.fence, step 2: make the new default take effect without a restart.
GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO failoverd;

-- postgres.fence, step 3: pg_terminate_backend() on the application's sessions, so that
-- no transaction that began read-write before the fence goes on writing. Superuser
-- sessions stay out of reach (PostgreSQL allows that to superusers only).
GRANT pg_signal_backend TO failoverd;
