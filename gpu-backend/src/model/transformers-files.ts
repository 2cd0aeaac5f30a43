/**
 * The text encoder's and tokenizer's config files as transformers itself writes them. transformers'
 * `AutoConfig`/`AutoModel` pick the class by `model_type`, so a `text_encoder/config.json` without
 * `"model_type": "clip_text_model"` is refused by them (diffusers, which names the class in
 * `model_index.json`, does not mind); a `tokenizer_config.json` without `clean_up_tokenization_spaces`
 * draws a warning on every load. These functions complete a config with the fields `CLIPTextConfig`
 * and `CLIPTokenizer` save (the values of openai/clip-vit-large-patch14, which SD 1.x uses), keeping
 * every field the config already has, so SD1.5's own files pass through unchanged.
 */

/** What `CLIPTextConfig.save_pretrained` writes besides the sizes: SD1.5's `text_encoder/config.json`. */
export function clipTextConfigFile(config: Record<string, unknown>): Record<string, unknown> {
  return {
    architectures: ["CLIPTextModel"],
    attention_dropout: 0.0,
    dropout: 0.0,
    initializer_factor: 1.0,
    initializer_range: 0.02,
    // CLIP ViT-L/14 projects to its own width; SD never uses the projection.
    projection_dim: config.hidden_size,
    torch_dtype: "float32",
    model_type: "clip_text_model",
    ...config,
  };
}

/**
 * `CLIPTokenizer`'s saved arguments. `clean_up_tokenization_spaces: true` is the value transformers
 * used when the field was absent, so decoding stays as it was; it only affects `decode`.
 */
export function clipTokenizerConfigFile(config: Record<string, unknown>): Record<string, unknown> {
  return {
    tokenizer_class: "CLIPTokenizer",
    add_prefix_space: false,
    errors: "replace",
    clean_up_tokenization_spaces: true,
    ...config,
  };
}
