// Validates Kubernetes manifests offline against pinned schemas: the Kubernetes API (kubernetes-models, generated
// from Kubernetes v1.36's OpenAPI) and the Argo CD and Prometheus Operator CRDs (@kubernetes-models/*).
//   node validate.mjs <file.yaml>...      (multi-document YAML)
// Prints a JSON array, one entry per document: {file, index, apiVersion, kind, name, errors[]}. Exit 1 when any
// document has an error, including a kind no pinned schema knows (nothing passes unvalidated).
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const packagesByGroup = {
  "argoproj.io": "@kubernetes-models/argo-cd",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

async function modelFor(apiVersion, kind) {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const pkg = packagesByGroup[group] ?? "kubernetes-models";
  const path = group === "" ? `${pkg}/${version}/${kind}` : `${pkg}/${group}/${version}/${kind}`;
  try {
    const module = await import(path);
    return module[kind];
  } catch {
    return undefined;
  }
}

const results = [];
for (const file of process.argv.slice(2)) {
  const documents = parseAllDocuments(readFileSync(file, "utf8"));
  let index = -1;
  for (const document of documents) {
    index++;
    const result = { file, index, apiVersion: null, kind: null, name: null, errors: [] };
    if (document.errors.length > 0) {
      result.errors.push(...document.errors.map((e) => `YAML: ${e.message}`));
      results.push(result);
      continue;
    }
    const object = document.toJS();
    if (object === null || object === undefined) {
      continue; // an empty document (e.g. a template rendered to nothing)
    }
    result.apiVersion = object.apiVersion ?? null;
    result.kind = object.kind ?? null;
    result.name = object.metadata?.name ?? null;
    if (typeof object.apiVersion !== "string" || typeof object.kind !== "string") {
      result.errors.push("apiVersion and kind are required strings");
      results.push(result);
      continue;
    }
    if (!result.name) {
      result.errors.push("metadata.name is required");
    }
    const Model = await modelFor(object.apiVersion, object.kind);
    if (!Model) {
      result.errors.push(`no pinned schema for ${object.apiVersion} ${object.kind}`);
    } else {
      try {
        // The constructor keeps the object as is (apiVersion/kind included); validate() checks it against the schema.
        new Model(object).validate();
      } catch (error) {
        result.errors.push(...String(error.message).split(", ").map((line) => line.replace(/^data/, "")));
      }
    }
    results.push(result);
  }
}

console.log(JSON.stringify(results, null, 2));
process.exit(results.some((r) => r.errors.length > 0) ? 1 : 0);
