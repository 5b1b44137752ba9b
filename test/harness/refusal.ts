// Tests that expect the API to refuse a request want the typed error itself (its code, reason and
// causes), not just a rejected promise.
import { expect } from 'chai';
import { CellError } from '../../shared/errors.js';

/** The error a request was refused with (fails the test if it succeeded). */
export async function refusal(p: Promise<unknown>): Promise<CellError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CellError) return err;
    throw err;
  }
  expect.fail('the request succeeded, expected a refusal');
}
