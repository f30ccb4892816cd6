-- Snapshots of the whole engine state. Each covers the command journal up to stream_id
-- (inclusive) and command_seq; on start the engine loads the newest and replays the rest.
CREATE TABLE engine_snapshots (
  id          bigserial PRIMARY KEY,
  command_seq bigint      NOT NULL,
  stream_id   text        NOT NULL,
  event_seq   bigint      NOT NULL,
  state       json        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX engine_snapshots_command_seq ON engine_snapshots (command_seq DESC);
