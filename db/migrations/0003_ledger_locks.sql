-- Locks in the ledger. Besides the changes of a user's total balance (deposit, withdrawal, trade,
-- fee), the ledger now records every change of what an order holds locked: 'lock' (available to
-- locked, amount > 0: an order placed) and 'unlock' (locked to available, amount < 0: what a
-- fill spends, the excess a buy filling below its limit no longer needs, an amend, what a
-- cancel or an expiry releases). Per user and asset:
--   SUM(amount) of the other kinds                = the engine's available + locked
--   SUM(amount) of the 'lock' and 'unlock' rows   = the engine's locked
-- A lock row belongs to an order event (seq of that event, idx 0) and names the order.

ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check
  CHECK (kind IN ('deposit', 'withdrawal', 'trade', 'fee', 'lock', 'unlock'));
-- The order a row belongs to: the lock rows' order, each trade leg's and fee's own order.
ALTER TABLE ledger ADD COLUMN order_id bigint;

-- What the order holds locked after its last event (quote for buys, base for sells, in asset
-- units): the persister computes the next lock row of an order from it.
ALTER TABLE orders ADD COLUMN locked NUMERIC NOT NULL DEFAULT 0;

-- Orders already open when this runs: a resting buy holds notional(limit, remaining) rounded
-- down to the quote's minor unit, a resting sell its remaining quantity; closed orders hold
-- nothing. Each open order gets one 'lock' row for what it holds, at the seq of its last event
-- (order events had no ledger rows before, so that (seq, 0) is free), so that the lock invariant
-- holds from here on.
UPDATE orders o
SET locked = CASE o.side
               WHEN 'buy' THEN trunc(o.price * (o.quantity - o.filled_quantity), q.decimals)
               ELSE o.quantity - o.filled_quantity
             END
FROM markets m
JOIN assets q ON q.symbol = m.quote
WHERE m.symbol = o.market AND o.status IN ('new', 'partially_filled');

INSERT INTO ledger (seq, idx, user_id, asset, kind, amount, market, order_id, ts)
SELECT o.last_seq, 0, o.user_id, CASE o.side WHEN 'buy' THEN m.quote ELSE m.base END, 'lock',
       o.locked, o.market, o.order_id, o.updated_at
FROM orders o
JOIN markets m ON m.symbol = o.market
WHERE o.locked > 0;
