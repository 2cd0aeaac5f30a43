// @ts-check
/**
 * The app's state: the signed-in API client and the subject and training being
 * worked on. Their ids are kept in session storage too, so a reload (or a phone
 * that dropped the tab) comes back to the same training instead of starting over.
 * The types are the service's own response schemas.
 */
import { createApi } from "./api.js";

/** @typedef {import("./api.js").Api} Api */
/** @typedef {import("../../../functions/subjects/schemas.js").Subject} Subject */
/** @typedef {import("../../../functions/subjects/photo-checks.js").PhotoSetReport} PhotoSetReport */
/** @typedef {import("../../../functions/jobs/views.js").TrainingView} TrainingView */
/** @typedef {import("../../../functions/jobs/views.js").GenerationView} GenerationView */

const SUBJECT_KEY = "dreambooth.subjectId";
const TRAINING_KEY = "dreambooth.trainingId";

export const app = {
  apiKey: "",
  /** @type {Api} */
  api: createApi(""),
  /** @type {Subject | null} */
  subject: null,
  /** @type {TrainingView | null} */
  training: null,
};

/** @param {string} apiKey */
export function signIn(apiKey) {
  app.apiKey = apiKey;
  app.api = createApi(apiKey);
}

/** @param {Subject | null} subject */
export function setSubject(subject) {
  app.subject = subject;
  if (subject) sessionStorage.setItem(SUBJECT_KEY, subject.id);
  else sessionStorage.removeItem(SUBJECT_KEY);
}

/** @param {TrainingView | null} training */
export function setTraining(training) {
  app.training = training;
  if (training) sessionStorage.setItem(TRAINING_KEY, training.id);
  else sessionStorage.removeItem(TRAINING_KEY);
}

export function savedIds() {
  return { subjectId: sessionStorage.getItem(SUBJECT_KEY), trainingId: sessionStorage.getItem(TRAINING_KEY) };
}

export function forgetWork() {
  setSubject(null);
  setTraining(null);
}
