/**
 * The shape of `GET /v1/models` (base-model-catalog.ts fills it): the OpenAPI
 * description and the type the reference app reads it with, in a module without
 * Worker bindings so the app's typecheck can import it.
 */
import { z } from "@hono/zod-openapi";

const Words = z.array(z.string());

const BaseModelSchema = z
  .object({
    id: z.string(),
    default: z.boolean().openapi({ description: "The model a training that names none gets" }),
    resolution: z.number().int(),
    description: z.string(),
    vocabulary: z
      .object({ classes: Words, backgrounds: Words, sizes: Words, other_words: Words })
      .nullable()
      .openapi({ description: "Every word the model was pretrained on; null for an open vocabulary" }),
    suggested_prompt: z.string().openapi({ description: "{subject} becomes the subject's identifier and class noun" }),
    quick_training: z.object({ steps: z.number().int(), num_class_images: z.number().int() }),
    timing: z
      .object({ fixed_s: z.number(), per_step_s: z.number(), per_class_image_s: z.number() })
      .nullable()
      .openapi({ description: "Seconds of a training on the backend's device: fixed + per step + per class image; null when not measured" }),
    base_quality: z
      .object({
        subject_fidelity: z.number(),
        subject_fidelity_normalized: z.number().optional().openapi({ description: "Mean over the benchmark subjects; see QualityReport" }),
        prompt_fidelity: z.number(),
        prior_preservation_similarity: z.number(),
        class_recognized: z.number(),
        diversity: z.number(),
      })
      .nullable()
      .openapi({ description: "The untrained model's scores, to compare a training's `quality` with" }),
  })
  .openapi("BaseModel");

const Price = z.object({ base: z.number().int(), per_step: z.number().int() });

export const BaseModelListSchema = z
  .object({
    backend: z.object({
      name: z.string().openapi({ description: "The backend this key's jobs run on when they name none" }),
      device: z.enum(["gpu", "cpu"]).nullable().openapi({ description: "null: the fake backend, which runs no model" }),
    }),
    default_base_model: z.string(),
    prices: z.object({ training: z.object({ lora: Price, full: Price }), generation: z.object({ per_image: z.number().int() }) }),
    items: z.array(BaseModelSchema),
  })
  .openapi("BaseModelList");
export type BaseModelList = z.infer<typeof BaseModelListSchema>;
