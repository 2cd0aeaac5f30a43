/**
 * The `/docs` page: HTML, CSS and a renderer of the OpenAPI document, in one
 * string so the Worker bundles it with no assets binding. The renderer resolves
 * `$ref`s one level deep on screen and links each to its schema below.
 */
export const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>DreamBooth at the edge — API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:960px;padding:1rem 2rem;color:#222}
h2{border-bottom:1px solid #ddd;margin-top:2rem}.op{border:1px solid #ddd;border-radius:6px;margin:.6rem 0}
.op summary{cursor:pointer;padding:.4rem .6rem}.op>div{padding:0 .8rem .6rem}
.m{display:inline-block;min-width:4.2rem;font-weight:700;text-transform:uppercase}
.get{color:#1769aa}.post{color:#2e7d32}.put{color:#8d6e00}.patch{color:#6a1b9a}.delete{color:#c62828}
code,pre{font:13px ui-monospace,monospace;background:#f6f6f6}pre{padding:.5rem;overflow:auto}
table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;padding:.2rem .6rem;text-align:left;vertical-align:top}
</style></head>
<body><h1>DreamBooth at the edge — API</h1>
<p>Machine-readable: <a href="/v1/openapi.json">/v1/openapi.json</a>. Authenticate with <code>Authorization: Bearer dbk_…</code>.</p>
<div id="api">Loading…</div>
<script>
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const refName = (r) => r.split("/").pop();
function schemaText(schema) {
  return JSON.stringify(schema, null, 2).replace(/"\\$ref": "([^"]+)"/g, (_, r) => '"$ref": "' + refName(r) + '"');
}
function schemaHtml(schema) {
  if (!schema) return "";
  if (schema.$ref) return '<a href="#schema-' + esc(refName(schema.$ref)) + '">' + esc(refName(schema.$ref)) + "</a>";
  return "<pre>" + esc(schemaText(schema)) + "</pre>";
}
function resolve(doc, item) {
  if (!item || !item.$ref) return item;
  const [, section, name] = item.$ref.match(/#\\/components\\/(\\w+)\\/(.+)$/) || [];
  return (doc.components && doc.components[section] && doc.components[section][name]) || item;
}
function operation(doc, path, method, op) {
  const params = (op.parameters || []).map((p) => resolve(doc, p));
  const body = op.requestBody && op.requestBody.content;
  const rows = Object.entries(op.responses || {}).map(([status, r]) => {
    const content = r.content ? Object.entries(r.content).map(([type, c]) => esc(type) + " " + schemaHtml(c.schema)).join("<br>") : "";
    const headers = Object.keys(r.headers || {}).map(esc).join(", ");
    return "<tr><td>" + esc(status) + "</td><td>" + esc(r.description) + "</td><td>" + content + "</td><td>" + headers + "</td></tr>";
  });
  return '<details class="op"><summary><span class="m ' + esc(method) + '">' + esc(method) + "</span> <code>" + esc(path) + "</code> " + esc(op.summary) +
    (op.security && op.security.length ? " 🔒" : "") + "</summary><div>" +
    (params.length ? "<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>description / schema</th></tr>" +
      params.map((p) => "<tr><td><code>" + esc(p.name) + "</code></td><td>" + esc(p.in) + "</td><td>" + (p.required ? "yes" : "no") + "</td><td>" + esc(p.description) + schemaHtml(p.schema) + "</td></tr>").join("") + "</table>" : "") +
    (body ? "<h4>Body</h4>" + Object.entries(body).map(([type, c]) => esc(type) + " " + schemaHtml(c.schema)).join("<br>") : "") +
    "<h4>Responses</h4><table><tr><th>status</th><th>meaning</th><th>body</th><th>headers</th></tr>" + rows.join("") + "</table></div></details>";
}
function render(doc) {
  const byTag = {};
  for (const [path, ops] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(ops)) (byTag[(op.tags && op.tags[0]) || "general"] ??= []).push(operation(doc, path, method, op));
  }
  const schemas = Object.entries((doc.components && doc.components.schemas) || {})
    .map(([name, s]) => '<h3 id="schema-' + esc(name) + '">' + esc(name) + "</h3><pre>" + esc(schemaText(s)) + "</pre>").join("");
  document.getElementById("api").innerHTML =
    "<p>" + esc(doc.info.title) + " " + esc(doc.info.version) + "</p>" +
    Object.entries(byTag).map(([tag, ops]) => "<h2>" + esc(tag) + "</h2>" + ops.join("")).join("") + "<h2>Schemas</h2>" + schemas;
}
fetch("/v1/openapi.json").then((r) => r.json()).then(render, (e) => { document.getElementById("api").textContent = "Could not load the API description: " + e; });
</script></body></html>`;
