// The schema of every error answer (ImatchError.toBody() in core/errors.ts), declared once for the
// routes' response serializers and the OpenAPI documents.
import { type Static, Type } from '@sinclair/typebox';

export const ErrorBody = Type.Object(
  {
    statusCode: Type.Integer({ description: 'The HTTP status, repeated' }),
    code: Type.String({ description: 'The error code of core/errors.ts, e.g. IM_ERR_BAD_QUERY' }),
    error: Type.String({ description: 'The HTTP reason phrase, e.g. Bad Request' }),
    message: Type.String({ description: 'What was wrong and what is allowed' }),
    details: Type.Optional(Type.Unknown()),
  },
  { description: 'An error: {statusCode, code, error, message}' },
);
export type ErrorBody = Static<typeof ErrorBody>;
