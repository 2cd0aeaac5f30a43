/**
 * A request schema that validates exactly like its full schema but fills in no
 * defaults. A use case that must tell what a client asked for from what it left
 * to the defaults (a backend refuses only explicit choices it cannot honour)
 * receives the request as sent and resolves the defaults itself. Each default is
 * kept as documentation metadata, so the API description still shows it.
 */
import { z } from "zod";

export function withoutDefaults<T extends z.ZodType>(schema: T): z.ZodType<z.input<T>, z.input<T>> {
  return strip(schema) as z.ZodType<z.input<T>, z.input<T>>;
}

function strip(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodDefault) {
    const value: unknown = schema.def.defaultValue;
    return strip(schema.unwrap() as z.ZodType).optional().meta({ default: value as never });
  }
  if (schema instanceof z.ZodOptional) return strip(schema.unwrap() as z.ZodType).optional();
  if (schema instanceof z.ZodObject) {
    const shape = Object.fromEntries(Object.entries(schema.shape).map(([key, field]) => [key, strip(field as z.ZodType)]));
    const stripped = z.object(shape);
    return schema.def.catchall instanceof z.ZodNever ? stripped.strict() : stripped;
  }
  return schema;
}
