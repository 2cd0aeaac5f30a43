/**
 * Which text goes with which training image. Subject photos are captioned with
 * the instance prompt ("a photo of {identifier} {class}") unless the photo
 * carries its own caption; class images with the class prompt. Keeping the
 * identifier rare and the class noun present is what binds the subject to the
 * class prior (DreamBooth §3.2).
 */
import type { TrainJob } from "../../../shared/job.js";
import { expandSubjectPlaceholder } from "../../../shared/params.js";

export interface TrainingPrompts {
  /** One prompt per subject photo, in input order. */
  instance: string[];
  class: string;
}

export interface PromptSources {
  subject: TrainJob["subject"];
  inputs: Pick<TrainJob["inputs"][number], "caption">[];
  params: { instance_prompt: string; prior_preservation: { class_prompt: string } };
}

export function trainingPrompts(job: PromptSources): TrainingPrompts {
  return {
    instance: job.inputs.map((input) =>
      input.caption ? expandSubjectPlaceholder(input.caption, job.subject) : job.params.instance_prompt,
    ),
    class: job.params.prior_preservation.class_prompt,
  };
}
