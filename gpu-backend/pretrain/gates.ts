/**
 * The v2 base model's gates (issue 13) as one pure function from measurements to verdicts, so
 * `npm run pretrain:gate` prints and records exactly the rules the model card quotes:
 *   - codec: round-trip PSNR on held-out Twemoji scenes at least 4 dB above the previous VAE's;
 *   - codec: the judge names the class of ≥ 60 % of Twemoji class scenes after a round trip;
 *   - prior: ≥ 60 % class accuracy on held-out class × background prompts;
 *   - prior: ≥ 50 % of "a photo of a {class}" renders recognised as that class.
 */
export interface GateMeasures {
  roundTripPsnr: number;
  baselineRoundTripPsnr: number;
  twemojiClassAfterRoundTrip: number;
  heldOutPairClass: number;
  classPhotoRecognised: number;
}

export interface GateVerdict {
  gate: string;
  value: number;
  threshold: number;
  pass: boolean;
}

export function gateVerdicts(measures: GateMeasures): GateVerdict[] {
  const rule = (gate: string, value: number, threshold: number): GateVerdict => ({ gate, value, threshold, pass: value >= threshold });
  return [
    rule("round-trip PSNR on held-out Twemoji scenes, dB above the previous VAE", measures.roundTripPsnr - measures.baselineRoundTripPsnr, 4),
    rule("judge names the Twemoji class after a round trip", measures.twemojiClassAfterRoundTrip, 0.6),
    rule("class accuracy on held-out class × background prompts", measures.heldOutPairClass, 0.6),
    rule('"a photo of a {class}" renders recognised as the class', measures.classPhotoRecognised, 0.5),
  ];
}
