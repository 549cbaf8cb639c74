// The one wording of a request that fails its route schema, for every service: one sentence per
// Ajv issue, naming the parameter (a dotted path for nested fields) and what is allowed, taken
// from the schema itself (its `description`, the allowed properties, the values of a union of
// literals). Pure; called by the error boundary (core/http-app.ts) on the error path only.
import type { FastifyError } from 'fastify';

interface IssueSchema {
  description?: string;
  properties?: Record<string, unknown>;
  anyOf?: { const?: unknown; enum?: unknown[] }[];
}

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
  parentSchema?: IssueSchema;
  data?: unknown;
}

/** One sentence per schema violation, e.g. `Unknown parameter "page". Allowed: q, n`. */
export function describeValidation(
  err: Pick<FastifyError, 'validation' | 'validationContext' | 'message'>,
): string {
  let issues = (err.validation ?? []) as AjvIssue[];
  // A failed union reports every branch and then itself: keep the union's own sentence.
  const unions = new Set(issues.filter((i) => i.keyword === 'anyOf').map((i) => i.instancePath));
  issues = issues.filter((i) => i.keyword === 'anyOf' || !unions.has(i.instancePath));
  const parts: string[] = [];
  for (const issue of issues) {
    const text = sentence(issue, err.validationContext ?? 'request');
    if (!parts.includes(text)) parts.push(text);
  }
  return parts.length === 0 ? err.message : parts.join('; ');
}

function sentence(issue: AjvIssue, context: string): string {
  const field = issue.instancePath.split('/').filter(Boolean).join('.');
  const within = (name: string) => (field === '' ? name : `${field}.${name}`);
  const schema = issue.parentSchema;
  switch (issue.keyword) {
    case 'additionalProperties': {
      const props = schema?.properties;
      const allowed = props === undefined ? '' : `. Allowed: ${Object.keys(props).join(', ')}`;
      return `Unknown parameter "${within(String(issue.params.additionalProperty))}"${allowed}`;
    }
    case 'required': {
      const name = String(issue.params.missingProperty);
      const desc = (schema?.properties?.[name] as IssueSchema | undefined)?.description;
      return `Missing parameter "${within(name)}"${desc === undefined ? '' : `: ${desc}`}`;
    }
    case 'anyOf': {
      const values = (schema?.anyOf ?? []).flatMap((b) =>
        b.const !== undefined ? [b.const] : (b.enum ?? []),
      );
      if (values.length > 0) return `Invalid parameter "${field}": must be one of: ${values.join(', ')}`;
      break;
    }
  }
  const desc = schema?.description;
  const expected = desc === undefined ? '' : `. Expected: ${desc}`;
  if (field === '') return `Invalid ${context}: ${issue.message ?? 'is invalid'}`;
  // A pattern or format says little to a reader: show what was sent and what is expected instead.
  if ((issue.keyword === 'pattern' || issue.keyword === 'format') && desc !== undefined)
    return `Invalid parameter "${field}": ${JSON.stringify(issue.data)} does not match${expected}`;
  return `Invalid parameter "${field}": ${issue.message ?? 'is invalid'}${expected}`;
}
