//! Issue 18: every answer of `/api/v1` that the integration suite receives is checked against
//! the OpenAPI document generated from the handlers' types (`Client::send` calls `check`). An
//! answer with a status the document does not list, a missing required field, a field of the
//! wrong type or a field the document does not name fails the test that received it.

use std::sync::OnceLock;

use serde_json::Value;

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(kumanet_web::api::openapi::openapi_document)
}

/// The document's path template for a concrete path: the one with the most literal segments.
fn template<'d>(doc: &'d Value, path: &str) -> Option<(&'d str, &'d Value)> {
    let segs: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()?
        .iter()
        .filter_map(|(t, item)| {
            let tsegs: Vec<&str> = t.split('/').collect();
            if tsegs.len() != segs.len() {
                return None;
            }
            let mut literal = 0;
            for (a, b) in tsegs.iter().zip(&segs) {
                if a.starts_with('{') {
                    continue;
                }
                if a != b {
                    return None;
                }
                literal += 1;
            }
            Some((literal, t.as_str(), item))
        })
        .max_by_key(|(literal, _, _)| *literal)
        .map(|(_, t, item)| (t, item))
}

/// Check one answer of the API; panics with every difference found.
pub fn check(method: &str, path: &str, status: u16, content_type: &str, body: &str) {
    let path = path.split('?').next().unwrap_or(path);
    if !path.starts_with("/api/v1/") || path == "/api/v1/openapi.json" {
        return;
    }
    let doc = document();
    let Some((t, item)) = template(doc, path) else { return };
    let op = &item[method.to_ascii_lowercase()];
    if op.is_null() {
        // Not an operation of the API (405): nothing to check.
        return;
    }
    let answer = &op["responses"][status.to_string()];
    assert!(!answer.is_null(), "{method} {t} answered {status}, which the OpenAPI document does not list: {body}");
    let Some(schema) = answer.pointer("/content/application~1json/schema") else { return };
    assert!(
        content_type.starts_with("application/json"),
        "{method} {t} {status}: the document says JSON, the answer is {content_type}"
    );
    let value: Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{method} {t} {status}: not JSON ({e}): {body}"));
    let mut errors = Vec::new();
    validate(doc, schema, &value, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "{method} {t} {status} differs from the OpenAPI document:\n{}\n{body}",
        errors.join("\n")
    );
}

/// The part of JSON Schema (2020-12, as OpenAPI 3.1 uses it) that the document uses.
pub fn validate(doc: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        if target.is_null() {
            errors.push(format!("{at}: {r} is not in the document"));
            return;
        }
        return validate(doc, target, v, at, errors);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alternatives) = schema.get(key).and_then(Value::as_array) {
            let matching = alternatives
                .iter()
                .filter(|s| {
                    let mut e = Vec::new();
                    validate(doc, s, v, at, &mut e);
                    e.is_empty()
                })
                .count();
            if matching == 0 || (key == "oneOf" && matching > 1) {
                errors.push(format!("{at}: {v} matches {matching} of the {} schemas of {key}", alternatives.len()));
            }
            return;
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            validate(doc, s, v, at, errors);
        }
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let fits = types.iter().any(|t| match *t {
            "null" => v.is_null(),
            "boolean" => v.is_boolean(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "string" => v.is_string(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            _ => false,
        });
        if !fits {
            errors.push(format!("{at}: {v} is not {}", types.join(" or ")));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(v) {
            errors.push(format!("{at}: {v} is not one of {allowed:?}"));
        }
    }
    if let Some(obj) = v.as_object() {
        for r in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            if let Some(name) = r.as_str() {
                if !obj.contains_key(name) {
                    errors.push(format!("{at}: the required field {name} is missing"));
                }
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        let extra = schema.get("additionalProperties");
        for (k, x) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate(doc, s, x, &format!("{at}.{k}"), errors),
                None => match extra {
                    Some(Value::Object(s)) => validate(doc, &Value::Object(s.clone()), x, &format!("{at}.{k}"), errors),
                    Some(Value::Bool(true)) => {}
                    _ if props.is_some() => errors.push(format!("{at}: the field {k} is not in the document")),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            validate(doc, items, x, &format!("{at}[{i}]"), errors);
        }
    }
}

#[test]
fn the_checker_finds_a_missing_field_a_wrong_type_an_unnamed_field_and_an_unlisted_status() {
    let doc = serde_json::json!({ "components": { "schemas": { "P": { "type": "object", "required": ["id"],
        "properties": { "id": { "type": "string" }, "n": { "type": ["integer", "null"] } } } } } });
    let s = serde_json::json!({ "$ref": "#/components/schemas/P" });
    let run = |v: Value| {
        let mut e = Vec::new();
        validate(&doc, &s, &v, "$", &mut e);
        e
    };
    assert!(run(serde_json::json!({ "id": "a", "n": null })).is_empty());
    assert!(run(serde_json::json!({ "id": "a", "n": 3 })).is_empty());
    assert_eq!(run(serde_json::json!({ "n": 3 })), vec!["$: the required field id is missing"]);
    assert_eq!(run(serde_json::json!({ "id": 1 })), vec!["$.id: 1 is not string"]);
    assert_eq!(run(serde_json::json!({ "id": "a", "x": 1 })), vec!["$: the field x is not in the document"]);
    let unlisted = std::panic::catch_unwind(|| check("GET", "/api/v1/session", 418, "application/json", "{}"));
    assert!(unlisted.is_err(), "a status the document does not list is refused");
}
