-- Roles hold permissions (see package auth); the built-in ones cannot be changed.
CREATE TABLE roles (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    description text NOT NULL DEFAULT '',
    permissions text[] NOT NULL,
    is_system   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO roles (name, description, permissions, is_system) VALUES
    ('admin', 'everything', '{*}', true),
    ('operator', 'runs the cluster: roots, jobs, plans, schedules, the monitoring dashboard read-only',
     '{roots.view,roots.manage,jobs.view,jobs.submit,jobs.cancel,files.view,files.delete,plans.execute,schedules.view,schedules.manage,monitoring.view}', true),
    ('viewer', 'reads roots, jobs, the catalog and schedules', '{roots.view,jobs.view,files.view,schedules.view}', true);

-- Users log in with a password, stored as an argon2id hash.
CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    email         text NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    role_id       bigint NOT NULL REFERENCES roles(id),
    is_active     boolean NOT NULL DEFAULT true,
    last_login_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- API keys fo_<id>_<secret>: only the SHA-256 of the secret is kept.
CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         text NOT NULL,
    secret_hash  bytea NOT NULL,
    scopes       text[] NOT NULL DEFAULT '{}', -- permissions the key is limited to; empty: the user's
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

-- Login sessions: refresh tokens rt_<id>_<secret>, hashed; rotated on each refresh.
CREATE TABLE sessions (
    id          text PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret_hash bytea NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
