/**
 * The KMS alias grammar, checked locally before any KMS request: `alias/` followed by 1–250 of
 * letters, digits, `/`, `_` and `-`; `alias/aws/…` is reserved for AWS managed keys. Every command
 * that takes an alias (onboard, rotate --new-key, restore --new-key, the wizard) uses this one check,
 * so a bad name never fails after a key was created and material imported.
 */
import { KmsByokError } from './errors.js';

const ALIAS = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;

/** Returns `alias` when KMS would accept it as a new alias name; ERR_INVALID_ARGUMENT (exit 2) otherwise. */
export function assertAliasName(alias: string, flag = '--alias'): string {
  if (!ALIAS.test(alias) || alias.startsWith('alias/aws/')) {
    const why = alias.startsWith('alias/aws/')
      ? 'alias/aws/ is reserved for AWS managed keys'
      : !alias.startsWith('alias/')
        ? 'an alias name starts with alias/'
        : alias.length <= 'alias/'.length
          ? 'the name after alias/ is empty'
          : alias.length > 256
            ? 'longer than 256 characters'
            : 'only letters, digits, / _ and - may follow alias/';
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid ${flag} "${alias}": ${why}`, {
      hint: 'use alias/NAME with letters, digits, / _ - (alias/aws/ is reserved for AWS); nothing was sent to KMS',
    });
  }
  return alias;
}
