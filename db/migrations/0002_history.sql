-- The History service's tables: what the engine did, written by the persister from the
-- engine's events stream exactly once (history_progress is the high-water mark of the event
-- seqs already written, updated in the same transaction as the rows). Money and quantities are
-- NUMERIC in asset units (never minor units or ticks), times timestamptz.

CREATE TABLE history_progress (
  id         smallint    PRIMARY KEY CHECK (id = 1),
  last_seq   bigint      NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO history_progress (id, last_seq) VALUES (1, 0);

CREATE TABLE assets (
  symbol   text    PRIMARY KEY,
  decimals integer NOT NULL
);

CREATE TABLE markets (
  symbol       text        PRIMARY KEY,
  base         text        NOT NULL,
  quote        text        NOT NULL,
  tick_size    NUMERIC     NOT NULL,
  lot_size     NUMERIC     NOT NULL,
  min_quantity NUMERIC     NOT NULL,
  min_notional NUMERIC     NOT NULL,
  maker_fee    NUMERIC     NOT NULL,
  taker_fee    NUMERIC     NOT NULL,
  created_at   timestamptz NOT NULL
);

CREATE TABLE users (
  user_id    bigint      PRIMARY KEY,
  created_at timestamptz NOT NULL
);

-- One row per order, updated as it changes.
CREATE TABLE orders (
  order_id              bigint      PRIMARY KEY,
  client_order_id       text,
  user_id               bigint      NOT NULL,
  market                text        NOT NULL,
  side                  text        NOT NULL,
  type                  text        NOT NULL,
  time_in_force         text        NOT NULL,
  post_only             boolean     NOT NULL,
  self_trade_prevention text        NOT NULL,
  price                 NUMERIC,
  quantity              NUMERIC,
  quote_quantity        NUMERIC,
  filled_quantity       NUMERIC     NOT NULL,
  filled_quote_quantity NUMERIC     NOT NULL,
  status                text        NOT NULL,
  close_reason          text,
  created_at            timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  last_seq              bigint      NOT NULL
);
-- GetOrderHistory: a user's orders newest first, optionally per market.
CREATE INDEX orders_user_created ON orders (user_id, created_at DESC, order_id DESC);
CREATE INDEX orders_user_market_created ON orders (user_id, market, created_at DESC, order_id DESC);

CREATE TABLE trades (
  market          text        NOT NULL,
  trade_id        bigint      NOT NULL,
  price           NUMERIC     NOT NULL,
  quantity        NUMERIC     NOT NULL,
  quote_quantity  NUMERIC     NOT NULL,
  taker_side      text        NOT NULL,
  maker_order_id  bigint      NOT NULL,
  maker_user_id   bigint      NOT NULL,
  maker_fee       NUMERIC     NOT NULL,
  maker_fee_asset text        NOT NULL,
  taker_order_id  bigint      NOT NULL,
  taker_user_id   bigint      NOT NULL,
  taker_fee       NUMERIC     NOT NULL,
  taker_fee_asset text        NOT NULL,
  seq             bigint      NOT NULL,
  ts              timestamptz NOT NULL,
  PRIMARY KEY (market, trade_id)
);
-- GetTickers (24h window per market); GetMarketTrades uses the primary key.
CREATE INDEX trades_market_ts ON trades (market, ts);
-- GetUserTrades (fills as maker and as taker, newest first) and GetOrder's fills.
CREATE INDEX trades_maker_user ON trades (maker_user_id, ts DESC, trade_id DESC);
CREATE INDEX trades_taker_user ON trades (taker_user_id, ts DESC, trade_id DESC);
CREATE INDEX trades_maker_order ON trades (maker_order_id);
CREATE INDEX trades_taker_order ON trades (taker_order_id);

-- Every change of a user's total balance (available + locked): deposits, withdrawals, the two
-- legs of each trade settlement and the fee. Per user and asset, SUM(amount) is the balance.
CREATE TABLE ledger (
  seq      bigint      NOT NULL,
  idx      smallint    NOT NULL,
  user_id  bigint      NOT NULL,
  asset    text        NOT NULL,
  kind     text        NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'trade', 'fee')),
  amount   NUMERIC     NOT NULL,
  market   text,
  trade_id bigint,
  ts       timestamptz NOT NULL,
  PRIMARY KEY (seq, idx)
);
-- No RPC reads the ledger yet (it is the audit trail: per user and asset, SUM(amount) equals
-- available + locked in the engine), so it carries only its primary key: a (user_id, asset, seq)
-- index cost about a tenth of the persister's throughput. Add it with the first query by user.

-- OHLCV per market, interval and bucket. first/last_trade_id keep open and close right when
-- buckets are merged across batches.
CREATE TABLE candles (
  market         text        NOT NULL,
  interval       text        NOT NULL,
  open_time      timestamptz NOT NULL,
  close_time     timestamptz NOT NULL,
  open           NUMERIC     NOT NULL,
  high           NUMERIC     NOT NULL,
  low            NUMERIC     NOT NULL,
  close          NUMERIC     NOT NULL,
  volume         NUMERIC     NOT NULL,
  quote_volume   NUMERIC     NOT NULL,
  trades         bigint      NOT NULL,
  first_trade_id bigint      NOT NULL,
  last_trade_id  bigint      NOT NULL,
  PRIMARY KEY (market, interval, open_time)
);
