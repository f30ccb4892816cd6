/** POST /user/deposit and POST /user/withdraw: move an asset in or out of the caller's account. */
import type { Request } from 'express';
import { z } from 'zod';
import { badRequest } from '../errors';
import { balanceJson } from '../mapping';
import { route } from '../route';
import { assetSymbol, BalanceSchema, positiveDecimal } from '../schemas';

const body = z.strictObject({ asset: assetSymbol, amount: positiveDecimal });

const idempotencyHeader = {
  name: 'Idempotency-Key',
  description:
    'Optional, up to 64 characters. A repeat with the same key returns the first result and ' +
    'moves no money again.',
};

function idempotencyKey(value: string | undefined): string {
  if (value === undefined) return '';
  if (!/^[\x21-\x7e]{1,64}$/.test(value)) {
    throw badRequest(
      'INVALID_IDEMPOTENCY_KEY',
      'Idempotency-Key must be 1 to 64 visible ASCII characters',
    );
  }
  return value;
}

/** The gRPC request of a deposit or withdrawal. */
function transfer(userId: string, b: z.output<typeof body>, req: Request) {
  return {
    userId,
    asset: b.asset,
    amount: b.amount,
    idempotencyKey: idempotencyKey(req.get('idempotency-key')),
  };
}

export const deposit = route({
  method: 'post',
  path: '/user/deposit',
  tag: 'account',
  summary: 'Deposit an asset',
  description: 'Credits `amount` to the available balance; answers the new balance of the asset.',
  auth: true,
  body,
  headers: [idempotencyHeader],
  response: BalanceSchema,
  async handle({ userId, body, req, backends }) {
    const res = await backends.engine.deposit(transfer(userId, body, req));
    return balanceJson(res.balance, body.asset);
  },
});

export const withdraw = route({
  method: 'post',
  path: '/user/withdraw',
  tag: 'account',
  summary: 'Withdraw an asset',
  description:
    'Debits `amount` from the available balance (never from funds locked by open orders); ' +
    'more than available is 400 INSUFFICIENT_BALANCE and changes nothing.',
  auth: true,
  body,
  headers: [idempotencyHeader],
  response: BalanceSchema,
  async handle({ userId, body, req, backends }) {
    const res = await backends.engine.withdraw(transfer(userId, body, req));
    return balanceJson(res.balance, body.asset);
  },
});
