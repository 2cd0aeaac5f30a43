/**
 * The model card (`README.md`) of a full fine-tune's diffusers folder. The base model's card, judge and
 * benchmark describe the base model, not this one, so they are not copied; this card says what the
 * folder is: which subject under which name, trained from which base model with which parameters,
 * which step was exported, and how well it did on the training's own quality report. Hugging Face
 * reads the YAML front matter (`library_name`, `tags`, `instance_prompt`, as its DreamBooth cards have).
 */
import type { SelectedCheckpoint } from "../../../shared/checkpoint-selection.js";
import type { TrainJob } from "../../../shared/job.js";
import type { QualityReport } from "../../../shared/quality.js";

export interface TrainedModelFacts {
  baseModel: string;
  subject: TrainJob["subject"];
  params: TrainJob["params"];
  photos: number;
  quality: QualityReport | undefined;
  selected: SelectedCheckpoint;
}

const percent = (value: number) => `${(value * 100).toFixed(1)} %`;

function qualitySection(quality: QualityReport | undefined): string[] {
  if (!quality) return ["Not measured: the base model has no judge for this subject's class (see the base model's card)."];
  return [
    `Measured right after training on the subject's own photos (${quality.judge.name}: ${quality.judge.note}).`,
    "",
    "| measure | value |",
    "|---|---|",
    `| subject fidelity ↑ | ${quality.subject_fidelity.toFixed(3)} |`,
    `| prompt fidelity ↑ | ${percent(quality.prompt_fidelity)} |`,
    `| prior drift (PRES) ↓ | ${quality.prior_preservation_similarity.toFixed(3)} |`,
    `| class kept ↑ | ${percent(quality.class_recognized)} |`,
    `| diversity (DIV) ↑ | ${quality.diversity.toFixed(3)} |`,
  ];
}

export function trainedModelCard(facts: TrainedModelFacts): string {
  const { subject, params, selected } = facts;
  const name = `${subject.identifier} ${subject.class_noun}`;
  const prior = params.prior_preservation;
  return [
    "---",
    "library_name: diffusers",
    "tags: [text-to-image, stable-diffusion, dreambooth]",
    `instance_prompt: ${JSON.stringify(params.instance_prompt)}`,
    "---",
    `# DreamBooth: "${name}" on ${facts.baseModel}`,
    "",
    `A full fine-tune of the base model \`${facts.baseModel}\` (UNet${params.train_text_encoder ? " and text encoder" : ""}) ` +
      `on ${facts.photos} photos of one ${subject.class_noun}, which prompts call "${name}". ` +
      "The base model's licence and notices apply to this folder too (LICENSE, NOTICE where present).",
    "",
    "## Use",
    "",
    "```python",
    "from diffusers import StableDiffusionPipeline",
    'pipe = StableDiffusionPipeline.from_pretrained("path/to/this/folder")',
    `image = pipe(${JSON.stringify(`a photo of ${name} on the beach`)}).images[0]`,
    "```",
    "",
    "## Training",
    "",
    "| | |",
    "|---|---|",
    `| base model | ${facts.baseModel} |`,
    `| subject | ${subject.class_noun}, identifier "${subject.identifier}" |`,
    `| instance prompt | ${params.instance_prompt} |`,
    `| steps | ${params.steps}, batch ${params.batch_size}, ${params.resolution} px |`,
    `| learning rate | ${params.learning_rate} (${params.lr_schedule}, warmup ${params.lr_warmup_steps}) |`,
    `| prior preservation | ${prior.enabled ? `λ = ${prior.weight}, ${prior.num_class_images} images of "${prior.class_prompt}"` : "off"} |`,
    `| seed | ${params.seed} |`,
    `| exported step | ${selected.step} (${selected.reason}) |`,
    "",
    "All parameters:",
    "",
    "```json",
    JSON.stringify(params, null, 2),
    "```",
    "",
    "## Quality",
    "",
    ...qualitySection(facts.quality),
    "",
  ].join("\n");
}
