/**
 * The quality report of a training (`reports/quality.json`, artifact format "report"): DreamBench's
 * measures computed by the backend on the training's own subject right after training, with a judge
 * network that ships with the base model. The Worker stores the file like any artifact and returns
 * it parsed as `quality` in GET /v1/trainings/:id; backends whose base model has no judge upload none.
 */
import { z } from "zod";

export const QUALITY_REPORT_NAME = "reports/quality.json";

const unit = z.number().min(-1).max(1);

export const QualityPromptResultSchema = z.object({
  prompt: z.string(),
  /** recontextualisation (background), property (size), or the plain class prompt (prior). */
  kind: z.enum(["recontextualization", "property", "class"]),
  images: z.number().int().positive(),
  /** Mean cosine of the generations' subject features to the photos'. */
  subject_fidelity: unit,
  /** Fraction of generations the judge finds satisfying the prompt's context (background/size/class). */
  prompt_fidelity: z.number().min(0).max(1),
  /** Mean pairwise feature distance among this prompt's generations (0 = all alike). */
  diversity: z.number().min(0).max(2),
});

export const QualityReportSchema = z.object({
  version: z.literal(1),
  base_model: z.string(),
  subject: z.object({ identifier: z.string(), class_noun: z.string() }),
  /** DINO / CLIP-I analogue over every subject prompt: mean cosine(generated, photo after a VAE round trip). */
  subject_fidelity: unit,
  /**
   * (subject_fidelity − prior) / (ceiling − prior): 0 = no more like the subject than the base model's
   * own drawing of the class, 1 = as alike as the subject's photos are to each other (after the VAE).
   * Absent when the bounds cannot be measured (a class the base model has no drawing of, one photo)
   * or give no range (ceiling ≤ prior: the judge cannot tell this subject from its class).
   */
  subject_fidelity_normalized: z.number().optional(),
  /** The raw scores the normalised fidelity is read between (same judge, photos after a VAE round trip). */
  fidelity_bounds: z.object({ prior: unit, ceiling: unit }).optional(),
  /** CLIP-T analogue: fraction of subject-prompt generations satisfying their prompt's context. */
  prompt_fidelity: z.number().min(0).max(1),
  /** PRES: cosine of "a {class}" generations to the subject (lower = less language drift). */
  prior_preservation_similarity: unit,
  /** Fraction of "a {class}" generations the judge still names as the class. */
  class_recognized: z.number().min(0).max(1),
  /** DIV: mean pairwise distance among generations of the same subject prompt. */
  diversity: z.number().min(0).max(2),
  judge: z.object({ name: z.string(), note: z.string() }),
  sampling: z.object({ scheduler: z.string(), steps: z.number().int(), guidance_scale: z.number(), seeds: z.array(z.number().int()) }),
  prompts: z.array(QualityPromptResultSchema),
});
export type QualityReport = z.infer<typeof QualityReportSchema>;
export type QualityPromptResult = z.infer<typeof QualityPromptResultSchema>;
