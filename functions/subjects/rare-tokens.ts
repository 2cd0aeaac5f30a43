/**
 * Default subject identifiers. DreamBooth (Ruiz et al. 2022, §3.2) names the
 * subject with a *rare* token: a common word ("dog", "red") carries a strong prior
 * that fine-tuning must first unlearn, and a random string of letters is split by
 * the tokenizer into common sub-words that carry priors too. The paper samples
 * short (≤3 character) tokens from the rare end of the vocabulary.
 *
 * We commit a fixed list rather than sampling the vocabulary at run time because
 * the Worker holds no tokenizer. Each entry is 3–4 lowercase letters with no vowel
 * (so it is no English word) built around j/q/x/z, letters that almost never meet
 * in English text, which keeps them at the rare end of a BPE vocabulary. The
 * community favourite "sks" is left out on purpose: it is also a rifle's name and
 * drags that prior into the images.
 */
export const RARE_TOKENS = [
  "zwx", "qxv", "vkz", "bxq", "zjx", "kxv", "xjq", "pqz",
  "wzk", "qxr", "zxp", "jxw", "vqj", "xzb", "kzq", "zqxv",
] as const;

/** Picks one of the rare tokens; `random` is injectable so the choice is testable. */
export function defaultIdentifier(random: () => number = Math.random): string {
  return RARE_TOKENS[Math.floor(random() * RARE_TOKENS.length) % RARE_TOKENS.length];
}
