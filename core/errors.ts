// The one table of error codes (like fastify's FST_ERR_* and undici's UND_ERR_*).
// Every error that crosses a boundary (HTTP answer, CLI exit, log line) carries one of these
// codes, its HTTP status, and whether retrying can help (kafkajs's `retriable` idea).
import { STATUS_CODES } from 'node:http';

export const ERRORS = {
  IM_ERR_CONFIG: { status: 500, retriable: false, message: 'Invalid configuration' },
  IM_ERR_BAD_REQUEST: { status: 400, retriable: false, message: 'Bad request' },
  IM_ERR_BAD_HTTP: { status: 400, retriable: false, message: 'Malformed HTTP request' },
  IM_ERR_BODY_TOO_LARGE: { status: 413, retriable: false, message: 'Request body too large' },
  IM_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    retriable: false,
    message: 'Unsupported Content-Type',
  },
  IM_ERR_HEADERS_TOO_LARGE: {
    status: 431,
    retriable: false,
    message: 'Request line or headers too large',
  },
  IM_ERR_REQUEST_TIMEOUT: { status: 408, retriable: false, message: 'Request not received in time' },
  IM_ERR_METHOD_NOT_ALLOWED: { status: 405, retriable: false, message: 'Method not allowed' },
  IM_ERR_BAD_QUERY: { status: 400, retriable: false, message: 'Bad query' },
  IM_ERR_BAD_CHANGE: { status: 400, retriable: false, message: 'Bad change batch' },
  IM_ERR_BAD_ROW: { status: 400, retriable: false, message: 'Bad snapshot row' },
  IM_ERR_UNAUTHORIZED: { status: 401, retriable: false, message: 'Missing or wrong credentials' },
  IM_ERR_BAD_TOKEN: { status: 400, retriable: false, message: 'Click token does not verify' },
  IM_ERR_NOT_FOUND: { status: 404, retriable: false, message: 'Not found' },
  IM_ERR_NOT_LEADER: { status: 503, retriable: true, message: 'Not the leader' },
  IM_ERR_NOT_READY: { status: 503, retriable: true, message: 'Not ready' },
  IM_ERR_OVERLOADED: { status: 503, retriable: true, message: 'Overloaded' },
  IM_ERR_UPSTREAM_DOWN: { status: 502, retriable: true, message: 'Upstream unavailable' },
  IM_ERR_UPSTREAM_TIMEOUT: { status: 504, retriable: true, message: 'Upstream timed out' },
  IM_ERR_KAFKA_UNAVAILABLE: { status: 503, retriable: true, message: 'Kafka unavailable' },
  IM_ERR_ZK_UNAVAILABLE: { status: 503, retriable: true, message: 'ZooKeeper unavailable' },
  IM_ERR_ZK_NO_NODE: { status: 404, retriable: false, message: 'ZooKeeper node does not exist' },
  IM_ERR_ZK_NODE_EXISTS: { status: 409, retriable: false, message: 'ZooKeeper node already exists' },
  IM_ERR_ZK_BAD_VERSION: {
    status: 409,
    retriable: true,
    message: 'ZooKeeper node changed meanwhile (version)',
  },
  IM_ERR_ZK_NOT_EMPTY: { status: 409, retriable: false, message: 'ZooKeeper node has children' },
  IM_ERR_ZK: { status: 500, retriable: false, message: 'ZooKeeper request failed' },
  IM_ERR_KAFKA: { status: 500, retriable: false, message: 'Kafka request failed' },
  IM_ERR_INDEX_CORRUPT: { status: 500, retriable: false, message: 'Index segment is corrupt' },
  IM_ERR_INDEX_MISSING: { status: 503, retriable: true, message: 'Index version not found' },
  IM_ERR_INFRA: { status: 500, retriable: false, message: 'Server could not be started' },
  IM_ERR_INTERNAL: { status: 500, retriable: false, message: 'Internal error' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class ImatchError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly retriable: boolean;
  readonly details: unknown;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; details?: unknown }) {
    const entry = ERRORS[code];
    super(message ?? entry.message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ImatchError';
    this.code = code;
    this.statusCode = entry.status;
    this.retriable = entry.retriable;
    this.details = options?.details;
  }

  /** The HTTP body of this error: `{statusCode, code, error, message}`; 5xx never leak internals. */
  toBody(): { statusCode: number; code: ErrorCode; error: string; message: string; details?: unknown } {
    const internal = this.statusCode >= 500 && !this.retriable;
    const body: { statusCode: number; code: ErrorCode; error: string; message: string; details?: unknown } = {
      statusCode: this.statusCode,
      code: this.code,
      error: httpReason(this.statusCode),
      message: internal ? ERRORS[this.code].message : this.message,
    };
    if (this.details !== undefined && !internal) body.details = this.details;
    return body;
  }
}

export function isImatchError(err: unknown): err is ImatchError {
  return err instanceof ImatchError;
}

/** The reason phrase of an HTTP status (`Payload Too Large` for 413), never a bare "Error". */
export function httpReason(status: number): string {
  return STATUS_CODES[status] ?? (status >= 500 ? 'Internal Server Error' : 'Bad Request');
}
