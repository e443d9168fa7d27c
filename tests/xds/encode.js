'use strict';
// Proto3 JSON <-> protobuf bytes with Envoy's real protos.
//
// The protos are the ones @grpc/grpc-js-xds ships under deps/ (envoy-api,
// xds, googleapis, protoc-gen-validate), parsed by protobufjs. Types are
// loaded on demand: asking for envoy.config.cluster.v3.Cluster loads every
// .proto of envoy/config/cluster/v3/ (and what they import), so an Any may
// name any type of the API without a list kept here.
//
// encode(typeName, json) -> Buffer   proto3 JSON mapping as input: field
//   names in lowerCamelCase or as in the .proto, "@type" on Any (an Any
//   holding a well-known type carries it in "value"), Duration/Timestamp
//   strings, wrappers as bare values, Struct/Value/ListValue as plain JSON,
//   FieldMask as "a.b,c", enums by name (or number), 64-bit integers as
//   strings or numbers, bytes as base64, maps as objects. Unknown field names
//   and unknown enum names throw (a typo in a test must not vanish).
// decode(typeName, bytes) -> json     the canonical proto3 JSON (lowerCamelCase,
//   default values omitted, Any with "@type").
// encodeAny(json) -> {typeUrl, value} for a JSON object carrying "@type".
const fs = require('fs');
const path = require('path');
const protobuf = require('protobufjs');

function depsDir() {
    // The package's "exports" may hide package.json: find the directory by
    // walking up from its entry point.
    let dir = path.dirname(require.resolve('@grpc/grpc-js-xds'));
    while (!fs.existsSync(path.join(dir, 'deps', 'envoy-api'))) {
        const up = path.dirname(dir);
        if (up === dir) throw new Error('cannot find deps/envoy-api in @grpc/grpc-js-xds');
        dir = up;
    }
    return path.join(dir, 'deps');
}

const DEPS = depsDir();
const INCLUDE_DIRS = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(DEPS, d));

// descriptor.proto is imported by validate/udpa annotations; protobufjs ships
// it as JSON but does not register it as a bundled file by default.
protobuf.common('descriptor', require('protobufjs/google/protobuf/descriptor.json').nested.google.nested.protobuf.nested);

const root = new protobuf.Root();
root.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of INCLUDE_DIRS) {
        const p = path.join(dir, target);
        if (fs.existsSync(p)) return p;
    }
    return target; // bundled google/protobuf/*.proto, or a load error naming it
};
const PARSE_OPTS = { keepCase: true };
const loadedDirs = new Set();

function loadFile(rel) {
    root.loadSync(root.resolvePath('', rel), PARSE_OPTS);
}

for (const wkt of ['any', 'duration', 'timestamp', 'wrappers', 'struct', 'empty', 'field_mask']) {
    loadFile(`google/protobuf/${wkt}.proto`);
}
root.resolveAll();

// Loads every .proto of the first directory named by a prefix of the
// package path of `fullName`; returns true if something new was loaded.
function loadPackageOf(fullName) {
    const parts = fullName.replace(/^\./, '').split('.');
    for (let n = parts.length - 1; n >= 1; n--) {
        const rel = parts.slice(0, n).join('/');
        for (const inc of INCLUDE_DIRS) {
            const dir = path.join(inc, rel);
            if (loadedDirs.has(dir)) continue;
            let files;
            try {
                files = fs.readdirSync(dir).filter((f) => f.endsWith('.proto'));
            } catch (e) {
                continue;
            }
            if (files.length === 0) continue;
            loadedDirs.add(dir);
            for (const f of files) loadFile(path.join(rel, f));
            root.resolveAll();
            return true;
        }
    }
    return false;
}

// The reflected Type or Enum named fullName ("a.b.C", leading dot optional).
function lookup(fullName) {
    const name = fullName.replace(/^\./, '');
    for (;;) {
        const t = root.lookup(name, [protobuf.Type, protobuf.Enum]);
        if (t) return t;
        if (!loadPackageOf(name)) throw new Error(`unknown protobuf type ${name}`);
    }
}

function lookupType(fullName) {
    const t = lookup(fullName);
    if (!(t instanceof protobuf.Type)) throw new Error(`${fullName} is not a message type`);
    return t;
}

function typeNameOfUrl(url) {
    if (typeof url !== 'string' || url.indexOf('/') < 0) throw new Error(`bad type URL ${JSON.stringify(url)}`);
    return url.slice(url.lastIndexOf('/') + 1);
}

const lowerCamel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
const jsonName = (f) => (f.options && f.options.json_name) || lowerCamel(f.name);
const fieldIndexCache = new WeakMap();

// ---- JSON -> protobufjs object -------------------------------------------

const WRAPPERS = {
    'google.protobuf.DoubleValue': 'double',
    'google.protobuf.FloatValue': 'float',
    'google.protobuf.Int64Value': 'int64',
    'google.protobuf.UInt64Value': 'uint64',
    'google.protobuf.Int32Value': 'int32',
    'google.protobuf.UInt32Value': 'uint32',
    'google.protobuf.BoolValue': 'bool',
    'google.protobuf.StringValue': 'string',
    'google.protobuf.BytesValue': 'bytes',
};
// Types whose JSON form is not an object of their fields.
const SPECIAL_JSON = new Set([
    'google.protobuf.Any', 'google.protobuf.Duration', 'google.protobuf.Timestamp', 'google.protobuf.Struct',
    'google.protobuf.Value', 'google.protobuf.ListValue', 'google.protobuf.FieldMask',
    ...Object.keys(WRAPPERS),
]);

function fail(where, msg) {
    throw new Error(`${where || '<root>'}: ${msg}`);
}

const INT32_RANGE = { int32: [-2147483648, 2147483647], sint32: [-2147483648, 2147483647], sfixed32: [-2147483648, 2147483647], uint32: [0, 4294967295], fixed32: [0, 4294967295] };

function scalarFromJson(type, v, where) {
    switch (type) {
    case 'int32': case 'sint32': case 'sfixed32': case 'uint32': case 'fixed32': {
        const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
        if (typeof n !== 'number' || !Number.isInteger(n)) fail(where, `expected an integer, got ${JSON.stringify(v)}`);
        const [lo, hi] = INT32_RANGE[type];
        if (n < lo || n > hi) fail(where, `${n} out of range for ${type}`);
        return n;
    }
    case 'int64': case 'sint64': case 'sfixed64': case 'uint64': case 'fixed64': {
        const unsigned = type === 'uint64' || type === 'fixed64';
        const str = typeof v === 'number' && Number.isInteger(v) ? String(v) : v;
        if (typeof str === 'string' && /^-?\d+$/.test(str)) {
            if (unsigned && str.startsWith('-')) fail(where, `negative value for ${type}`);
            return toLong(str, unsigned);
        }
        return fail(where, `expected an integer (number or string), got ${JSON.stringify(v)}`);
    }
    case 'double': case 'float':
        if (typeof v === 'number') return v;
        if (v === 'NaN') return NaN;
        if (v === 'Infinity') return Infinity;
        if (v === '-Infinity') return -Infinity;
        if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
        return fail(where, `expected a number, got ${JSON.stringify(v)}`);
    case 'bool':
        if (typeof v === 'boolean') return v;
        return fail(where, `expected a boolean, got ${JSON.stringify(v)}`);
    case 'string':
        if (typeof v === 'string') return v;
        return fail(where, `expected a string, got ${JSON.stringify(v)}`);
    case 'bytes':
        if (typeof v === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) return Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
        if (Buffer.isBuffer(v)) return v;
        return fail(where, `expected base64 bytes, got ${JSON.stringify(v)}`);
    default:
        return fail(where, `unsupported scalar type ${type}`);
    }
}

function toLong(str, unsigned) {
    return protobuf.util.Long.fromString(String(str), unsigned);
}

function enumFromJson(en, v, where) {
    if (en.fullName === '.google.protobuf.NullValue') return 0;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && Object.prototype.hasOwnProperty.call(en.values, v)) return en.values[v];
    return fail(where, `unknown value ${JSON.stringify(v)} for enum ${en.fullName.slice(1)}`);
}

function parseDuration(v, where) {
    if (v && typeof v === 'object') return messageFromJson(lookupType('google.protobuf.Duration'), v, where);
    const m = typeof v === 'string' && /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(v);
    if (!m) fail(where, `bad Duration ${JSON.stringify(v)} (want e.g. "1.5s")`);
    const sign = m[1] ? -1 : 1;
    const nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
    const out = {};
    if (m[2] !== '0') out.seconds = toLong(`${m[1] || ''}${m[2]}`);
    if (nanos) out.nanos = sign * nanos;
    return out;
}

function parseTimestamp(v, where) {
    const m = typeof v === 'string' && /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(v);
    if (!m) fail(where, `bad Timestamp ${JSON.stringify(v)} (want RFC 3339)`);
    const ms = Date.parse(`${m[1]}${m[3]}`);
    if (Number.isNaN(ms)) fail(where, `bad Timestamp ${JSON.stringify(v)}`);
    const out = {};
    const secs = Math.floor(ms / 1000);
    if (secs) out.seconds = toLong(secs);
    if (m[2] && Number(m[2])) out.nanos = Number(m[2].padEnd(9, '0'));
    return out;
}

// The bundled google/protobuf/struct.proto of protobufjs names Value's fields
// in camelCase, the others keep the .proto names: ask the reflection.
function fname(typeName, field) {
    return fieldIndex(lookupType(typeName)).get(field).name;
}
const V = {};
for (const f of ['null_value', 'number_value', 'string_value', 'bool_value', 'struct_value', 'list_value']) {
    V[f] = fname('google.protobuf.Value', f);
}

function valueFromJson(v, where) {
    if (v === null) return { [V.null_value]: 0 };
    if (typeof v === 'number') return { [V.number_value]: v };
    if (typeof v === 'string') return { [V.string_value]: v };
    if (typeof v === 'boolean') return { [V.bool_value]: v };
    if (Array.isArray(v)) return { [V.list_value]: { values: v.map((x, i) => valueFromJson(x, `${where}[${i}]`)) } };
    if (typeof v === 'object') return { [V.struct_value]: structFromJson(v, where) };
    return fail(where, `cannot map ${typeof v} to google.protobuf.Value`);
}

function structFromJson(v, where) {
    if (!v || typeof v !== 'object' || Array.isArray(v)) fail(where, 'google.protobuf.Struct must be a JSON object');
    const fields = {};
    for (const [k, x] of Object.entries(v)) fields[k] = valueFromJson(x, `${where}.${k}`);
    return { fields };
}

// An Any from its JSON form: {"@type": url, ...fields} or, for a type with
// a special JSON form, {"@type": url, "value": <that form>}.
function anyFromJson(v, where) {
    if (!v || typeof v !== 'object') fail(where, 'google.protobuf.Any must be a JSON object');
    // Already encoded (e.g. a deliberately invalid payload).
    if (Buffer.isBuffer(v.value) && typeof v.typeUrl === 'string') return v.value.length ? { type_url: v.typeUrl, value: v.value } : { type_url: v.typeUrl };
    if (typeof v['@type'] !== 'string') fail(where, 'google.protobuf.Any needs "@type"');
    const url = v['@type'];
    const inner = lookupType(typeNameOfUrl(url));
    const innerName = inner.fullName.slice(1);
    let bytes;
    if (SPECIAL_JSON.has(innerName)) {
        bytes = encodeType(inner, v.value, `${where}(${innerName})`);
    } else {
        const rest = Object.assign({}, v);
        delete rest['@type'];
        bytes = encodeType(inner, rest, `${where}(${innerName})`);
    }
    // proto3: empty bytes are not on the wire
    return bytes.length ? { type_url: url, value: bytes } : { type_url: url };
}

// JSON -> a plain object with .proto field names that Type.fromObject takes.
function messageFromJson(type, v, where) {
    const name = type.fullName.slice(1);
    switch (name) {
    case 'google.protobuf.Any': return anyFromJson(v, where);
    case 'google.protobuf.Duration': return parseDuration(v, where);
    case 'google.protobuf.Timestamp': return parseTimestamp(v, where);
    case 'google.protobuf.Struct': return structFromJson(v, where);
    case 'google.protobuf.Value': return valueFromJson(v, where);
    case 'google.protobuf.ListValue':
        if (!Array.isArray(v)) fail(where, 'google.protobuf.ListValue must be a JSON array');
        return { values: v.map((x, i) => valueFromJson(x, `${where}[${i}]`)) };
    case 'google.protobuf.FieldMask':
        if (typeof v !== 'string') fail(where, 'google.protobuf.FieldMask must be a string');
        return { paths: v === '' ? [] : v.split(',').map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)) };
    default:
        break;
    }
    if (WRAPPERS[name]) {
        if (v && typeof v === 'object' && !Buffer.isBuffer(v) && 'value' in v) v = v.value;
        const x = scalarFromJson(WRAPPERS[name], v, where);
        return isDefaultScalar(WRAPPERS[name], x) ? {} : { value: x };
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) fail(where, `${name} must be a JSON object, got ${JSON.stringify(v)}`);
    const byName = fieldIndex(type);
    const out = {};
    const oneofSeen = {};
    for (const [key, val] of Object.entries(v)) {
        if (key === '@type') {
            if (typeNameOfUrl(val) !== name) fail(where, `"@type" ${val} given for a ${name}`);
            continue;
        }
        const f = byName.get(key);
        if (!f) fail(where, `unknown field "${key}" in ${name}`);
        const w = `${where}.${key}`;
        if (val === null && f.resolvedType && f.resolvedType.fullName !== '.google.protobuf.Value') continue;
        if (val === null && !f.resolvedType) continue;
        if (f.partOf && !f.partOf.name.startsWith('_')) {
            if (oneofSeen[f.partOf.name]) fail(where, `oneof ${f.partOf.name} has both ${oneofSeen[f.partOf.name]} and ${key}`);
            oneofSeen[f.partOf.name] = key;
        }
        if (f.map) {
            if (!val || typeof val !== 'object' || Array.isArray(val)) fail(w, 'a map must be a JSON object');
            const m = {};
            for (const [mk, mv] of Object.entries(val)) {
                if (f.keyType === 'bool' && mk !== 'true' && mk !== 'false') fail(w, `bad bool map key ${mk}`);
                if (f.keyType !== 'string' && f.keyType !== 'bool' && !/^-?\d+$/.test(mk)) fail(w, `bad integer map key ${mk}`);
                m[mk] = fieldValue(f, mv, `${w}["${mk}"]`);
            }
            out[f.name] = m;
        } else if (f.repeated) {
            if (!Array.isArray(val)) fail(w, 'a repeated field must be a JSON array');
            out[f.name] = val.map((x, i) => fieldValue(f, x, `${w}[${i}]`));
        } else {
            const x = fieldValue(f, val, w);
            // proto3 without presence: a default value is not on the wire
            // (protobufjs would write what is set; protoc does not).
            if (!f.partOf && !(f.resolvedType instanceof protobuf.Type) && isDefaultScalar(f.resolvedType ? 'enum' : f.type, x)) continue;
            out[f.name] = x;
        }
    }
    return out;
}

function fieldValue(f, v, where) {
    f.resolve();
    if (f.resolvedType instanceof protobuf.Type) return messageFromJson(f.resolvedType, v, where);
    if (f.resolvedType instanceof protobuf.Enum) return enumFromJson(f.resolvedType, v, where);
    return scalarFromJson(f.type, v, where);
}

function fieldIndex(type) {
    let m = fieldIndexCache.get(type);
    if (!m) {
        m = new Map();
        for (const f of type.fieldsArray) {
            f.resolve();
            m.set(f.name, f);
            m.set(jsonName(f), f);
            m.set(f.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), f);
        }
        fieldIndexCache.set(type, m);
    }
    return m;
}

function encodeType(type, json, where) {
    const obj = messageFromJson(type, json, where);
    const err = type.verify(obj);
    if (err) fail(where, `${type.fullName.slice(1)}: ${err}`);
    return Buffer.from(type.encode(type.fromObject(obj)).finish());
}

function encode(typeName, json) {
    const t = lookupType(typeName);
    return encodeType(t, json, t.name);
}

function encodeAny(json) {
    const a = anyFromJson(json, json && json['@type']);
    return { typeUrl: a.type_url, value: a.value || Buffer.alloc(0) };
}

// ---- bytes -> canonical proto3 JSON ----------------------------------------

function longToString(v, unsigned) {
    if (typeof v === 'number') return String(v);
    if (typeof v === 'string') return v;
    if (v && typeof v.toString === 'function' && 'low' in v) {
        return protobuf.util.Long ? protobuf.util.Long.fromBits(v.low, v.high, unsigned).toString() : String(protobuf.util.LongBits.from(v).toNumber(unsigned));
    }
    return String(v);
}

function scalarToJson(type, v) {
    switch (type) {
    case 'int64': case 'sint64': case 'sfixed64': return longToString(v, false);
    case 'uint64': case 'fixed64': return longToString(v, true);
    case 'double': case 'float':
        if (Number.isNaN(v)) return 'NaN';
        if (v === Infinity) return 'Infinity';
        if (v === -Infinity) return '-Infinity';
        return v;
    case 'bytes': return Buffer.from(v).toString('base64');
    default: return v;
    }
}

function isDefaultScalar(type, v) {
    switch (type) {
    case 'enum': return v === 0;
    case 'double': case 'float': return v === 0 && 1 / v > 0;
    case 'string': return v === '';
    case 'bool': return v === false;
    case 'bytes': return !v || v.length === 0;
    case 'int64': case 'sint64': case 'sfixed64': case 'uint64': case 'fixed64':
        return longToString(v, false) === '0';
    default: return v === 0;
    }
}

function fracDigits(nanos) {
    if (!nanos) return '';
    let s = String(nanos).padStart(9, '0');
    if (s.endsWith('000000')) s = s.slice(0, 3);
    else if (s.endsWith('000')) s = s.slice(0, 6);
    return `.${s}`;
}

function durationToJson(m) {
    const secs = BigInt(longToString(m.seconds || 0, false));
    const nanos = m.nanos || 0;
    const neg = secs < 0n || nanos < 0;
    const abs = secs < 0n ? -secs : secs;
    return `${neg ? '-' : ''}${abs}${fracDigits(Math.abs(nanos))}s`;
}

function timestampToJson(m) {
    const secs = Number(longToString(m.seconds || 0, false));
    const iso = new Date(secs * 1000).toISOString().replace(/\.\d{3}Z$/, '');
    return `${iso}${fracDigits(m.nanos || 0)}Z`;
}

function valueToJson(m) {
    const own = (k) => Object.prototype.hasOwnProperty.call(m, k);
    if (own(V.number_value)) return scalarToJson('double', m[V.number_value]);
    if (own(V.string_value)) return m[V.string_value];
    if (own(V.bool_value)) return m[V.bool_value];
    if (own(V.struct_value)) return structToJson(m[V.struct_value]);
    if (own(V.list_value)) return (m[V.list_value].values || []).map(valueToJson);
    return null;
}

function structToJson(m) {
    const o = {};
    for (const [k, v] of Object.entries(m.fields || {})) o[k] = valueToJson(v);
    return o;
}

function anyToJson(m) {
    const url = m.type_url || '';
    let inner;
    try {
        inner = lookupType(typeNameOfUrl(url));
    } catch (e) {
        return { '@type': url, value: Buffer.from(m.value || []).toString('base64') };
    }
    const decoded = inner.decode(m.value || Buffer.alloc(0));
    const j = messageToJson(inner, decoded);
    if (SPECIAL_JSON.has(inner.fullName.slice(1))) return { '@type': url, value: j };
    return Object.assign({ '@type': url }, j);
}

function messageToJson(type, m) {
    const name = type.fullName.slice(1);
    switch (name) {
    case 'google.protobuf.Any': return anyToJson(m);
    case 'google.protobuf.Duration': return durationToJson(m);
    case 'google.protobuf.Timestamp': return timestampToJson(m);
    case 'google.protobuf.Struct': return structToJson(m);
    case 'google.protobuf.Value': return valueToJson(m);
    case 'google.protobuf.ListValue': return (m.values || []).map(valueToJson);
    case 'google.protobuf.FieldMask': return (m.paths || []).map(lowerCamel).join(',');
    default: break;
    }
    if (WRAPPERS[name]) return scalarToJson(WRAPPERS[name], m.value === undefined ? (WRAPPERS[name] === 'bool' ? false : 0) : m.value);
    const out = {};
    const own = (k) => Object.prototype.hasOwnProperty.call(m, k);
    for (const f of type.fieldsArray) {
        f.resolve();
        if (!own(f.name) || m[f.name] === null || m[f.name] === undefined) continue;
        const v = m[f.name];
        const key = jsonName(f);
        const conv = (x) => {
            if (f.resolvedType instanceof protobuf.Type) return messageToJson(f.resolvedType, x);
            if (f.resolvedType instanceof protobuf.Enum) {
                const n = f.resolvedType.valuesById[x];
                return n === undefined ? x : n;
            }
            return scalarToJson(f.type, x);
        };
        if (f.map) {
            const keys = Object.keys(v);
            if (keys.length === 0) continue;
            const o = {};
            for (const k of keys) o[k] = conv(v[k]);
            out[key] = o;
        } else if (f.repeated) {
            if (v.length === 0) continue;
            out[key] = v.map(conv);
        } else if (f.resolvedType instanceof protobuf.Type) {
            out[key] = conv(v);
        } else {
            // Presence: members of a oneof (proto3 optional included) are
            // printed even when they hold the default value.
            if (!f.partOf && (f.resolvedType ? v === 0 : isDefaultScalar(f.type, v))) continue;
            out[key] = conv(v);
        }
    }
    return out;
}

function decode(typeName, bytes) {
    const t = lookupType(typeName);
    return messageToJson(t, t.decode(bytes));
}

const TYPE_URL = {
    LDS: 'type.googleapis.com/envoy.config.listener.v3.Listener',
    RDS: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
    CDS: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
    EDS: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
};

module.exports = {
    encode,
    decode,
    encodeAny,
    lookup,
    lookupType,
    typeNameOfUrl,
    lowerCamel,
    TYPE_URL,
    INCLUDE_DIRS,
    root,
};
