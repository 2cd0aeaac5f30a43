/**
 * A diffusers `scheduler/scheduler_config.json`, as a zod schema with SD1.5's values as defaults
 * (DDPM training schedule: 1000 steps, `scaled_linear` betas 0.00085–0.012, "leading" spacing with
 * `steps_offset` 1, ε prediction). Every sampler reads the same file, exactly as diffusers lets one
 * swap schedulers on a pipeline; fields we do not use pass through.
 */
import { z } from "zod";

export const SchedulerConfigSchema = z.looseObject({
  num_train_timesteps: z.number().int().positive().default(1000),
  beta_start: z.number().positive().default(0.00085),
  beta_end: z.number().positive().default(0.012),
  beta_schedule: z.enum(["scaled_linear", "linear"]).default("scaled_linear"),
  prediction_type: z.enum(["epsilon", "v_prediction"]).default("epsilon"),
  timestep_spacing: z.enum(["leading", "trailing", "linspace"]).default("leading"),
  steps_offset: z.number().int().min(0).default(1),
  set_alpha_to_one: z.boolean().default(false),
  clip_sample: z.boolean().default(false),
  clip_sample_range: z.number().positive().default(1),
});
export type SchedulerConfig = z.infer<typeof SchedulerConfigSchema>;

/** SD1.5's scheduler config (what `SchedulerConfigSchema.parse({})` gives). */
export const SD15_SCHEDULER_CONFIG: SchedulerConfig = SchedulerConfigSchema.parse({});
