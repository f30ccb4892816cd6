/** POST /order: place an order; answers it with the fills it got on arrival. */
import { z } from 'zod';
import {
  SIDE_TO_PROTO,
  STP_TO_PROTO,
  TIF_TO_PROTO,
  TYPE_TO_PROTO,
} from '../../services/lib/proto-enums';
import { fillJson, orderJson } from '../mapping';
import { route } from '../route';
import {
  clientOrderIdString,
  FillSchema,
  marketSymbol,
  OrderSchema,
  positiveDecimal,
  sideWord,
  stpWord,
  tifWord,
  typeWord,
} from '../schemas';

export const orderCreate = route({
  method: 'post',
  path: '/order',
  tag: 'orders',
  summary: 'Place an order',
  description:
    'LIMIT orders need `price` and `quantity`; MARKET sells need `quantity`; MARKET buys take ' +
    'exactly one of `quantity` and `quoteQuantity` (the quote amount to spend). Funds are locked ' +
    'on placement and released exactly on fill, cancel or expiry. Repeating the `clientOrderId` ' +
    'of an open order answers that order instead of placing a new one.',
  auth: true,
  status: 201,
  body: z.strictObject({
    market: marketSymbol,
    side: sideWord,
    type: typeWord,
    price: positiveDecimal.optional(),
    quantity: positiveDecimal.optional(),
    quoteQuantity: positiveDecimal.optional(),
    timeInForce: tifWord.optional(),
    postOnly: z.boolean().optional(),
    clientOrderId: clientOrderIdString.optional(),
    selfTradePrevention: stpWord.optional(),
  }),
  response: z.object({ order: OrderSchema, fills: z.array(FillSchema) }),
  async handle({ userId, body, backends }) {
    const res = await backends.placeOrder({
      userId,
      market: body.market,
      side: SIDE_TO_PROTO[body.side],
      type: TYPE_TO_PROTO[body.type],
      price: body.price,
      quantity: body.quantity,
      quoteQuantity: body.quoteQuantity,
      timeInForce: body.timeInForce === undefined ? 0 : TIF_TO_PROTO[body.timeInForce],
      postOnly: body.postOnly ?? false,
      clientOrderId: body.clientOrderId,
      selfTradePrevention:
        body.selfTradePrevention === undefined ? 0 : STP_TO_PROTO[body.selfTradePrevention],
    });
    if (res.order === undefined) throw new Error('engine answered PlaceOrder without an order');
    return { order: orderJson(res.order), fills: res.fills.map(fillJson) };
  },
});
