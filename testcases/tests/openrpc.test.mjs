// The checked-in OpenRPC document (schemas/openrpc.json, the one `rpc.discover` serves; a Rust
// drift test keeps them equal) validated against the official OpenRPC meta-schema, pinned in
// package-lock.json. Needs no daemon: `cd testcases && npm ci && node --test tests/openrpc.test.mjs`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(import.meta.url);
const Ajv = require('ajv');
const { openrpcDocument: metaSchema } = require('@open-rpc/meta-schema');
const jsonSchemaMeta = require('@json-schema-tools/meta-schema').default;

const doc = JSON.parse(readFileSync(new URL('../../schemas/openrpc.json', import.meta.url), 'utf8'));

/** The meta-schema and the JSON Schema meta-schema it refers to, by their ids; `$schema` is
 * their own dialect's URL, which Ajv does not know, and says nothing more than draft 7. */
function validator() {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const bare = (schema) => {
    const { $schema: _dialect, ...rest } = structuredClone(schema);
    return rest;
  };
  ajv.addSchema(bare(jsonSchemaMeta), 'https://meta.json-schema.tools');
  return ajv.compile(bare(metaSchema));
}

test('the OpenRPC document validates against the official meta-schema', () => {
  const validate = validator();
  const ok = validate(doc);
  assert.ok(ok, JSON.stringify(validate.errors?.slice(0, 5), null, 2));
});

test('the meta-schema check refuses a broken document', () => {
  const validate = validator();
  const broken = structuredClone(doc);
  broken.methods[0].params = 'not a list';
  delete broken.info;
  assert.equal(validate(broken), false, 'a document without info and with bad params must fail');
});

test('record schemas declare their members required; writes do not', () => {
  const schemas = doc.components.schemas;
  for (const name of ['Logic', 'LogicVersion', 'LogicExample', 'Play']) {
    assert.ok(schemas[name].required?.includes('sid'), `${name} requires sid`);
  }
  const set = doc.methods.find((m) => m.name === 'logic.set');
  assert.equal(set.params[0].schema.$ref, '#/components/schemas/LogicWrite');
  assert.equal(schemas.LogicWrite.required, undefined, 'a write may leave members out');
});

test('find declares the fields it filters on', () => {
  const find = doc.methods.find((m) => m.name === 'play.find');
  const names = find.params.map((p) => p.name);
  for (const field of ['logic_sid', 'parent_play_sid', 'status']) assert.ok(names.includes(field), `play.find filters on ${field}`);
});

test('every method declares its errors and the old names are listed as deprecated', () => {
  for (const method of doc.methods) {
    assert.ok(Array.isArray(method.errors) && method.errors.length > 0, `${method.name} declares errors`);
  }
  for (const name of ['workflow.get', 'workflow.set', 'workflowversion.find', 'example.list']) {
    const alias = doc.methods.find((m) => m.name === name);
    assert.ok(alias, `${name} is listed`);
    assert.equal(alias.deprecated, true, `${name} is deprecated`);
  }
  const get = doc.methods.find((m) => m.name === 'logic.get');
  const codes = get.errors.map((e) => doc.components.errors[e.$ref.split('/').pop()].code);
  assert.ok(codes.includes(-32004), 'logic.get may answer not found');
});
