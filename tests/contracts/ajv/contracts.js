#!/usr/bin/env node
// The event contracts as the platform's NestJS services see them (CTest contracts_ajv,
// tests/contracts/CMakeLists.txt):
//
//  1. every JSON Schema of the schema directory compiles with `new Ajv({strict: true})` and
//     ajv-formats, as those services compile them;
//  2. every documented example (each ```json block of docs/events/*.md and
//     docs/events/inbound/*.md), variants of them that break one rule each, and the instances of
//     the rules rewritten for strict mode (tests/contracts/strict_mode/instances.json) get the same
//     verdict from Ajv and from valijson through the service's SchemaRegistry
//     (`order-events schema validate`); the examples are valid and the strict-mode instances get
//     the verdict they document;
//  3. docs/asyncapi.yaml is a valid AsyncAPI document for @asyncapi/parser (errors and warnings
//     fail; it resolves the $refs into schemas/ too);
//  4. with --order-service BIN: the events of a real run get the same verdict (valid) from both:
//     the built service is started on a scratch database with OrderCreatedEvent published at 1.0
//     and 2.0, orders are driven through every transition over HTTP, and every event it
//     committed to its outbox (`order-events outbox events --json`) is checked; every published
//     type and version must be among them.
//
// Usage: node contracts.js --schemas DIR --docs DIR --order-events BIN --strict-mode FILE
//                          --asyncapi FILE [--order-service BIN]
// Packages come from package-lock.json (npm ci, see install.sh); NODE_PATH may point at them.

'use strict';

const fs = require('fs');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const { parseArgs } = require('util');

const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const { values: args } = parseArgs({
  options: {
    schemas: { type: 'string' },
    docs: { type: 'string' },
    'order-events': { type: 'string' },
    'strict-mode': { type: 'string' },
    asyncapi: { type: 'string' },
    'order-service': { type: 'string' },
  },
});
for (const name of ['schemas', 'docs', 'order-events', 'strict-mode', 'asyncapi']) {
  if (!args[name]) {
    console.error(`contracts.js: --${name} is required`);
    process.exit(2);
  }
}

const failures = [];
const fail = (message) => failures.push(message);

// ---- 1. strict compilation -------------------------------------------------------------------

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .flatMap((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return walk(full);
      return e.name.endsWith('.json') ? [full] : [];
    })
    .sort();
}

const envelopes = new Map(); // major -> validate
const payloads = new Map(); // type -> major -> {minor, validate}
let compiled = 0;
for (const file of walk(args.schemas)) {
  const relative = path.relative(args.schemas, file);
  let validate;
  try {
    const ajv = new Ajv({ strict: true, allErrors: false });
    addFormats(ajv);
    validate = ajv.compile(JSON.parse(fs.readFileSync(file, 'utf8')));
    ++compiled;
  } catch (e) {
    fail(`${relative}: does not compile with Ajv in strict mode: ${e.message}`);
    continue;
  }
  // The layout of schemas/README.md, as SchemaRegistry reads it.
  const folder = path.basename(path.dirname(file));
  const stem = path.basename(file, '.json');
  const envelope = folder === 'envelope' && /^StandardMessage\.v(\d+)$/.exec(stem);
  if (envelope) {
    envelopes.set(Number(envelope[1]), validate);
    continue;
  }
  const version = /^(\d+)\.(\d+)$/.exec(stem);
  if (!version) {
    fail(`${relative}: misplaced or misnamed`);
    continue;
  }
  const [major, minor] = [Number(version[1]), Number(version[2])];
  if (!payloads.has(folder)) payloads.set(folder, new Map());
  const byMajor = payloads.get(folder);
  // Like the registry: a message of major N is validated against the newest N.y.
  if (!byMajor.has(major) || byMajor.get(major).minor < minor) {
    byMajor.set(major, { minor, validate });
  }
}

/** Ajv's verdict on a whole message, chosen the way SchemaRegistry::validateMessage chooses. */
function ajvVerdict(message) {
  const newestEnvelope = Math.max(...envelopes.keys());
  const envelope = envelopes.get(newestEnvelope);
  if (!envelope(message)) return { valid: false, error: `envelope: ${ajvText(envelope.errors)}` };
  const byMajor = payloads.get(message.messageType);
  if (!byMajor) return { valid: false, error: `no schema for ${message.messageType}` };
  const version = /^(\d+)\.(\d+)$/.exec(message.messageVersion);
  const schema = version && byMajor.get(Number(version[1]));
  if (!schema) return { valid: false, error: `no schema for version ${message.messageVersion}` };
  if (!schema.validate(message.payload)) {
    return { valid: false, error: `payload: ${ajvText(schema.validate.errors)}` };
  }
  return { valid: true };
}

function ajvText(errors) {
  return (errors || []).map((e) => `${e.instancePath || '(root)'} ${e.message}`).join('; ');
}

// ---- 2. instances: examples, broken variants, strict-mode rules -------------------------------

const instances = []; // {source, message, expected?}

function examplesOf(file) {
  const text = fs.readFileSync(file, 'utf8');
  const blocks = [];
  const fence = /^```json[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (let match; (match = fence.exec(text)) !== null;) blocks.push(match[1]);
  return blocks;
}

const pages = [args.docs, path.join(args.docs, 'inbound')]
  .flatMap((dir) => fs.readdirSync(dir).filter((f) => f.endsWith('.md')).map((f) => path.join(dir, f)))
  .sort();
let examples = 0;
for (const page of pages) {
  const relative = path.relative(path.dirname(path.dirname(path.resolve(args.docs))), path.resolve(page));
  const blocks = examplesOf(page);
  // A page named after a message type documents it and must show an example.
  const isEventPage = payloads.has(path.basename(page, '.md'));
  if (isEventPage && blocks.length === 0) fail(`${relative}: no \`\`\`json example`);
  blocks.forEach((block, i) => {
    const source = `${relative} example ${i + 1}`;
    let message;
    try {
      message = JSON.parse(block);
    } catch (e) {
      fail(`${source}: not JSON: ${e.message}`);
      return;
    }
    ++examples;
    instances.push({ source, message, expected: true });
    // Variants that break one rule each: both validators must refuse them alike.
    const byMajor = payloads.get(message.messageType);
    const version = /^(\d+)\./.exec(message.messageVersion || '');
    const schema = byMajor && version && byMajor.get(Number(version[1]));
    const required = (schema && schema.validate.schema.required) || [];
    for (const field of required) {
      const broken = structuredClone(message);
      delete broken.payload[field];
      instances.push({ source: `${source} without payload.${field}`, message: broken, expected: false });
    }
    for (const [name, change] of [
      ['messageId not msg-<uuid>', (m) => { m.messageId = 'event-1'; }],
      ['unknown major version', (m) => { m.messageVersion = '99.0'; }],
      ['payload.orderId not a uuid', (m) => { m.payload.orderId = 'order-1'; }],
      ['an unknown payload field (allowed)', (m) => { m.payload.addedInALaterMinor = 1; }],
    ]) {
      const variant = structuredClone(message);
      change(variant);
      instances.push({ source: `${source}, ${name}`, message: variant });
    }
  });
}

const strictCases = JSON.parse(fs.readFileSync(args['strict-mode'], 'utf8')).cases;
for (const c of strictCases) {
  instances.push({
    source: `strict mode: ${c.messageType}: ${c.name}`,
    expected: c.valid,
    message: {
      messageId: 'msg-5b0d6f8e-8a43-4c5e-9a55-2f1c3f1d9e05',
      messageType: c.messageType,
      messageVersion: '1.0',
      timestamp: '2023-11-25T10:20:00.000Z',
      source: 'ContractTest',
      partitionKey: 'f47ac10b-58cc-4372-a567-0e02b2c3d479',
      payload: c.payload,
    },
  });
}

let agreed = 0;
function compareVerdicts() {
  // valijson, through the service's SchemaRegistry: one JSON line per message in, one out.
  const run = spawnSync(args['order-events'],
    ['schema', 'validate', '--json', '--schemas', args.schemas, '-'],
    { input: instances.map((i) => JSON.stringify(i.message)).join('\n') + '\n', encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024 });
  if (run.error || (run.status !== 0 && run.status !== 1)) {
    console.error(`contracts.js: order-events schema validate failed (${run.error || `exit ${run.status}`}): ${run.stderr}`);
    process.exit(1);
  }
  const valijson = run.stdout.trim().split('\n').map((line) => JSON.parse(line));
  if (valijson.length !== instances.length) {
    fail(`order-events schema validate answered ${valijson.length} times for ${instances.length} messages`);
  }
  instances.forEach((instance, i) => {
    const cpp = valijson[i];
    if (!cpp) return;
    const js = ajvVerdict(instance.message);
    if (js.valid !== cpp.valid) {
      fail(`${instance.source}: Ajv says ${js.valid ? 'valid' : `invalid (${js.error})`}, ` +
           `valijson says ${cpp.valid ? 'valid' : `invalid (${cpp.error})`}`);
      return;
    }
    ++agreed;
    if (instance.expected !== undefined && instance.expected !== js.valid) {
      fail(`${instance.source}: both say ${js.valid ? 'valid' : 'invalid'}, expected ${instance.expected ? 'valid' : 'invalid'}` +
           (js.valid ? '' : ` (${js.error})`));
    }
  });
}

// ---- 4. the events of a real run ----------------------------------------------------------------

const liveExpected = new Set(); // "<type> <version>" every published version that must appear
let liveEvents = 0;

async function liveRun() {
  if (!args['order-service']) return;
  const os = require('os');
  const net = require('net');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'contracts-live-'));
  const port = await new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = server.address();
      server.close(() => resolve(free));
    });
  });
  const database = `sqlite:${path.join(dir, 'orders.db')}`;
  const service = spawn(args['order-service'], [
    '--listen', `127.0.0.1:${port}`, '--database', database, '--schemas', args.schemas,
    '--no-relay', '--no-consumers', '--publish-versions', 'OrderCreatedEvent=1.0,2.0',
    '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  const call = async (method, target, body) => {
    const response = await fetch(base + target, {
      method, headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${target}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : {};
  };
  try {
    for (let waited = 0; ; waited += 50) {
      try {
        if ((await fetch(`${base}/healthz`)).ok) break;
      } catch (e) {
        if (waited > 30000) throw new Error(`order-service did not answer on port ${port}: ${e}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const order = {
      userId: '3fa85f64-5717-4562-b3fc-2c963f66afa6', currency: 'USD',
      items: [{ productId: 'prod-456', quantity: 1, unitPrice: 99.99 },
              { productId: 'prod-789', quantity: 2, unitPrice: 50.0 }],
      customerDetails: { name: 'John Doe', email: 'john.doe@example.com' },
      shippingAddress: { street: '123 Main St', city: 'Anytown', postalCode: '12345', country: 'US' },
    };
    const paid = async () => {
      const { orderId } = await call('POST', '/v1/orders', order);
      const at = `/v1/orders/${orderId}`;
      await call('POST', `${at}/payment`);
      await call('POST', `${at}/payment/result`, { outcome: 'COMPLETED', paymentTransactionId: 'txn-1' });
      return at;
    };
    // The whole life of one order: update, failed and retried payment, two shipments, two
    // deliveries, a refund requested and processed.
    const { orderId } = await call('POST', '/v1/orders', order);
    const at = `/v1/orders/${orderId}`;
    await call('PATCH', at, { shippingAddress: { ...order.shippingAddress, street: '456 Oak Ave' } });
    await call('POST', `${at}/payment`);
    await call('POST', `${at}/payment/result`, { outcome: 'FAILED', paymentTransactionId: 'txn-0',
                                                 failureCode: 'card_declined', message: 'Insufficient funds' });
    await call('POST', `${at}/payment`);
    await call('POST', `${at}/payment/result`, { outcome: 'COMPLETED', paymentTransactionId: 'txn-1' });
    const first = await call('POST', `${at}/shipments`, { carrier: 'UPS', trackingNumber: '1Z9',
                                                          items: [{ productId: 'prod-456', quantity: 1 }] });
    const rest = await call('POST', `${at}/shipments`, { carrier: 'DHL', trackingNumber: 'JD01' });
    await call('POST', `${at}/deliveries`, { shipmentId: first.shipmentId });
    await call('POST', `${at}/deliveries`, { shipmentId: rest.shipmentId });
    const refund = await call('POST', `${at}/refunds`, { amount: 50.0, reason: 'Item arrived damaged' });
    await call('POST', `${at}/refunds/${refund.refundId}/processed`, { refundTransactionId: 'rf-1' });
    // Picked up in a store; cancelled after payment.
    const pickup = await paid();
    await call('POST', `${pickup}/status`, { newStatus: 'AWAITING_PICKUP', reason: 'Ready in store' });
    await call('POST', `${pickup}/deliveries`, { pickup: true });
    await call('POST', `${await paid()}/cancel`, { reason: 'Changed my mind' });
  } finally {
    service.kill('SIGTERM');
    await new Promise((r) => service.once('exit', r));
  }
  const listed = spawnSync(args['order-events'], ['outbox', 'events', '--database', database, '--json'],
                           { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  fs.rmSync(dir, { recursive: true, force: true });
  if (listed.status !== 0) throw new Error(`order-events outbox events failed: ${listed.stderr}`);
  const seen = new Set();
  for (const line of listed.stdout.trim().split('\n')) {
    const event = JSON.parse(line);
    seen.add(`${event.messageType} ${event.messageVersion}`);
    instances.push({ source: `real run: ${event.messageType} ${event.messageVersion} ` +
                             `#${event.sequence} of ${event.partitionKey}`,
                     message: event.envelope, expected: true });
    ++liveEvents;
  }
  for (const type of payloads.keys()) {
    if (!fs.existsSync(path.join(args.docs, `${type}.md`))) continue; // consumed, not published
    liveExpected.add(`${type} 1.0`);
  }
  liveExpected.add('OrderCreatedEvent 2.0');
  for (const expected of liveExpected) {
    if (!seen.has(expected)) fail(`real run: no ${expected} among the ${liveEvents} events committed`);
  }
}

// ---- 3. the AsyncAPI document ----------------------------------------------------------------

async function checkAsyncApi() {
  const { Parser, fromFile, DiagnosticSeverity } = require('@asyncapi/parser');
  const { document, diagnostics } = await fromFile(new Parser(), args.asyncapi).parse();
  for (const d of diagnostics) {
    const where = `${path.basename(args.asyncapi)} ${d.path.join('/')}`;
    if (d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning) {
      fail(`${where}: ${d.message} (${d.code})`);
    } else {
      console.log(`note: ${where}: ${d.message}`);
    }
  }
  if (!document) {
    fail(`${args.asyncapi}: @asyncapi/parser could not parse it`);
    return 0;
  }
  return document.messages().length;
}

liveRun().then(() => {
  compareVerdicts();
  return checkAsyncApi();
}).then((messages) => {
  for (const f of failures) console.error(`FAIL ${f}`);
  console.log(`contracts: ${compiled} schemas compile in Ajv strict mode; ${examples} documented ` +
              `examples and ${instances.length - examples} variants and strict-mode instances: ` +
              `${liveEvents} events of a real run; ` +
              `Ajv and valijson agree on ${agreed} of ${instances.length}; ` +
              `${path.basename(args.asyncapi)}: ${messages} messages, valid for @asyncapi/parser`);
  process.exit(failures.length === 0 ? 0 : 1);
}, (e) => {
  console.error(`contracts.js: ${e.stack || e}`);
  process.exit(1);
});
