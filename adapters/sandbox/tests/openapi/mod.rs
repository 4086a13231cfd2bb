//! The Berlin Group NextGenPSD2 1.3.12 OpenAPI document (the shared `spec/` folder beside the workspace) as a
//! checker of HTTP exchanges as they went over the wire. The operation is looked up by method and path template;
//! its parameters, request body and responses are followed through `$ref` into `components/parameters`,
//! `components/requestBodies`, `components/responses` and `components/headers`, and every schema is checked
//! with the `jsonschema` crate (draft 4, the JSON Schema OpenAPI 3.0 builds on), formats included: `uuid` and
//! `url` (the spec's format of `Location`: an absolute http(s) URL) are registered here, draft 4 knows the rest.
//!
//! Beyond what the document marks `required`, two headers are held to what the sandbox promises: where a 201
//! declares `Location` or `ASPSP-SCA-Approach`, the answer carries it (the sandbox always fixes its approach).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::header::HeaderMap;
use serde_json::{json, Value};

const SPEC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/spec/psd2-api_v1.3.12-2022-07-06.yaml"
);

/// One request and its answer, as they went over the wire.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    /// The path below the bank's base URL, from `/v1/` on.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub request_headers: HeaderMap,
    pub request_body: Vec<u8>,
    pub status: u16,
    pub response_headers: HeaderMap,
    pub response_body: Vec<u8>,
}

/// An operation of the spec matched to a request.
pub struct Operation<'a> {
    pub id: &'a str,
    path_item: &'a Value,
    operation: &'a Value,
    /// The path's parameters by name, as sent.
    path_values: Vec<(&'a str, String)>,
}

pub struct Spec {
    document: Value,
    /// Every header name the spec defines, lower case: as request parameters and as response headers.
    request_headers: BTreeSet<String>,
    response_headers: BTreeSet<String>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::parse_str(text).is_ok()
}

fn is_absolute_url(text: &str) -> bool {
    reqwest::Url::parse(text).is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
}

/// A header or query value as the JSON its schema expects.
fn typed(value: &str, schema: &Value) -> Value {
    match schema.get("type").and_then(Value::as_str) {
        Some("boolean") => match value {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => json!(value),
        },
        Some("integer") => value.parse::<i64>().map_or_else(|_| json!(value), |n| json!(n)),
        _ => json!(value),
    }
}

impl Spec {
    pub fn get() -> &'static Spec {
        static SPEC_DOCUMENT: OnceLock<Spec> = OnceLock::new();
        SPEC_DOCUMENT.get_or_init(|| {
            let text =
                std::fs::read_to_string(SPEC).expect("the Berlin Group spec is in shared/spec beside the workspace");
            let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("the spec is YAML");
            let document = serde_json::to_value(&yaml).expect("the spec converts to JSON");
            let names = |kind: &str, of: fn(&str, &Value) -> Option<String>| -> BTreeSet<String> {
                document["components"][kind]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(key, value)| of(key, value))
                    .map(|name| name.to_ascii_lowercase())
                    .collect()
            };
            let request_headers = names("parameters", |_, p| {
                (p["in"] == "header").then(|| p["name"].as_str().unwrap_or_default().to_owned())
            });
            let response_headers = names("headers", |key, _| Some(key.to_owned()));
            Spec {
                document,
                request_headers,
                response_headers,
                validators: Mutex::new(HashMap::new()),
            }
        })
    }

    /// `value`, or what its `$ref` (into this document) points to, followed to the end.
    fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        while let Some(reference) = value.get("$ref").and_then(Value::as_str) {
            let pointer = reference.trim_start_matches('#');
            value = self
                .document
                .pointer(pointer)
                .unwrap_or_else(|| panic!("the spec has no {reference}"));
        }
        value
    }

    /// The operation for `method` on `path` (from `/v1/` on): the template whose literal segments match the
    /// most, so `/v1/consents/{consentId}/status` wins over `/v1/{payment-service}/{payment-product}/{paymentId}`.
    pub fn operation(&self, method: &str, path: &str) -> Option<Operation<'_>> {
        let segments: Vec<&str> = path.split('/').collect();
        let method = method.to_ascii_lowercase();
        self.document["paths"]
            .as_object()?
            .iter()
            .filter_map(|(template, item)| {
                let parts: Vec<&str> = template.split('/').collect();
                if parts.len() != segments.len() || item.get(&method).is_none() {
                    return None;
                }
                let mut literal = 0;
                let mut values = Vec::new();
                for (part, segment) in parts.iter().zip(&segments) {
                    if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                        if segment.is_empty() {
                            return None;
                        }
                        values.push((name, (*segment).to_owned()));
                    } else if part == segment {
                        literal += 1;
                    } else {
                        return None;
                    }
                }
                Some((literal, template, item, values))
            })
            .max_by_key(|(literal, ..)| *literal)
            .map(|(_, _, item, path_values)| Operation {
                id: item[&method]["operationId"].as_str().unwrap_or("?"),
                path_item: item,
                operation: &item[&method],
                path_values,
            })
    }

    fn validator(&self, schema: &Value) -> Arc<jsonschema::Validator> {
        let key = schema.to_string();
        let mut cache = self.validators.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry(key)
            .or_insert_with(|| {
                // The schema is checked as part of a document holding the spec's components, so its `$ref`s resolve.
                let root = json!({ "allOf": [schema], "components": self.document["components"] });
                let validator = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft4)
                    .should_validate_formats(true)
                    .with_format("uuid", is_uuid)
                    .with_format("url", is_absolute_url)
                    .build(&root)
                    .unwrap_or_else(|e| panic!("schema {schema} does not compile: {e}"));
                Arc::new(validator)
            })
            .clone()
    }

    /// Every way `instance` violates `schema` (a schema of this document, `$ref`s allowed).
    pub fn violations(&self, schema: &Value, instance: &Value) -> Vec<String> {
        self.validator(schema)
            .iter_errors(instance)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect()
    }

    /// Every way `instance` violates `#/components/schemas/{name}`.
    pub fn schema_violations(&self, name: &str, instance: &Value) -> Vec<String> {
        assert!(
            self.document["components"]["schemas"].get(name).is_some(),
            "the spec has no schema {name}"
        );
        self.violations(&json!({ "$ref": format!("#/components/schemas/{name}") }), instance)
    }

    /// The operation's parameters, path-level ones included, resolved.
    fn parameters<'a>(&'a self, operation: &Operation<'a>) -> Vec<&'a Value> {
        [
            operation.path_item.get("parameters"),
            operation.operation.get("parameters"),
        ]
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .map(|p| self.resolve(p))
        .collect()
    }

    /// Every way the request breaks the spec: the operation exists, its path, query and header parameters are
    /// there when required and valid per their schemas, no parameter is sent that it does not declare, and the
    /// body is valid per the request body's schema.
    pub fn request_violations(&self, exchange: &Exchange) -> Vec<String> {
        let Some(operation) = self.operation(&exchange.method, &exchange.path) else {
            return vec![format!(
                "no operation {} {} in the spec",
                exchange.method, exchange.path
            )];
        };
        let mut found = Vec::new();
        let parameters = self.parameters(&operation);
        let mut declared_headers = BTreeSet::new();
        for parameter in &parameters {
            let name = parameter["name"].as_str().unwrap_or_default();
            let place = parameter["in"].as_str().unwrap_or("?");
            let required = parameter["required"] == true;
            let schema = self.resolve(&parameter["schema"]);
            let sent: Vec<String> = match place {
                "path" => operation
                    .path_values
                    .iter()
                    .filter(|(n, _)| *n == name)
                    .map(|(_, v)| v.clone())
                    .collect(),
                "query" => exchange
                    .query
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .collect(),
                "header" => {
                    declared_headers.insert(name.to_ascii_lowercase());
                    exchange
                        .request_headers
                        .get_all(name)
                        .iter()
                        .map(|v| v.to_str().unwrap_or("\u{fffd}").to_owned())
                        .collect()
                }
                _ => Vec::new(),
            };
            if sent.is_empty() && required {
                found.push(format!("required {place} parameter {name} is missing"));
            }
            for value in sent {
                for violation in self.violations(&parameter["schema"], &typed(&value, schema)) {
                    found.push(format!("{place} parameter {name} {value:?}: {violation}"));
                }
            }
        }
        for (name, _) in &exchange.query {
            if !parameters
                .iter()
                .any(|p| p["in"] == "query" && p["name"] == name.as_str())
            {
                found.push(format!("query parameter {name} is not one of the operation's"));
            }
        }
        for name in exchange.request_headers.keys() {
            let name = name.as_str();
            if self.request_headers.contains(name) && !declared_headers.contains(name) {
                found.push(format!("header {name} is not one of the operation's"));
            }
        }
        let body = operation.operation.get("requestBody").map(|b| self.resolve(b));
        match (body, exchange.request_body.is_empty()) {
            (Some(body), true) if body["required"] == true => found.push("the required body is missing".into()),
            (Some(body), false) => match serde_json::from_slice::<Value>(&exchange.request_body) {
                Ok(json) => {
                    let schema = &body["content"]["application/json"]["schema"];
                    found.extend(self.violations(schema, &json).into_iter().map(|v| format!("body: {v}")));
                }
                Err(e) => found.push(format!("the body is not JSON: {e}")),
            },
            (None, false) => found.push("a body where the operation has none".into()),
            _ => {}
        }
        found
    }

    /// Every way the answer breaks the spec: the status is one the operation declares; every header that answer
    /// requires is there, and every header the spec knows is declared for it and valid per its schema; the body
    /// is in a declared media type and valid per its schema, or absent where no content is declared.
    pub fn response_violations(&self, exchange: &Exchange) -> Vec<String> {
        let Some(operation) = self.operation(&exchange.method, &exchange.path) else {
            return vec![format!(
                "no operation {} {} in the spec",
                exchange.method, exchange.path
            )];
        };
        let responses = &operation.operation["responses"];
        let Some(response) = responses
            .get(exchange.status.to_string())
            .or_else(|| responses.get("default"))
            .map(|r| self.resolve(r))
        else {
            return vec![format!("status {} is not one the operation declares", exchange.status)];
        };
        let mut found = Vec::new();
        let declared = response["headers"].as_object();
        for (name, header) in declared.into_iter().flatten() {
            let header = self.resolve(header);
            let promised = exchange.status == 201 && matches!(name.as_str(), "Location" | "ASPSP-SCA-Approach");
            let Some(value) = exchange.response_headers.get(name.as_str()) else {
                if header["required"] == true || promised {
                    found.push(format!("header {name} is missing"));
                }
                continue;
            };
            let value = value.to_str().unwrap_or("\u{fffd}");
            let schema = &header["schema"];
            for violation in self.violations(schema, &typed(value, self.resolve(schema))) {
                found.push(format!("header {name} {value:?}: {violation}"));
            }
        }
        for name in exchange.response_headers.keys() {
            let known = self.response_headers.contains(name.as_str());
            let listed = declared.is_some_and(|d| d.keys().any(|k| k.eq_ignore_ascii_case(name.as_str())));
            if known && !listed {
                found.push(format!("header {name} is not declared for this answer"));
            }
        }
        let content = response["content"].as_object().filter(|c| !c.is_empty());
        let Some(content) = content else {
            if !exchange.response_body.is_empty() {
                found.push("a body where the answer declares none".into());
            }
            return found;
        };
        let media_type = exchange
            .response_headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let Some(declared) = content.get(&media_type) else {
            found.push(format!("media type {media_type:?} is not declared for this answer"));
            return found;
        };
        match serde_json::from_slice::<Value>(&exchange.response_body) {
            Ok(json) => found.extend(
                self.violations(&declared["schema"], &json)
                    .into_iter()
                    .map(|v| format!("body: {v}")),
            ),
            Err(e) => found.push(format!("the body is not JSON: {e}")),
        }
        found
    }
}
