// Bearer-secret check for the BP's requests. Stateless and synchronous. Both sides are hashed
// before the comparison so timingSafeEqual sees equal lengths and the time taken says nothing
// about the secret's length or its first differing byte.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ImatchError } from '../core/errors.js';

/** Throws IM_ERR_UNAUTHORIZED unless `authorization` is exactly "Bearer <secret>". */
export type SecretCheck = (authorization: string | undefined) => void;

export function bearerCheck(secret: string): SecretCheck {
  const expected = digest(secret);
  return (authorization) => {
    const match = authorization === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    if (match === null) {
      throw new ImatchError('IM_ERR_UNAUTHORIZED', 'Missing "Authorization: Bearer <secret>" header');
    }
    if (!timingSafeEqual(digest(match[1]!), expected)) {
      throw new ImatchError('IM_ERR_UNAUTHORIZED', 'Wrong secret');
    }
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
