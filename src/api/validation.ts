/**
 * Request validation. Bodies are validated strictly: no type coercion ("12" is not 12), unknown
 * fields refused (schemas set additionalProperties: false), every error reported. Query strings,
 * path parameters and headers arrive as text, so they are coerced to the declared types.
 */
import { Ajv, type Options, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS; its default export arrives wrapped depending on the loader.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    removeAdditional: false,
    useDefaults: true,
    strict: false,
    ...options,
  });
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'example' });
  return ajv;
}

/** Where in `value` a string holds U+0000, as a JSON pointer, or undefined. */
function findNul(value: unknown, pointer: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? pointer : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    const found = findNul(item, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Wraps a compiled schema so that it also refuses the NUL character in any string: no legitimate
 * input holds one, and PostgreSQL cannot store it in text (it would fail the request with a 500).
 */
function refusingNul(validate: ValidateFunction): ValidateFunction {
  const wrapped = function (this: unknown, data: unknown, context?: unknown) {
    if (!(validate as (this: unknown, d: unknown, c?: unknown) => boolean).call(this, data, context)) {
      wrapped.errors = validate.errors;
      return false;
    }
    const at = findNul(data, '');
    wrapped.errors =
      at === undefined
        ? null
        : [
            {
              instancePath: at,
              schemaPath: '#',
              keyword: 'nul',
              params: {},
              message: 'must not contain the NUL character (U+0000)',
            },
          ];
    return at === undefined;
  } as ValidateFunction;
  // Fastify passes the parent object only to validators that carry their schema environment.
  Object.assign(wrapped, { schema: validate.schema, schemaEnv: validate.schemaEnv });
  return wrapped;
}

export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const strictAjv = makeAjv({ coerceTypes: false });
  const coercingAjv = makeAjv({ coerceTypes: 'array' });
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strictAjv : coercingAjv;
    return refusingNul(ajv.compile(schema as object));
  };
}
