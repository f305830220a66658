// Preloaded into the local cloud's Node.js functions (NODE_OPTIONS=--require this file).
//
// The AWS SDK for JavaScript v3 reads AWS_ENDPOINT_URL, which the local cloud sets, and so
// reaches the local cloud by itself; v2 (`require('aws-sdk')`, bundled in the package) ignores
// it. So when a function's code loads v2, its global configuration gets that endpoint (and
// path-style S3 addresses): the function's own code stays as it is on AWS, where neither this
// file nor AWS_ENDPOINT_URL exists and v2 talks to AWS. Whatever a function sets itself, for
// example `new AWS.S3({endpoint: ...})`, still wins.
"use strict";

const Module = require("module");
const path = require("path");

const endpoint = process.env.AWS_ENDPOINT_URL;
// aws-sdk's lib/node_loader.js creates AWS.config; every way of loading v2 goes through it
// ('aws-sdk', 'aws-sdk/global', 'aws-sdk/clients/codepipeline'). It is also required in a
// circle while it loads: only its finished load counts.
const LOADER = `${path.sep}aws-sdk${path.sep}lib${path.sep}node_loader.js`;
const configured = new WeakSet();

if (endpoint) {
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    const loaded = load.apply(this, arguments);
    if (/(^|[/\\])node_loader(\.js)?$/.test(request)) {
      const file = Module._resolveFilename(request, parent, isMain);
      const loader = Module._cache[file];
      const core = Module._cache[path.join(path.dirname(file), "core.js")];
      const AWS = core && core.exports;
      if (file.endsWith(LOADER) && loader && loader.loaded && AWS && AWS.config &&
          !configured.has(AWS)) {
        AWS.config.update({ endpoint, s3ForcePathStyle: true });
        configured.add(AWS);
      }
    }
    return loaded;
  };
}
