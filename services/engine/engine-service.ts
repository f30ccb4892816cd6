/**
 * `exchange.v1.EngineService` over grpc-js: every state-changing call becomes a command in the
 * journal and answers once the matching loop has applied it; queries read the loop's core.
 * Every handler is wrapped once (`unary`), so a failure is always a status with the stable error
 * code, never a hung call.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  status,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import {
  type AddMarketRequest,
  type AddMarketResponse,
  EngineServiceService,
  MarketDataChannel,
  type EngineServiceServer,
  type OrderEntryRequest,
  type OrderEntryResponse,
  PlaceOrderBatchesResponse,
  type PlaceOrderBatchesRequest,
  type PlaceOrderRequest,
  type PlaceOrderResponse,
  type PlaceOrdersResponse,
  type StreamMarketDataRequest,
  type StreamMarketDataResponse,
} from '../../gen/exchange/v1/engine';
import type { Order as POrder, RequestError } from '../../gen/exchange/v1/common';
import {
  type CommandBody,
  DomainError,
  MAX_LOTS,
  decimalToSteps,
  type Outcome,
  parseScaled,
} from './core';
import type { CommandJournal } from './command-journal';
import type { MatchingLoop } from './matching-loop';
import { type PlacedOrder, ReplyWriter } from './reply-writer';
import {
  balanceToProto,
  levelsToProto,
  marketToProto,
  orderToProto,
  parseOrderId,
  sideToProto,
  toPlaceCommand,
} from './proto-mapping';
import type { Logger } from '../lib/logger';
import type { RedisKeys } from '../lib/redis-keys';
import type { RedisManager } from '../lib/redis-manager';
import { ServiceFailure, invalidArgument, toServiceError, unary } from '../lib/grpc/status';

const MAX_DEPTH = 5000;
const MAX_BATCH = 5000;

/**
 * The service's definition for grpc-js: the generated one, except that PlaceOrder, PlaceOrders,
 * PlaceOrderBatches and OrderEntry may answer with bytes the handler already wrote
 * (ReplyWriter), passed on as they are.
 */
export const engineServiceDefinition: typeof EngineServiceService = {
  ...EngineServiceService,
  placeOrder: passingBytes(EngineServiceService.placeOrder),
  placeOrders: passingBytes(EngineServiceService.placeOrders),
  orderEntry: passingBytes(EngineServiceService.orderEntry),
  placeOrderBatches: passingBytes(EngineServiceService.placeOrderBatches),
};

/** A method whose serializer passes a reply that is already bytes on as it is. */
function passingBytes<M extends { responseSerialize: (value: never) => Buffer }>(method: M): M {
  return {
    ...method,
    responseSerialize: (value: Parameters<M['responseSerialize']>[0]) =>
      Buffer.isBuffer(value) ? value : method.responseSerialize(value),
  };
}

/** A reply already in wire bytes, for a method whose serializer passes bytes on (see above). */
const preEncoded = <T>(bytes: Buffer): T => bytes as unknown as T;

export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex');
}

/** The outcome's reply, or its refusal thrown. */
function replyOf(outcome: Outcome) {
  if (outcome.error !== null) throw outcome.error;
  return outcome.reply;
}

function deadlineCheck(call: ServerUnaryCall<unknown, unknown>): void {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  if (Number.isFinite(ms) && ms > 0 && ms <= Date.now()) throw deadlinePassed();
}

const deadlinePassed = (): ServiceFailure =>
  new ServiceFailure(
    status.DEADLINE_EXCEEDED,
    'DEADLINE_EXCEEDED',
    'the deadline passed before the request was taken',
  );

const batchTooLarge = (): ServiceFailure =>
  invalidArgument('BATCH_TOO_LARGE', `at most ${MAX_BATCH} orders per batch`);

function requestError(err: unknown, log: Logger): RequestError {
  const e = toServiceError(err, log, 'batch');
  const code = /^([A-Z_]+): /.exec(e.details ?? '')?.[1] ?? 'INTERNAL';
  return {
    code,
    message: (e.details ?? '').replace(/^[A-Z_]+: /, ''),
    grpcCode: e.code ?? status.INTERNAL,
  };
}

/**
 * The long-lived order streams (PlaceOrderBatches) open on this engine, so that a shutdown can
 * end them: the server waits for every open call before it stops, and a client's stream never
 * ends on its own.
 */
export class OpenStreams {
  private readonly enders = new Set<() => Promise<void>>();

  /** @internal `end` answers what the stream has taken, then ends it. */
  add(end: () => Promise<void>): () => void {
    this.enders.add(end);
    return () => this.enders.delete(end);
  }

  /** Ends every open stream once it has answered what it took. */
  async endAll(): Promise<void> {
    await Promise.all([...this.enders].map((end) => end()));
  }
}

export function createEngineService(deps: {
  journal: CommandJournal;
  loop: MatchingLoop;
  redis: RedisManager;
  keys: RedisKeys;
  log: Logger;
  /** Where the PlaceOrderBatches streams are kept, for the server's stop to end them. */
  streams: OpenStreams;
}): EngineServiceServer {
  const { journal, loop, redis, keys, log, streams } = deps;
  const core = () => loop.core;

  /** AddMarket's work (see the handler: calls are run one at a time, in arrival order). */
  let marketChanges: Promise<unknown> = Promise.resolve();
  const addMarket = async (req: AddMarketRequest): Promise<AddMarketResponse> => {
    const m = req.market;
    if (m?.baseAsset === undefined || m.quoteAsset === undefined) {
      throw invalidArgument('INVALID_MARKET', 'a market needs base_asset and quote_asset');
    }
    const commands: CommandBody[] = [];
    for (const asset of [m.baseAsset, m.quoteAsset]) {
      const known = core()
        .assetViews()
        .find((a) => a.symbol === asset.symbol);
      if (known === undefined)
        commands.push({ type: 'add_asset', symbol: asset.symbol, decimals: asset.decimals });
      else if (known.decimals !== asset.decimals) {
        throw invalidArgument(
          'INVALID_ASSET',
          `asset ${asset.symbol} has ${known.decimals} decimals, not ${asset.decimals}`,
        );
      }
    }
    commands.push({
      type: 'add_market',
      symbol: m.symbol,
      base: m.baseAsset.symbol,
      quote: m.quoteAsset.symbol,
      tickSize: m.tickSize,
      lotSize: m.lotSize,
      minQuantity: m.minQuantity,
      minNotional: m.minNotional,
      makerFee: m.makerFee,
      takerFee: m.takerFee,
    });
    const outcomes = await journal.submitAll(commands);
    for (const o of outcomes) replyOf(o);
    return { market: marketToProto(core().market(m.symbol)) };
  };

  const replies = new ReplyWriter();

  /** The placed order of an order's outcome, or its refusal thrown. */
  const placedOf = (outcome: Outcome): PlacedOrder => {
    const reply = replyOf(outcome);
    if (reply.kind !== 'order') throw new Error(`unexpected reply ${reply.kind}`);
    return reply;
  };

  /**
   * Journals the commands of several requests as one batch (one waiter) and answers each in its
   * place: a request refused before the journal, by the journal or by the core gets its error,
   * the others are unaffected.
   */
  const answerEach = async <Req, Answer>(
    requests: readonly Req[],
    toCommand: (req: Req) => CommandBody,
    answer: (req: Req, outcome: Outcome) => Answer,
    refuse: (req: Req, err: unknown) => Answer,
  ): Promise<Answer[]> => {
    const answers = new Array<Answer>(requests.length);
    const commands: CommandBody[] = [];
    const positions: number[] = [];
    requests.forEach((req, i) => {
      try {
        commands.push(toCommand(req));
        positions.push(i);
      } catch (err) {
        answers[i] = refuse(req, err);
      }
    });
    const outcomes = await journal.submitBatch(commands);
    outcomes.forEach((outcome, k) => {
      const i = positions[k];
      try {
        if (outcome instanceof ServiceFailure) throw outcome;
        answers[i] = answer(requests[i], outcome);
      } catch (err) {
        answers[i] = refuse(requests[i], err);
      }
    });
    return answers;
  };

  /** Places a batch of orders (as one journal entry); the PlaceOrdersResponse's bytes. */
  const placeBatch = async (orders: readonly PlaceOrderRequest[]): Promise<Buffer> => {
    const results = await answerEach<PlaceOrderRequest, PlacedOrder | RequestError>(
      orders,
      (order) => toPlaceCommand(core(), order),
      (_order, outcome) => placedOf(outcome),
      (_order, err) => requestError(err, log),
    );
    return replies.placeOrders(core(), results);
  };

  const orderOf = (outcome: Outcome): POrder => {
    const reply = replyOf(outcome);
    if (reply.kind !== 'order') throw new Error(`unexpected reply ${reply.kind}`);
    return orderToProto(core(), reply.order);
  };

  const cancelCommand = (
    userId: string,
    ref: { $case: 'orderId' | 'clientOrderId'; value: string } | undefined,
  ): CommandBody => {
    if (ref === undefined)
      throw invalidArgument('INVALID_ORDER', 'give an order_id or a client_order_id');
    return ref.$case === 'orderId'
      ? { type: 'cancel_order', userId, orderId: parseOrderId(ref.value) }
      : { type: 'cancel_order', userId, clientOrderId: ref.value };
  };

  const transfer = async (
    type: 'deposit' | 'withdraw',
    req: { userId: string; asset: string; amount: string; idempotencyKey: string },
  ) => {
    const asset = core().asset(req.asset);
    const amount = parseScaled(req.amount, asset.decimals, 'INVALID_AMOUNT', 'amount');
    if (amount === 0n) throw new DomainError('INVALID_AMOUNT', 'amount must be greater than zero');
    const reply = replyOf(
      await journal.submit({
        type,
        userId: req.userId,
        asset: asset.symbol,
        amount,
        idempotencyKey: req.idempotencyKey === '' ? undefined : req.idempotencyKey,
      }),
    );
    if (reply.kind !== 'balance') throw new Error(`unexpected reply ${reply.kind}`);
    return { balance: balanceToProto(core(), reply.balance) };
  };

  return {
    createUser: unary(log, 'CreateUser', async (_req, call) => {
      deadlineCheck(call);
      const apiKey = `ek_${randomBytes(24).toString('base64url')}`;
      const reply = replyOf(
        await journal.submit({ type: 'create_user', apiKeyHash: hashApiKey(apiKey) }),
      );
      if (reply.kind !== 'user') throw new Error(`unexpected reply ${reply.kind}`);
      return { userId: reply.userId, apiKey };
    }),

    authenticate: unary(log, 'Authenticate', (req) => {
      const userId =
        req.apiKey === '' ? undefined : core().userIdForKeyHash(hashApiKey(req.apiKey));
      if (userId === undefined)
        throw new ServiceFailure(status.UNAUTHENTICATED, 'UNAUTHENTICATED', 'unknown API key');
      return { userId };
    }),

    deposit: unary(log, 'Deposit', (req, call) => {
      deadlineCheck(call);
      return transfer('deposit', req);
    }),

    withdraw: unary(log, 'Withdraw', (req, call) => {
      deadlineCheck(call);
      return transfer('withdraw', req);
    }),

    placeOrder: unary(log, 'PlaceOrder', async (req, call) => {
      deadlineCheck(call);
      const outcome = await journal.submit(toPlaceCommand(core(), req));
      return preEncoded<PlaceOrderResponse>(replies.placeOrder(core(), placedOf(outcome)));
    }),

    placeOrders: unary(log, 'PlaceOrders', async (req, call) => {
      deadlineCheck(call);
      if (req.orders.length > MAX_BATCH) throw batchTooLarge();
      return preEncoded<PlaceOrdersResponse>(await placeBatch(req.orders));
    }),

    placeOrderBatches: (
      call: ServerDuplexStream<PlaceOrderBatchesRequest, PlaceOrderBatchesResponse>,
    ) => {
      // Each batch is journaled as it arrives, as one PlaceOrders call would be; the answers go
      // out in request order, each after the one before it. A batch past its deadline when it
      // is taken is refused whole, as a call past its deadline is.
      let tail: Promise<void> = Promise.resolve();
      let ended = false;
      const end = async () => {
        ended = true;
        await tail;
        if (!call.cancelled && !call.destroyed) call.end();
      };
      const forget = streams.add(end);
      const refused = (req: PlaceOrderBatchesRequest, failure: ServiceFailure) =>
        Promise.resolve<PlaceOrderBatchesResponse>({
          results: [],
          batchId: req.batchId,
          error: requestError(failure, log),
        });
      call.on('data', (req: PlaceOrderBatchesRequest) => {
        if (ended) return; // the stream is ending: the client fails what it still waits for
        const deadline = Number(req.deadline);
        const answered: Promise<PlaceOrderBatchesResponse> =
          deadline > 0 && deadline <= Date.now()
            ? refused(req, deadlinePassed())
            : req.orders.length > MAX_BATCH
              ? refused(req, batchTooLarge())
              : placeBatch(req.orders).then((results) =>
                  // A PlaceOrdersResponse is this message's field 1: its bytes and those of the
                  // batch id make the whole message.
                  preEncoded<PlaceOrderBatchesResponse>(
                    Buffer.concat([
                      results,
                      PlaceOrderBatchesResponse.encode({
                        results: [],
                        batchId: req.batchId,
                      }).finish(),
                    ]),
                  ),
                );
        // Handled below, in turn; marked handled now so that a rejection before then is not
        // taken for an unhandled one (which would end the process).
        answered.catch(() => undefined);
        tail = tail
          .then(async () => {
            const response = await answered;
            if (!call.cancelled && !call.destroyed) call.write(response);
          })
          .catch((err: unknown) => {
            // Not expected (every refusal is an answer): end the stream with the status rather
            // than leave it waiting. grpc-js ends a server stream when the call emits 'error'.
            if (!call.cancelled && !call.destroyed) {
              call.emit('error', toServiceError(err, log, 'PlaceOrderBatches'));
            }
          });
      });
      call.on('end', () => {
        forget();
        void end();
      });
      call.on('error', () => undefined);
      call.on('close', forget);
      call.on('cancelled', forget);
    },

    orderEntry: (call: ServerDuplexStream<OrderEntryRequest, OrderEntryResponse>) => {
      // The requests that arrive together (before the next turn of the event loop) are
      // journaled as one batch, with one waiter, like a PlaceOrders call; answers go out in
      // request order, each batch's after the one before it.
      let pending: OrderEntryRequest[] = [];
      let scheduled = false;
      let tail: Promise<void> = Promise.resolve();
      const toCommand = (req: OrderEntryRequest): CommandBody => {
        const action = req.action;
        if (action?.$case === 'place') return toPlaceCommand(core(), action.value);
        if (action?.$case === 'cancel')
          return cancelCommand(action.value.userId, action.value.orderRef);
        throw invalidArgument('INVALID_REQUEST', 'a request needs place or cancel');
      };
      const answer = (req: OrderEntryRequest, outcome: Outcome): OrderEntryResponse =>
        req.action?.$case === 'place'
          ? preEncoded<OrderEntryResponse>(
              replies.orderEntryPlaced(core(), req.requestId, placedOf(outcome)),
            )
          : {
              requestId: req.requestId,
              result: { $case: 'cancelled', value: { order: orderOf(outcome) } },
            };
      const refuse = (req: OrderEntryRequest, err: unknown): OrderEntryResponse => ({
        requestId: req.requestId,
        result: { $case: 'error', value: requestError(err, log) },
      });
      const flush = () => {
        scheduled = false;
        if (pending.length === 0) return;
        const answered = answerEach(pending, toCommand, answer, refuse);
        // Handled below, in turn; marked handled now so that a rejection before then is not
        // taken for an unhandled one (which would end the process).
        answered.catch(() => undefined);
        pending = [];
        tail = tail
          .then(async () => {
            for (const response of await answered) {
              if (!call.cancelled && !call.destroyed) call.write(response);
            }
          })
          .catch((err: unknown) => {
            // Not expected (every refusal is an answer): end the stream with the status rather
            // than leave it waiting. grpc-js ends a server stream when the call emits 'error'.
            if (!call.cancelled && !call.destroyed) {
              call.emit('error', toServiceError(err, log, 'OrderEntry'));
            }
          });
      };
      call.on('data', (req: OrderEntryRequest) => {
        pending.push(req);
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
      call.on('end', () => {
        flush();
        void tail.then(() => call.end());
      });
      call.on('error', () => undefined);
    },

    cancelOrder: unary(log, 'CancelOrder', async (req, call) => {
      deadlineCheck(call);
      return { order: orderOf(await journal.submit(cancelCommand(req.userId, req.orderRef))) };
    }),

    cancelAllOrders: unary(log, 'CancelAllOrders', async (req, call) => {
      deadlineCheck(call);
      const reply = replyOf(
        await journal.submit({
          type: 'cancel_all',
          userId: req.userId,
          market: req.market === '' ? undefined : req.market,
        }),
      );
      if (reply.kind !== 'orders') throw new Error(`unexpected reply ${reply.kind}`);
      const c = core();
      return { orders: reply.orders.map((o) => orderToProto(c, o)) };
    }),

    amendOrder: unary(log, 'AmendOrder', async (req, call) => {
      deadlineCheck(call);
      const orderId = parseOrderId(req.orderId);
      const current = orderId === undefined ? undefined : core().order(req.userId, orderId);
      if (current === undefined) throw new DomainError('ORDER_NOT_FOUND', 'order not found');
      const market = core().market(current.market);
      const quantity = decimalToSteps(
        req.newQuantity,
        market.lot,
        MAX_LOTS,
        'INVALID_QUANTITY',
        'new quantity',
      );
      return {
        order: orderOf(
          await journal.submit({ type: 'amend_order', userId: req.userId, orderId, quantity }),
        ),
      };
    }),

    addMarket: unary(log, 'AddMarket', (req, call) => {
      deadlineCheck(call);
      // One at a time, each after the previous one is applied: each reads which assets exist
      // before journaling, and two new markets sharing a new asset would otherwise both journal
      // its add_asset (the second refused, its market added anyway, its caller answered 409).
      const added = marketChanges.then(() => {
        // Its turn may come after its caller stopped waiting: then it adds nothing.
        if (call.cancelled) throw new ServiceFailure(status.CANCELLED, 'CANCELLED', 'cancelled');
        deadlineCheck(call);
        return addMarket(req);
      });
      marketChanges = added.catch(() => undefined);
      return added;
    }),

    getOrder: unary(log, 'GetOrder', (req) => {
      const ref = req.orderRef;
      if (ref === undefined)
        throw invalidArgument('INVALID_ORDER', 'give an order_id or a client_order_id');
      const c = core();
      const view =
        ref.$case === 'orderId'
          ? loop.order(req.userId, parseOrderId(ref.value) ?? -1)
          : loop.orderByClientId(req.userId, ref.value);
      if (view === undefined) throw new DomainError('ORDER_NOT_FOUND', 'order not found');
      return { order: orderToProto(c, view) };
    }),

    getOpenOrders: unary(log, 'GetOpenOrders', (req) => {
      const c = core();
      if (req.market !== undefined && req.market !== '') c.market(req.market);
      return {
        orders: c
          .openOrders(req.userId, req.market === '' ? undefined : req.market)
          .map((o) => orderToProto(c, o)),
      };
    }),

    getBalances: unary(log, 'GetBalances', (req) => {
      const c = core();
      return { balances: c.balances(req.userId).map((b) => balanceToProto(c, b)) };
    }),

    getDepth: unary(log, 'GetDepth', (req) => {
      const c = core();
      const m = c.market(req.market);
      const limit = req.limit === 0 ? 100 : req.limit;
      if (limit > MAX_DEPTH)
        throw invalidArgument('INVALID_LIMIT', `limit must be at most ${MAX_DEPTH}`);
      const d = c.depth(m.symbol, limit);
      return {
        market: d.market,
        lastUpdateId: String(d.lastUpdateId),
        bids: levelsToProto(m, d.bids),
        asks: levelsToProto(m, d.asks),
      };
    }),

    getMarkets: unary(log, 'GetMarkets', () => {
      const c = core();
      return {
        markets: [...c.markets.values()]
          .map(marketToProto)
          .sort((a, b) => a.symbol.localeCompare(b.symbol)),
      };
    }),

    streamMarketData: (
      call: ServerWritableStream<StreamMarketDataRequest, StreamMarketDataResponse>,
    ) => {
      void streamMarketData(call, { core, redis, keys, log });
    },
  };
}

async function streamMarketData(
  call: ServerWritableStream<StreamMarketDataRequest, StreamMarketDataResponse>,
  deps: { core: () => MatchingLoop['core']; redis: RedisManager; keys: RedisKeys; log: Logger },
): Promise<void> {
  const { core, redis, keys, log } = deps;
  const unsubscribes: (() => Promise<void>)[] = [];
  const stop = () => {
    for (const u of unsubscribes.splice(0)) void u();
  };
  call.on('cancelled', stop);
  call.on('close', stop);
  try {
    const markets = call.request.markets;
    if (markets.length === 0) throw invalidArgument('INVALID_MARKET', 'name at least one market');
    for (const m of markets) core().market(m);
    const wanted = new Set(
      call.request.channels.length === 0
        ? [
            MarketDataChannel.MARKET_DATA_CHANNEL_DEPTH,
            MarketDataChannel.MARKET_DATA_CHANNEL_TRADE,
            MarketDataChannel.MARKET_DATA_CHANNEL_TICKER,
          ]
        : call.request.channels,
    );
    for (const market of markets) {
      const forward = (message: string) => {
        if (call.cancelled || call.destroyed) return;
        for (const update of JSON.parse(message) as Record<string, unknown>[]) {
          const event = toStreamEvent(update);
          if (event !== undefined) call.write({ market, event });
        }
      };
      if (wanted.has(MarketDataChannel.MARKET_DATA_CHANNEL_DEPTH))
        unsubscribes.push(await redis.subscribe(keys.depth(market), forward));
      if (wanted.has(MarketDataChannel.MARKET_DATA_CHANNEL_TRADE))
        unsubscribes.push(await redis.subscribe(keys.trades(market), forward));
      if (wanted.has(MarketDataChannel.MARKET_DATA_CHANNEL_TICKER))
        unsubscribes.push(await redis.subscribe(keys.ticker(market), forward));
    }
    if (call.cancelled) stop();
  } catch (err) {
    stop();
    // grpc-js ends a server stream with a status when the call emits 'error'.
    call.emit('error', toServiceError(err, log, 'StreamMarketData'));
  }
}

/** A pub/sub message (REST field names) as a stream event. */
function toStreamEvent(m: Record<string, unknown>): StreamMarketDataResponse['event'] {
  const str = (k: string) => String(m[k] ?? '');
  switch (m.e) {
    case 'depth':
      return {
        $case: 'depth',
        value: {
          market: str('market'),
          firstUpdateId: str('firstUpdateId'),
          lastUpdateId: str('lastUpdateId'),
          bids: (m.bids as [string, string][]).map(([price, quantity]) => ({ price, quantity })),
          asks: (m.asks as [string, string][]).map(([price, quantity]) => ({ price, quantity })),
          eventTime: str('ts'),
        },
      };
    case 'trade':
      return {
        $case: 'trade',
        value: {
          tradeId: str('tradeId'),
          market: str('market'),
          price: str('price'),
          quantity: str('quantity'),
          quoteQuantity: str('quoteQuantity'),
          takerSide: sideToProto(m.takerSide === 'buy' ? 'buy' : 'sell'),
          timestamp: str('ts'),
        },
      };
    case 'ticker':
      return {
        $case: 'ticker',
        value: {
          market: str('market'),
          last: str('last'),
          open: str('open'),
          high: str('high'),
          low: str('low'),
          change: str('change'),
          changePercent: str('changePercent'),
          volume: str('volume'),
          quoteVolume: str('quoteVolume'),
          trades: str('trades'),
          openTime: str('openTime'),
          closeTime: str('closeTime'),
        },
      };
    default:
      return undefined;
  }
}
