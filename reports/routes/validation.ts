// Turns fastify's schema failures into one sentence per problem, naming the parameter and what is
// allowed (the house wording, as the blender's): `Unknown parameter "dya". Allowed: day, format`.
import type { ErrorObject } from 'ajv';
import type { FastifyError } from 'fastify';

interface Described {
  description?: string;
  properties?: Record<string, unknown>;
}

export function describeValidation(err: FastifyError): string {
  const issues = (err.validation ?? []) as (ErrorObject & { parentSchema?: Described })[];
  const parts: string[] = [];
  for (const issue of issues) {
    const field = issue.instancePath.split('/').filter(Boolean).join('.');
    let text: string;
    if (issue.keyword === 'additionalProperties') {
      const props = issue.parentSchema?.properties;
      text = `Unknown parameter "${String(issue.params.additionalProperty)}"${props ? `. Allowed: ${Object.keys(props).join(', ')}` : ''}`;
    } else if (issue.keyword === 'required') {
      text = `Missing parameter "${String(issue.params.missingProperty)}"`;
    } else {
      const desc = issue.parentSchema?.description;
      text = `Invalid parameter "${field || err.validationContext || 'request'}": ${issue.message ?? 'is invalid'}${desc ? `. Expected: ${desc}` : ''}`;
    }
    if (!parts.includes(text)) parts.push(text);
  }
  return parts.length === 0 ? err.message : parts.join('; ');
}
