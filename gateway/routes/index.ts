/** Every route of /api/v1, in the order the docs list them. */
import type { Route } from '../route';
import { depth } from './depth';
import { health } from './health';
import { klines } from './klines';
import { markets } from './markets';
import { orderAmend } from './order-amend';
import { orderCancel, ordersCancelAll } from './order-cancel';
import { orderCreate } from './order-create';
import { orderGet } from './order-get';
import { orderOpen } from './order-open';
import { ticker, tickers } from './tickers';
import { trades } from './trades';
import { user } from './user';
import { deposit, withdraw } from './user-funds';
import { userOrders, userTrades } from './user-history';
import { userNew } from './user-new';

export const ROUTES: readonly Route[] = [
  health,
  markets,
  depth,
  trades,
  tickers,
  ticker,
  klines,
  userNew,
  user,
  deposit,
  withdraw,
  userOrders,
  userTrades,
  orderCreate,
  orderGet,
  orderCancel,
  orderAmend,
  orderOpen,
  ordersCancelAll,
];
