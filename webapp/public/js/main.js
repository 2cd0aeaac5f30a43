// @ts-check
/**
 * The app's entry point: mounts each screen and decides which one to show —
 * sign-in without a key, otherwise wherever the saved subject and training ids
 * say the user left off (so a reload mid-training goes back to the live view).
 */
import { ApiError, UNAUTHORIZED_EVENT } from "./api.js";
import { loadDeployment, refreshBalance } from "./deployment.js";
import { mountPhotos } from "./screens/photos.js";
import { mountResults } from "./screens/results.js";
import { mountSignIn } from "./screens/sign-in.js";
import { mountSubject } from "./screens/subject.js";
import { mountTraining } from "./screens/training.js";
import { forgetKey, storedKey, takeFragmentKey } from "./session.js";
import { app, forgetWork, savedIds, setSubject, setTraining, signIn } from "./state.js";
import { byId, labelSubject, showError, showScreen } from "./ui.js";

const photos = mountPhotos({ onFinalized: () => goTraining() });
const training = mountTraining({ onSucceeded: () => goResults() });
const results = mountResults();
mountSubject({
  onCreated: () => {
    photos.reset();
    showScreen("photos");
  },
});
mountSignIn({ prefill: takeFragmentKey(), onSignedIn: () => resume() });

function goTraining() {
  training.reset();
  showScreen("training");
}

function goResults() {
  results.show();
  showScreen("results");
}

/** Back to where the saved ids point, or to a new subject. */
async function resume() {
  byId("sign-out").hidden = false;
  const { subjectId, trainingId } = savedIds();
  try {
    // The backend, model and prices set the training form's defaults and the results screen's hints.
    await loadDeployment();
    void refreshBalance();
    if (subjectId) {
      const subject = await app.api.get(`/v1/subjects/${subjectId}`);
      setSubject(subject);
      labelSubject(subject.name);
      if (trainingId) {
        const saved = await app.api.get(`/v1/trainings/${trainingId}`);
        if (saved.status === "succeeded") {
          setTraining(saved);
          return goResults();
        }
        showScreen("training");
        return training.follow(saved);
      }
      if (subject.status === "ready") return goTraining();
      photos.reset();
      return showScreen("photos");
    }
  } catch (failure) {
    // A refused key is handled by the UNAUTHORIZED_EVENT listener; anything else means the saved work is gone.
    if (failure instanceof ApiError && failure.status === 401) return;
    forgetWork();
  }
  showScreen("subject");
}

byId("new-subject").addEventListener("click", () => {
  forgetWork();
  byId("subject-form", HTMLFormElement).reset();
  showScreen("subject");
});

// A key that stops working mid-session (revoked, or the local service was reset) leads back to sign-in.
document.addEventListener(UNAUTHORIZED_EVENT, () => {
  if (!storedKey()) return;
  forgetKey();
  byId("sign-out").hidden = true;
  showScreen("sign-in");
  showError(byId("sign-in-error"), "The service no longer accepts this API key. Sign in again.");
});

byId("sign-out").addEventListener("click", () => {
  forgetKey();
  forgetWork();
  location.reload();
});

const key = storedKey();
if (key) {
  signIn(key);
  resume();
} else showScreen("sign-in");
