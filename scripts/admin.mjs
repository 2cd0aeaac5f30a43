#!/usr/bin/env node
/**
 * `npm run admin -- <command>`: the operator's side of billing, calling the
 * Worker's `/admin` routes with `ADMIN_TOKEN`. The Worker's URL comes from
 * `DBE_URL` (default the local `npm start` address) and the token from
 * `ADMIN_TOKEN`, or from `.dev.vars` when working locally.
 *
 *   create-account [--mode live|test] [--plan free|standard|scale] [--credits N] [--name KEY_NAME]
 *   grant ACCOUNT_ID AMOUNT [--note TEXT]
 *   set-plan ACCOUNT_ID PLAN
 *   issue-key ACCOUNT_ID [--mode live|test] [--name KEY_NAME]
 *
 * Credits: a job refused with 402 names its account and the credits missing;
 * `grant ACCOUNT_ID AMOUNT` adds them (the local dev account's id is the
 * `account:` line `npm start` prints; `GET /v1/usage` shows any key's balance).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const USAGE = readFileSync(fileURLToPath(import.meta.url), "utf8").match(/ \*   create-account[\s\S]*?\n \*\//)[0].replace(/ \*\/$/, "").replace(/^ \* ?/gm, "  ");

function adminToken() {
  if (process.env.ADMIN_TOKEN) return process.env.ADMIN_TOKEN;
  const devVars = join(root, ".dev.vars");
  const match = existsSync(devVars) && /^ADMIN_TOKEN="?([^"\n]+)"?/m.exec(readFileSync(devVars, "utf8"));
  if (!match) throw new Error("set ADMIN_TOKEN (or run npm start once to write .dev.vars)");
  return match[1];
}

async function call(method, path, body) {
  const base = process.env.DBE_URL ?? "http://127.0.0.1:8787";
  const response = await fetch(`${base}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken()}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const payload = await response.json();
  if (!response.ok) throw new Error(`${method} /admin${path} → ${response.status} ${JSON.stringify(payload)}`);
  return payload;
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { mode: { type: "string" }, plan: { type: "string" }, credits: { type: "string" }, name: { type: "string" }, note: { type: "string" } },
});
const [command, accountId, arg] = positionals;
const commands = {
  "create-account": () =>
    call("POST", "/accounts", {
      mode: values.mode ?? "live",
      ...(values.plan ? { plan: values.plan } : {}),
      ...(values.credits ? { credits: Number(values.credits) } : {}),
      ...(values.name ? { key_name: values.name } : {}),
    }),
  grant: () => call("POST", `/accounts/${accountId}/credits`, { amount: Number(arg), ...(values.note ? { note: values.note } : {}) }),
  "set-plan": () => call("PATCH", `/accounts/${accountId}`, { plan: arg }),
  "issue-key": () => call("POST", `/accounts/${accountId}/keys`, { mode: values.mode ?? "live", ...(values.name ? { name: values.name } : {}) }),
};

if (!commands[command]) {
  console.error(`usage: npm run admin -- <command>\n${USAGE}`);
  process.exit(2);
}
try {
  console.log(JSON.stringify(await commands[command](), null, 2));
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
