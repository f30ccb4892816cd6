-- GetOrder by client order id: a user's orders that carried one, newest first. Partial: orders
-- placed without one (most of a bot's flow) cost the index nothing.
CREATE INDEX orders_user_client_order ON orders (user_id, client_order_id, created_at DESC, order_id DESC)
  WHERE client_order_id IS NOT NULL;
