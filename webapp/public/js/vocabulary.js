// @ts-check
/**
 * What the base model can draw, in the words of its captions: prompts it
 * understands and the words of a prompt it does not know (the embedded
 * tiny-emoji model knows 32 emoji classes, 8 background colours and 2 size
 * words, and ignores everything else). Pure, so it is tested without a browser.
 */

/** @typedef {{ classes: string[], backgrounds: string[], sizes: string[], other_words: string[] }} Vocabulary */

/** The words of a prompt as the model's tokenizer splits them, `{subject}` left out (it is the subject). @param {string} prompt */
function promptWords(prompt) {
  return prompt.replaceAll("{subject}", " ").toLowerCase().match(/\p{L}+/gu) ?? [];
}

/**
 * Words of `prompt` outside the vocabulary, once each, in order; the subject's identifier and class noun count as known.
 * @param {string} prompt
 * @param {Vocabulary | null} vocabulary  null: an open vocabulary, every word is known
 * @param {{ identifier: string, class_noun: string }} subject
 */
export function unknownWords(prompt, vocabulary, subject) {
  if (!vocabulary) return [];
  const known = new Set([...Object.values(vocabulary).flat(), subject.identifier.toLowerCase(), subject.class_noun.toLowerCase()]);
  return [...new Set(promptWords(prompt).filter((word) => !known.has(word)))];
}

/**
 * A few prompts the model understands: the suggested one, then the subject on other backgrounds and sizes.
 * @param {string} suggested  the base model's suggested prompt
 * @param {Vocabulary | null} vocabulary
 */
export function promptSuggestions(suggested, vocabulary) {
  if (!vocabulary) return [suggested];
  const [big, small] = [vocabulary.sizes.find((size) => size === "big"), vocabulary.sizes.find((size) => size === "small")];
  const on = (/** @type {string} */ background) => `on a ${background} background`;
  const backgrounds = vocabulary.backgrounds.filter((background) => !suggested.includes(background));
  return [
    suggested,
    `a {subject} ${on(backgrounds[0])}`,
    ...(big ? [`a ${big} {subject} ${on(backgrounds[3] ?? backgrounds[0])}`] : []),
    ...(small ? [`a ${small} {subject} ${on(backgrounds[6] ?? backgrounds[0])}`] : []),
  ];
}
