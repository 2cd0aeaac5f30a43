/** The contract both the Worker and the GPU backend import. Runtime-neutral: Web APIs only. */
export * from "./ids.js";
export * from "./json-body.js";
export * from "./job.js";
export * from "./params.js";
export * from "./r2keys.js";
export * from "./signing.js";
export * from "./states.js";
export * from "./quality.js";
export * from "./without-defaults.js";
export * from "./checkpoint-selection.js";
