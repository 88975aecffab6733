// SPDX-License-Identifier: MIT
/*
 * Checks api/openapi.yaml against a running controller: for every
 * operation, requests generated from the spec's own schemas
 * (json-schema-faker: path, query and header parameters, bodies), sent to
 * the listener the spec names for it; every answer is checked against the
 * spec (ajv): its status is documented for the operation, its content type
 * is one the response lists, its JSON body matches the schema. The bar: no
 * 5xx (but the few listed in ALLOWED_5XX, with their reason) and no answer
 * outside the spec.
 *
 *   node contract.js --static SPEC         checks the linter cannot make
 *   node contract.js SPEC                  the run; environment:
 *     CONTRACT_SERVERS  JSON {"<server url in the spec>": "<real base URL>"}
 *     CONTRACT_TOKEN    the admin bearer token
 *     CONTRACT_ROUNDS   requests per operation (default 25)
 *     CONTRACT_SEED     PRNG seed (default: random, printed)
 */
'use strict';

const fs = require('fs');
const YAML = require('yaml');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');
const jsf = require('json-schema-faker');

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
/* 5xx that are the right answer to a generated request, by operationId. */
const ALLOWED_5XX = {
	// A generated invite names a cell at a random endpoint: unreachable.
	linkCell: [502],
};

function fail(msg) {
	console.error('contract: ' + msg);
	process.exit(2);
}

function loadSpec(file) {
	return YAML.parse(fs.readFileSync(file, 'utf8'));
}

/* A copy of node with every local $ref replaced by its target (the spec
 * has no recursive schemas). */
function deref(spec, node, depth = 0) {
	if (depth > 50) fail('$ref nesting over 50: a cycle?');
	if (Array.isArray(node)) return node.map((n) => deref(spec, n, depth + 1));
	if (!node || typeof node !== 'object') return node;
	if (typeof node.$ref === 'string') {
		const parts = node.$ref.replace(/^#\//, '').split('/');
		let target = spec;
		for (const p of parts)
			target = target && target[p.replace(/~1/g, '/').replace(/~0/g, '~')];
		if (target === undefined) fail('unresolved ' + node.$ref);
		return deref(spec, target, depth + 1);
	}
	const out = {};
	for (const [k, v] of Object.entries(node)) out[k] = deref(spec, v, depth + 1);
	return out;
}

function* operations(spec) {
	for (const [path, item] of Object.entries(spec.paths || {}))
		for (const method of METHODS)
			if (item[method]) yield { path, method, item, op: item[method] };
}

/* What the linter does not catch: additionalProperties: false inside an
 * allOf (the other members' properties then never validate) and a
 * schema's required names missing from its properties. */
function staticChecks(spec) {
	const problems = [];
	const walk = (node, where) => {
		if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}/${i}`));
		if (!node || typeof node !== 'object') return;
		const members = (node.allOf || []).map((m) => deref(spec, m));
		const adding = members.filter((m) => m.properties).length;
		members.forEach((m, i) => {
			if (m.additionalProperties === false && adding > 1)
				problems.push(`${where}/allOf/${i}: additionalProperties: false inside an allOf whose other members add properties`);
		});
		if (Array.isArray(node.required) && node.properties)
			for (const r of node.required)
				if (!(r in node.properties))
					problems.push(`${where}: required '${r}' is not among its properties`);
		for (const [k, v] of Object.entries(node)) walk(v, `${where}/${k}`);
	};
	walk(spec, '#');
	const ids = new Set();
	for (const { path, method, op } of operations(spec)) {
		if (!op.operationId) problems.push(`${method.toUpperCase()} ${path}: no operationId`);
		else if (ids.has(op.operationId)) problems.push(`operationId ${op.operationId} twice`);
		ids.add(op.operationId);
	}
	return problems;
}

/* mulberry32: a seeded PRNG, so a failing run can be replayed. */
function prng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

function makeAjv() {
	const ajv = new Ajv({ strict: false, allErrors: true });
	addFormats(ajv);
	ajv.addFormat('binary', true);
	return ajv;
}

/* The real base URL of an operation: its own servers, its path's, or the
 * document's, mapped through CONTRACT_SERVERS. */
function baseUrl(spec, item, op, servers) {
	const list = op.servers || item.servers || spec.servers || [];
	for (const s of list) if (servers[s.url]) return servers[s.url];
	return null;
}

/* Names and ids the server answered with, per collection path, so that
 * generated requests also reach objects that exist. */
const seen = {};
function remember(collection, body) {
	const items = Array.isArray(body) ? body : [body];
	for (const o of items) {
		const id = o && typeof o === 'object' && (o.name || o.id || o.cell_name);
		if (typeof id === 'string') (seen[collection] = seen[collection] || new Set()).add(id);
	}
}

function collectionOf(path) {
	return path.replace(/\/\{[^}]+\}.*$/, '');
}

function buildRequest(spec, ctx, rnd) {
	const { path, item, op } = ctx;
	const params = deref(spec, [...(item.parameters || []), ...(op.parameters || [])]);
	let url = path;
	const query = new URLSearchParams();
	const headers = {};
	for (const p of params) {
		if (!p.required && rnd() < 0.5) continue;
		let value = jsf.generate(p.schema);
		const known = seen[collectionOf(path)];
		if (p.in === 'path' && known && known.size && rnd() < 0.6) {
			const all = [...known];
			value = all[Math.floor(rnd() * all.length)];
		}
		if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(String(value)));
		else if (p.in === 'query') query.set(p.name, String(value));
		else if (p.in === 'header') headers[p.name] = String(value);
	}
	const security = op.security || spec.security || [];
	const secured = security.some((s) => Object.keys(s).length > 0);
	/* One request in ten without the token: the 401 must be documented. */
	if (secured && rnd() >= 0.1) headers.Authorization = `Bearer ${ctx.token}`;
	let body;
	const rb = op.requestBody && deref(spec, op.requestBody);
	if (rb && rb.content && rb.content['application/json']) {
		body = JSON.stringify(jsf.generate(rb.content['application/json'].schema));
		headers['Content-Type'] = 'application/json';
	}
	const qs = query.toString();
	return { url: url + (qs ? `?${qs}` : ''), headers, body };
}

/* Every way the answer leaves the spec, as strings (empty: conforms). */
function judge(spec, ajv, ctx, status, type, text) {
	const { op } = ctx;
	const out = [];
	if (status >= 500 && !(ALLOWED_5XX[op.operationId] || []).includes(status))
		out.push(`server error ${status}`);
	const resp = op.responses[String(status)] || op.responses.default;
	if (!resp) return out.concat(`status ${status} is not documented`);
	const r = deref(spec, resp);
	if (!r.content) {
		if (text.length) out.push(`status ${status} documents no body, got ${text.length} bytes`);
		return out;
	}
	const media = (type || '').split(';')[0].trim().toLowerCase();
	const doc = r.content[media];
	if (!doc) return out.concat(`content type '${type}' not in ${Object.keys(r.content)}`);
	if (media !== 'application/json' || !doc.schema) return out;
	let body;
	try {
		body = JSON.parse(text);
	} catch (e) {
		return out.concat(`body is not JSON: ${text.slice(0, 80)}`);
	}
	const key = `${ctx.method} ${ctx.path} ${status}`;
	const validate = ctx.validators[key] || (ctx.validators[key] = ajv.compile(deref(spec, doc.schema)));
	if (!validate(body))
		out.push(`body does not match: ${ajv.errorsText(validate.errors)}: ${text.slice(0, 200)}`);
	else if (status < 300) remember(collectionOf(ctx.path), body);
	return out;
}

function fieldOf(text) {
	try {
		return JSON.parse(text).field || '(body)';
	} catch (e) {
		return '?';
	}
}

async function send(base, req) {
	const res = await fetch(base + req.url, {
		method: req.method,
		headers: req.headers,
		body: req.body,
		signal: AbortSignal.timeout(15000),
	});
	const text = await res.text();
	return { status: res.status, type: res.headers.get('content-type'), text };
}

async function run(spec) {
	const servers = JSON.parse(process.env.CONTRACT_SERVERS || '{}');
	const rounds = Number(process.env.CONTRACT_ROUNDS || 25);
	const seed = Number(process.env.CONTRACT_SEED || Math.floor(Math.random() * 2 ** 31));
	const rnd = prng(seed);
	jsf.option({ random: rnd, noAdditional: true, optionalsProbability: 0.6, maxItems: 4 });
	const ajv = makeAjv();
	const ctxs = [...operations(spec)].map((c) => ({
		...c,
		token: process.env.CONTRACT_TOKEN || '',
		validators: {},
		base: baseUrl(spec, c.item, c.op, servers),
	}));
	console.log(`# seed ${seed}, ${rounds} requests per operation`);
	/* Reads first (they seed the known names), deletions last. */
	const order = { get: 0, put: 1, post: 1, patch: 1, delete: 2 };
	ctxs.sort((a, b) => order[a.method] - order[b.method]);
	let passed = 0;
	let failed = 0;
	for (const ctx of ctxs) {
		const name = `${ctx.op.operationId} (${ctx.method.toUpperCase()} ${ctx.path})`;
		if (!ctx.base) {
			console.log(`not ok - ${name}: no server of the spec is mapped in CONTRACT_SERVERS`);
			failed++;
			continue;
		}
		const statuses = {};
		const fields = new Set(); // what the 400s named: where the spec is looser than the server
		const problems = [];
		for (let i = 0; i < rounds; i++) {
			const req = buildRequest(spec, ctx, rnd);
			req.method = ctx.method.toUpperCase();
			let res;
			try {
				res = await send(ctx.base, req);
			} catch (e) {
				problems.push(`${req.method} ${req.url}: ${e.message}`);
				continue;
			}
			statuses[res.status] = (statuses[res.status] || 0) + 1;
			if (res.status === 400) fields.add(fieldOf(res.text));
			for (const p of judge(spec, ajv, ctx, res.status, res.type, res.text))
				problems.push(`${req.method} ${req.url} ${req.body || ''} -> ${p}`);
		}
		let seenStatuses = Object.entries(statuses).map(([s, n]) => `${s}x${n}`).join(' ');
		if (fields.size) seenStatuses += `; 400 on: ${[...fields].join(' ')}`;
		if (problems.length) {
			failed++;
			console.log(`not ok - ${name}: ${problems.length} answers outside the spec [${seenStatuses}]`);
			for (const p of [...new Set(problems)].slice(0, 5)) console.log(`#   ${p}`);
		} else {
			passed++;
			console.log(`ok - ${name} [${seenStatuses}]`);
		}
	}
	console.log(`contract: ${passed} passed, ${failed} failed`);
	return failed === 0;
}

async function main() {
	const args = process.argv.slice(2);
	const staticOnly = args[0] === '--static';
	const file = staticOnly ? args[1] : args[0];
	if (!file) fail('usage: contract.js [--static] SPEC');
	const spec = loadSpec(file);
	const problems = staticChecks(spec);
	for (const p of problems) console.log(`contract: ${file}: ${p}`);
	if (problems.length) process.exit(1);
	if (staticOnly) {
		console.log(`contract: ${file}: static checks passed`);
		return;
	}
	process.exit((await run(spec)) ? 0 : 1);
}

main().catch((e) => fail(e.stack || String(e)));
