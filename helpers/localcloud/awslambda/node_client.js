// The workbook's Lambda runtime interface client for Node.js (nodejs18.x, 20.x and 22.x).
//
// AWS's own client, aws-lambda-ric on npm, doesn't install with what the workbook asks for:
// its 3.x releases (the client of the nodejs18.x-22.x runtimes) build curl and aws-lambda-cpp
// from source with autotools, cmake and a C++ compiler, and skip that on macOS; 4.x is the
// nodejs24.x client, which has dropped callback handlers and context.succeed/fail, which the
// page's sample uses. This file needs nothing but Node.js and behaves as the 3.x client in all
// a learner sees:
// - handler resolution (`index.handler`, `src/app.nested.handler`; .js, .mjs, .cjs, and
//   "type": "module" in package.json) and the Runtime.* errors when it fails, logged as
//   "Uncaught Exception" with the request id `undefined`, the process then exiting;
// - async handlers, callbacks (which wait for an empty event loop unless
//   context.callbackWaitsForEmptyEventLoop = false), context.succeed/fail/done; the first
//   result counts, the others are ignored;
// - console lines "<ISO time>\t<request id>\t<LEVEL>\t<message>" (JSON records with
//   AWS_LAMBDA_LOG_FORMAT=JSON), each one frame on _LAMBDA_TELEMETRY_LOG_FD, so a message of
//   many lines is one log event;
// - errors posted as {errorType, errorMessage, trace} and logged as
//   "Invoke Error \t{"errorType":...,"errorMessage":...,"stack":[...]}";
// - an uncaught exception or an unhandled rejection fails the invocation and ends the process.
// Three things AWS's client doesn't do: where the local cloud locks the Runtime API with a secret
// (runtime_api.py: macOS, or LOCALCLOUD_RUNTIME_API_CHECK=token) it reads it from stdin first
// and sends it with every request; each result carries the process's peak memory in a header
// (the REPORT line's Max Memory Used where there is no /proc); and require() looks for modules
// inside the deployment package and NODE_PATH only: on AWS nothing lies above /var/task, here a
// node_modules folder above the unpacked package would otherwise be found (import, in ES
// modules, still would). Compared with aws-lambda-ric 3.3.0, built for the purpose, on the same handlers: the
// same payloads and log lines, but for the runtime's own stack frames and Runtime.NodeJsExit
// (3.3.0 answers null for a promise that never settles; AWS's runtimes since fail it).
//
//   node node_client.js index.handler      (AWS_LAMBDA_RUNTIME_API and LAMBDA_TASK_ROOT set)
"use strict";

const fs = require("fs");
const http = require("http");
const Module = require("module");
const path = require("path");
const util = require("util");
const { pathToFileURL } = require("url");

const API = process.env.AWS_LAMBDA_RUNTIME_API || "127.0.0.1:9001";
const ROOT = path.resolve(process.env.LAMBDA_TASK_ROOT || process.cwd());
const PREFIX = "/2018-06-01/runtime";
const REQUEST_ID = Symbol.for("aws.lambda.runtime.requestId");
const noop = () => {};

// -- modules come from the deployment package -------------------------------------------------
// require('name') looks in node_modules folders up to the file system's root, then in global
// folders; on AWS none of them exists outside /var/task, so only the package's own are kept,
// and NODE_PATH's folders (the SDK v3 the runtime bundles, /var/runtime/node_modules on AWS).
const ROOTS = [ROOT, ...(process.env.NODE_PATH || "").split(path.delimiter).filter(Boolean)]
  .map((folder) => path.resolve(folder));
const inPackage = (folder) =>
  ROOTS.some((root) => folder === root || folder.startsWith(root + path.sep));
const resolveLookupPaths = Module._resolveLookupPaths;
Module._resolveLookupPaths = function (request, parent) {
  const paths = resolveLookupPaths.call(this, request, parent);
  const relative = request.startsWith("./") || request.startsWith("../") ||
    request === "." || request === ".." || path.isAbsolute(request);
  return relative || !Array.isArray(paths) ? paths : paths.filter(inPackage);
};

// -- errors, as the runtime formats them -----------------------------------------------------
class ImportModuleError extends Error {}
class HandlerNotFound extends Error {}
class MalformedHandlerName extends Error {}
class UserCodeSyntaxError extends Error {}
class NodeJsExit extends Error {
  constructor() {
    super(
      "The Lambda runtime client detected an unexpected Node.js exit code. This is most " +
        "commonly caused by a Promise that was never settled. For more information, see " +
        "https://nodejs.org/docs/latest/api/process.html#exit-codes",
    );
  }
}
class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason);
    this.reason = reason;
    this.promise = promise;
  }
}
for (const type of [
  ImportModuleError, HandlerNotFound, MalformedHandlerName, UserCodeSyntaxError, NodeJsExit,
  UnhandledPromiseRejection,
]) {
  type.prototype.name = `Runtime.${type.name}`;
}

const isError = (value) =>
  util.types.isNativeError(value) ||
  Boolean(value && typeof value.name === "string" && typeof value.message === "string" &&
          typeof value.stack === "string" && value.name && value.message && value.stack);

// The body of /invocation/ID/error and /init/error.
function toRapidResponse(error) {
  try {
    if (isError(error)) {
      return { errorType: error.name, errorMessage: error.message, trace: error.stack.split("\n") };
    }
    return { errorType: typeof error, errorMessage: error.toString(), trace: [] };
  } catch (_) {
    return {
      errorType: "handled",
      errorMessage: "callback called with Error argument, but there was a problem while " +
        "retrieving one or more of its message, name, and stack",
    };
  }
}

// An error in the log: its type, message, code and own properties, its stack as a list.
function withEnumerableProperties(value) {
  if (!(value instanceof Error)) return value;
  const shown = Object.assign(
    { errorType: value.name, errorMessage: value.message, code: value.code }, value);
  if (typeof value.stack === "string") shown.stack = value.stack.split("\n");
  return shown;
}
function toFormatted(error) {
  try {
    return "\t" + JSON.stringify(error, (_key, value) => withEnumerableProperties(value));
  } catch (_) {
    return "\t" + JSON.stringify(toRapidResponse(error));
  }
}
const intoError = (error) => (error instanceof Error ? error : new Error(error));

// -- console: one record per call, with the time, the request id and the level ---------------
const LEVELS = {
  TRACE: { name: "TRACE", priority: 1, mask: 0b00100 },
  DEBUG: { name: "DEBUG", priority: 2, mask: 0b01000 },
  INFO: { name: "INFO", priority: 3, mask: 0b01100 },
  WARN: { name: "WARN", priority: 4, mask: 0b10000 },
  ERROR: { name: "ERROR", priority: 5, mask: 0b10100 },
  FATAL: { name: "FATAL", priority: 6, mask: 0b11000 },
};
const JSON_FORMAT = (process.env.AWS_LAMBDA_LOG_FORMAT || "").toUpperCase() === "JSON";
const LOG_FD = process.env._LAMBDA_TELEMETRY_LOG_FD;
delete process.env._LAMBDA_TELEMETRY_LOG_FD;
const logFd = LOG_FD === undefined ? null : parseInt(LOG_FD, 10);
const pause = new Int32Array(new SharedArrayBuffer(4));

function writeAll(fd, buffer) {
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += fs.writeSync(fd, buffer, offset);
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
      Atomics.wait(pause, 0, 0, 1); // the pipe is full: give the reader a millisecond
    }
  }
}

function jsonReplacer(_key, value) {
  if (!(value instanceof Error)) return value;
  return Object.assign({
    errorType: value?.constructor?.name ?? "UnknownError",
    errorMessage: value.message,
    stackTrace: typeof value.stack === "string" ? value.stack.split("\n") : value.stack,
  }, value);
}
function jsonRecord(time, requestId, level, params) {
  const record = { timestamp: time, level: level.name, requestId };
  if (params.length === 1) {
    record.message = params[0];
    try {
      return JSON.stringify(record, jsonReplacer);
    } catch (_) {
      record.message = util.format(record.message);
      return JSON.stringify(record);
    }
  }
  record.message = util.format(...params);
  const error = params.find((param) => param instanceof Error);
  if (error) {
    record.errorType = error?.constructor?.name ?? "UnknownError";
    record.errorMessage = error.message;
    record.stackTrace = typeof error.stack === "string" ? error.stack.split("\n") : [];
  }
  return JSON.stringify(record);
}

function log(level, params) {
  const date = new Date();
  const time = date.toISOString();
  const requestId = global[REQUEST_ID];
  const message = JSON_FORMAT
    ? jsonRecord(time, requestId, level, params)
    : `${time}\t${requestId}\t${level.name}\t${util.format(...params)}`;
  if (logFd === null) {
    process.stdout.write(message.replace(/\n/g, "\r") + "\n");
    return;
  }
  const body = Buffer.from(JSON_FORMAT ? message : message + "\n", "utf8");
  const header = Buffer.alloc(16);
  header.writeUInt32BE(((JSON_FORMAT ? 0xa55a0002 : 0xa55a0003) | level.mask) >>> 0, 0);
  header.writeInt32BE(body.length, 4);
  header.writeBigInt64BE(BigInt(date.valueOf()) * 1000n, 8);
  writeAll(logFd, Buffer.concat([header, body]));
}

const threshold = LEVELS[(process.env.AWS_LAMBDA_LOG_LEVEL || "").toUpperCase()] || LEVELS.TRACE;
for (const [method, level] of [
  ["trace", LEVELS.TRACE], ["debug", LEVELS.DEBUG], ["info", LEVELS.INFO],
  ["warn", LEVELS.WARN], ["error", LEVELS.ERROR],
]) {
  console[method] = level.priority >= threshold.priority
    ? (message, ...params) => log(level, [message, ...params])
    : noop;
}
console.log = console.info;
console.fatal = (message, ...params) => log(LEVELS.FATAL, [message, ...params]);

function logError(label, error) {
  if (JSON_FORMAT) console.error(intoError(error));
  else console.error(label, toFormatted(intoError(error)));
}

// -- the Runtime API -------------------------------------------------------------------------
const [HOST, PORT] = API.split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
// The Runtime API's secret: all of stdin, a pipe the local cloud wrote it to and closed (empty
// where the local cloud checks the peer process instead).
const SECRET = (() => {
  try {
    return fs.readFileSync(0, "utf8").trim();
  } catch (_) {
    return "";
  }
})();
const AUTHORIZATION = SECRET
  ? { Authorization: `Basic ${Buffer.from(`lambda:${SECRET}`).toString("base64")}` }
  : {};

function call(method, route, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: HOST, port: PORT, method, path: PREFIX + route, agent,
        headers: { ...headers, ...AUTHORIZATION },
      },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () => resolve({
          status: response.statusCode,
          headers: response.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }));
      });
    request.on("error", reject);
    request.end(body);
  });
}

function serialize(value) {
  try {
    return JSON.stringify(value === undefined ? null : value);
  } catch (_) {
    throw new Error("Unable to stringify response body");
  }
}

// The local cloud's own header: the peak memory of this process in KiB, for the REPORT line.
const post = (route, body, headers = {}) => call("POST", route, body, {
  "Content-Type": "application/json",
  "Content-Length": Buffer.byteLength(body),
  "Lambda-Runtime-Peak-Memory-Kb": String(process.resourceUsage().maxRSS),
  ...headers,
});
const postError = (route, error) => {
  const response = toRapidResponse(error);
  return post(route, serialize(response), {
    "Lambda-Runtime-Function-Error-Type": response.errorType,
  });
};
const postInitError = (error) => postError("/init/error", error);
const postInvocationError = (error, id) =>
  postError(`/invocation/${encodeURIComponent(id)}/error`, error);
// Serializes at once, so a result JSON can't encode fails where the handler reported it.
function postInvocationResponse(result, id) {
  const body = serialize(result);
  return post(`/invocation/${encodeURIComponent(id)}/response`, body);
}
const exitAfter = (promise, code) => promise.then(() => process.exit(code), () => process.exit(code));

// -- loading the handler ---------------------------------------------------------------------
function hasTypeModule(folder) {
  if (folder.endsWith(`${path.sep}node_modules`)) return false;
  const manifest = path.join(folder, "package.json");
  if (fs.existsSync(manifest)) {
    try {
      return JSON.parse(fs.readFileSync(manifest)).type === "module";
    } catch (error) {
      console.warn(
        `${manifest} cannot be read, it will be ignored for ES module detection purposes.`, error);
      return false;
    }
  }
  const parent = path.dirname(folder);
  return parent === folder ? false : hasTypeModule(parent);
}
const tryRequire = (file) => (fs.existsSync(file) ? require(file) : undefined);
const tryImport = async (file) =>
  fs.existsSync(file) ? await import(pathToFileURL(file).href) : undefined;

async function loadModule(moduleRoot, moduleName) {
  const base = path.resolve(ROOT, moduleRoot, moduleName);
  const extensionless = tryRequire(base);
  if (extensionless) return extensionless;
  const typeModule = hasTypeModule(path.dirname(base));
  if (!typeModule) {
    const commonjs = tryRequire(`${base}.js`);
    if (commonjs) return commonjs;
  }
  const loaded = (typeModule && (await tryImport(`${base}.js`))) ||
    (await tryImport(`${base}.mjs`)) || tryRequire(`${base}.cjs`);
  if (loaded) return loaded;
  return require(require.resolve(moduleName, { paths: [ROOT, moduleRoot] }));
}

async function loadHandler(fullHandler) {
  if (fullHandler.includes("..")) {
    throw new MalformedHandlerName(`'${fullHandler}' is not a valid handler name. Use absolute ` +
      "paths when specifying root directories in handler names.");
  }
  const handlerString = path.basename(fullHandler);
  const moduleRoot = fullHandler.substring(0, fullHandler.indexOf(handlerString));
  const match = handlerString.match(/^([^.]*)\.(.*)$/);
  if (!match) throw new MalformedHandlerName("Bad handler");
  let loaded;
  try {
    loaded = await loadModule(moduleRoot, match[1]);
  } catch (error) {
    if (error instanceof SyntaxError) throw new UserCodeSyntaxError(error);
    if (error && error.code === "MODULE_NOT_FOUND") throw new ImportModuleError(error);
    throw error;
  }
  const handler = match[2].split(".").reduce((nested, key) => nested && nested[key], loaded);
  if (!handler) throw new HandlerNotFound(`${fullHandler} is undefined or not exported`);
  if (typeof handler !== "function") throw new HandlerNotFound(`${fullHandler} is not a function`);
  return handler;
}

// -- the invocations -------------------------------------------------------------------------
let errorCallbacks = {
  uncaughtException: (error) => exitAfter(postInitError(error), 129),
  unhandledRejection: (error) => exitAfter(postInitError(error), 128),
};
let beforeExit = noop; // what to do when the event loop runs empty during an invocation

function uncaught(error) {
  logError("Uncaught Exception", error);
  errorCallbacks.uncaughtException(error);
}
process.on("uncaughtException", uncaught);
process.on("unhandledRejection", (reason, promise) => {
  const error = new UnhandledPromiseRejection(reason, promise);
  logError("Unhandled Promise Rejection", error);
  errorCallbacks.unhandledRejection(error);
});
process.on("beforeExit", () => beforeExit());

// callback, context.succeed/fail/done: only the first call of any of them counts.
function callbackContext(id, next) {
  const fail = (error) => {
    logError("Invoke Error", error);
    postInvocationError(error, id).then(next, uncaught);
  };
  let completed = false;
  const complete = (result) => {
    if (completed) {
      console.error("Invocation has already been reported as done. Cannot call complete " +
        "more than once per invocation.");
      return;
    }
    completed = true;
    postInvocationResponse(result, id).then(next, uncaught);
  };
  let waitForEmptyEventLoop = true;
  const callback = (error, result) => {
    beforeExit = noop;
    if (error !== undefined && error !== null) fail(error);
    else if (!waitForEmptyEventLoop) complete(result);
    else beforeExit = () => setImmediate(() => complete(result));
  };
  const done = (error, result) => {
    beforeExit = noop;
    if (error !== undefined && error !== null) fail(error);
    else complete(result);
  };
  const context = {
    get callbackWaitsForEmptyEventLoop() { return waitForEmptyEventLoop; },
    set callbackWaitsForEmptyEventLoop(value) { waitForEmptyEventLoop = value; },
    succeed: (result) => done(null, result),
    fail: (error) => (error === undefined || error === null ? done("handled") : done(error, null)),
    done,
  };
  let finished = false;
  const once = (fn) => (...args) => {
    if (!finished) {
      fn(...args);
      finished = true;
    }
  };
  context.succeed = once(context.succeed);
  context.fail = once(context.fail);
  context.done = once(context.done);
  return [once(callback), context, () => { completed = true; }];
}

function parseHeader(value, name) {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new Error(`Cannot parse ${name} as json: ${error.toString()}`);
  }
}

async function handleOnce(handler, isAsync) {
  const next = await call("GET", "/invocation/next");
  if (next.status !== 200) process.exit(0); // the environment is being shut down
  const headers = next.headers;
  const id = headers["lambda-runtime-aws-request-id"];
  global[REQUEST_ID] = id;
  const scheduleNext = () => schedule(handler, isAsync);
  const [callback, context, markCompleted] = callbackContext(id, scheduleNext);
  try {
    errorCallbacks = {
      uncaughtException: (error) => exitAfter(postInvocationError(error, id), 129),
      unhandledRejection: (error) => exitAfter(postInvocationError(error, id), 128),
    };
    // the event loop ran empty and nothing was reported: a sync handler's result is null, an
    // async handler's promise never settled
    beforeExit = () => {
      beforeExit = noop;
      markCompleted();
      if (isAsync) {
        const error = new NodeJsExit();
        logError("Invoke Error", error);
        postInvocationError(error, id).then(scheduleNext, uncaught);
      } else {
        postInvocationResponse(null, id).then(scheduleNext, uncaught);
      }
    };
    const deadline = Number(headers["lambda-runtime-deadline-ms"]);
    if (headers["lambda-runtime-trace-id"]) {
      process.env._X_AMZN_TRACE_ID = headers["lambda-runtime-trace-id"];
    } else {
      delete process.env._X_AMZN_TRACE_ID;
    }
    Object.assign(context, {
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      clientContext: parseHeader(headers["lambda-runtime-client-context"], "ClientContext"),
      identity: parseHeader(headers["lambda-runtime-cognito-identity"], "CognitoIdentity"),
      invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
      awsRequestId: id,
      tenantId: headers["lambda-runtime-aws-tenant-id"],
      getRemainingTimeInMillis: () => deadline - Date.now(),
    });
    const result = handler(JSON.parse(next.body), context, callback);
    if (result && typeof result.then === "function") {
      result.then(context.succeed, context.fail).catch(context.fail);
    }
  } catch (error) {
    callback(error);
  }
}

function schedule(handler, isAsync) {
  setImmediate(() => {
    handleOnce(handler, isAsync).then(noop, (error) => {
      console.log(`Unexpected Top Level Error: ${error.toString()}`);
      errorCallbacks.uncaughtException(error);
    });
  });
}

async function main() {
  let handler;
  try {
    handler = await loadHandler(process.argv[2] || process.env._HANDLER || "");
  } catch (error) {
    uncaught(error); // as on AWS: the failed load is the runtime's uncaught exception
    return;
  }
  schedule(handler, handler.constructor?.name === "AsyncFunction");
}

main();
