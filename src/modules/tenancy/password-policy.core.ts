import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary } from '@zxcvbn-ts/language-common';

/**
 * Password policy beyond length: zxcvbn's guessability score over the common-password lists
 * (`@zxcvbn-ts/language-common`: the most used passwords, keyboard walks, sequences, dates).
 * Scores run 0 (in the top lists) to 4; a new password needs at least MIN_PASSWORD_SCORE.
 */
export const MIN_PASSWORD_SCORE = 3;

let factory: ZxcvbnFactory | undefined;
// Built on first use: the dictionaries take a few tens of milliseconds to index.
const zxcvbn = (): ZxcvbnFactory => (factory ??= new ZxcvbnFactory({ dictionary, graphs: adjacencyGraphs }));

const HINTS: Record<string, string> = {
  topTen: 'it is one of the ten most used passwords',
  topHundred: 'it is one of the hundred most used passwords',
  common: 'it is a commonly used password',
  similarToCommon: 'it is a small change to a commonly used password',
  wordByItself: 'a single word is easy to guess',
  straightRow: 'a row of keys is easy to guess',
  keyPattern: 'a keyboard pattern is easy to guess',
  simpleRepeat: 'repeated characters are easy to guess',
  extendedRepeat: 'repeated patterns are easy to guess',
  sequences: 'a sequence like abc or 123 is easy to guess',
  recentYears: 'recent years are easy to guess',
  dates: 'dates are easy to guess',
};

/**
 * Why a password is refused, as a sentence for the user, or undefined when it is strong enough.
 */
export function weakPasswordReason(password: string): string | undefined {
  const result = zxcvbn().check(password.slice(0, 256));
  if (result.score >= MIN_PASSWORD_SCORE) return undefined;
  const why = (result.feedback.warning && HINTS[result.feedback.warning]) || 'it is too easy to guess';
  return `This password is too weak: ${why}. Use a longer passphrase of several unrelated words, or a password manager's random password.`;
}
