#!/usr/bin/env node
// The `cdk-assets` command CDK Pipelines' Assets stage calls, built on the library the npm
// `cdk-assets` CLI wraps. That CLI (4.7.3, the newest release) bundles cloud assembly schema
// 54 and refuses the schema-55 manifests aws-cdk-lib 2.275.0 writes; @aws-cdk/cdk-assets-lib
// 1.5.0 reads them. CDK Pipelines calls exactly:
//   cdk-assets --path <manifest> [--verbose] publish <asset id>:<destination id> ...
// `ls` lists the selected assets without publishing (the tests use it offline).
"use strict";

const lib = require("@aws-cdk/cdk-assets-lib");

function parse(argv) {
  const options = { path: undefined, verbose: false, profile: undefined, command: undefined, selectors: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === "--path" || arg === "-p") options.path = argv[++i];
    else if (arg === "--profile") options.profile = argv[++i];
    else if (arg === "--verbose" || arg === "-v") options.verbose = true;
    else if (arg.startsWith("-")) throw new Error(`unknown option ${arg}`);
    else if (options.command === undefined) options.command = arg;
    else options.selectors.push(arg);
  }
  if (!options.path) throw new Error("--path <asset manifest or folder> is required");
  if (options.command !== "publish" && options.command !== "ls") {
    throw new Error(`unknown command ${options.command}: expected publish or ls`);
  }
  return options;
}

function selected(options) {
  const manifest = lib.AssetManifest.fromPath(options.path);
  if (options.selectors.length === 0) return manifest;
  const chosen = manifest.select(options.selectors.map((s) => lib.DestinationPattern.parse(s)));
  // A selector that matches nothing is a mistake in the caller, never "nothing to do".
  if (chosen.entries.length === 0) throw new Error(`no asset matches ${options.selectors.join(" ")}`);
  return chosen;
}

async function main(argv) {
  const options = parse(argv);
  const manifest = selected(options);
  if (options.command === "ls") {
    for (const line of manifest.list()) console.log(line);
    return 0;
  }
  const quiet = new Set([lib.EventType.CHECK, lib.EventType.DEBUG, lib.EventType.FOUND, lib.EventType.UPLOAD, lib.EventType.BUILD, lib.EventType.CACHED]);
  const publishing = new lib.AssetPublishing(manifest, {
    aws: new lib.DefaultAwsClient(options.profile),
    throwOnError: false,
    progressListener: {
      onPublishEvent(type, event) {
        if (options.verbose || !quiet.has(type)) {
          const stream = type === lib.EventType.FAIL ? console.error : console.log;
          stream(`[${event.percentComplete}%] ${type}: ${event.message}`);
        }
      },
    },
  });
  await publishing.publish();
  for (const failure of publishing.failures) console.error("Failure:", failure.error.stack);
  return publishing.hasFailures ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error) => { console.error(`cdk-assets: ${error.message}`); process.exitCode = 2; },
);
