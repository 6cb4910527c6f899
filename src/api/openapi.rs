//! The OpenAPI document as served at `/api/openapi.json`: what utoipa derives from the routes,
//! completed by passes over the whole document for what every operation of a kind shares, so no
//! route can forget it: partial update bodies, the bearer token and its 401/403 answers, and
//! the rule that a text field is never blank.

use serde_json::{Map, Value, json};

/// The document as served.
pub fn document(openapi: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(openapi).unwrap_or_default();
    partial_updates(&mut doc);
    bearer_security(&mut doc);
    text_is_never_blank(&mut doc);
    blank_query_parameters(&mut doc);
    doc
}

/// An update (PUT) takes any subset of the fields its create
/// takes, so each PUT body that names an `<X>Input` schema is pointed at an `<X>Changes` copy with
/// nothing required: derived here, once, rather than kept by hand beside every input type.
fn partial_updates(doc: &mut Value) {
    let mut partial = std::collections::BTreeMap::new();
    if let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for operation in paths.values_mut().filter_map(|item| item.get_mut("put")) {
            let Some(schema_ref) =
                operation.pointer_mut("/requestBody/content/application~1json/schema/$ref")
            else {
                continue;
            };
            let Some(name) = schema_ref
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .map(str::to_owned)
            else {
                continue;
            };
            let changes = format!("{}Changes", name.strip_suffix("Input").unwrap_or(&name));
            *schema_ref = Value::String(format!("#/components/schemas/{changes}"));
            partial.insert(changes, name);
        }
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(|s| s.as_object_mut())
    {
        for (changes, name) in partial {
            if let Some(mut schema) = schemas.get(&name).cloned() {
                if let Some(fields) = schema.as_object_mut() {
                    fields.remove("required");
                    fields.insert(
                        "description".into(),
                        format!("Any of the fields of {name}: those sent replace the stored ones, null clears an optional one.").into(),
                    );
                }
                schemas.insert(changes, schema);
            }
        }
    }
}

/// Paths of `/api/auth` that need a token; the rest of `/api/auth` (login) does not.
const AUTH_WITH_TOKEN: &[&str] = &[
    "/api/auth/refresh",
    "/api/auth/logout",
    "/api/auth/me",
    "/api/auth/password",
];

/// Whether operations on `path` need a bearer token (what [`crate::auth::guard`] enforces).
fn needs_token(path: &str) -> bool {
    path.starts_with("/api/cms/") || AUTH_WITH_TOKEN.contains(&path)
}

/// The `bearer` security scheme, required by every operation behind the token guard, and the
/// answers that guard gives: 401 (no valid token) and, under `/api/cms`, 403 (the role may not).
fn bearer_security(doc: &mut Value) {
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        })
    };
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut().filter(|(path, _)| needs_token(path)) {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for operation in item.values_mut().filter_map(Value::as_object_mut) {
                operation.insert("security".into(), json!([{"bearer": []}]));
                let Some(responses) = operation
                    .entry("responses")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                else {
                    continue;
                };
                responses.entry("401").or_insert_with(|| {
                    error("No token, or one that is expired, tampered with or revoked (`unauthorized`); `WWW-Authenticate: Bearer`.")
                });
                if path.starts_with("/api/cms/") {
                    responses.entry("403").or_insert_with(|| {
                        error("The caller's role may not do this (`forbidden`).")
                    });
                }
            }
        }
    }
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) {
        let schemes = components
            .entry("securitySchemes")
            .or_insert_with(|| json!({}));
        if let Some(schemes) = schemes.as_object_mut() {
            schemes.insert(
                "bearer".into(),
                json!({
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A token from POST /api/auth/login, sent as `Authorization: Bearer <token>`.",
                }),
            );
        }
    }
}

/// A text field of a request body is never blank: the API refuses `""` and spaces alone (422
/// naming the field); `null`, or leaving the field out, is how a client says "none". Every string
/// property of a request body schema says so with `minLength` and a non-blank `pattern`.
fn text_is_never_blank(doc: &mut Value) {
    let bodies = request_body_schemas(doc);
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for name in bodies {
        let Some(properties) = schemas
            .get_mut(&name)
            .and_then(|s| s.get_mut("properties"))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for property in properties.values_mut().filter_map(Value::as_object_mut) {
            if is_string(property) {
                property.entry("minLength").or_insert(json!(1));
                property.entry("pattern").or_insert_with(|| json!("\\S"));
            }
        }
    }
}

/// The component schemas named as a request body.
fn request_body_schemas(doc: &Value) -> Vec<String> {
    let mut names = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return names;
    };
    for operation in paths
        .values()
        .filter_map(Value::as_object)
        .flat_map(Map::values)
    {
        if let Some(name) = operation
            .pointer("/requestBody/content/application~1json/schema/$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        {
            names.push(name.to_owned());
        }
    }
    names
}

/// Whether a schema is a (possibly nullable) string.
fn is_string(schema: &Map<String, Value>) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
        _ => false,
    }
}

/// A blank query parameter (`?sort=`, as an HTML form sends an empty filter) counts as absent:
/// each query parameter says so, with `allowEmptyValue` and a schema that also takes `""`.
fn blank_query_parameters(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
    {
        let Some(parameters) = operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for parameter in parameters.iter_mut().filter_map(Value::as_object_mut) {
            if parameter.get("in").and_then(Value::as_str) != Some("query") {
                continue;
            }
            parameter.insert("allowEmptyValue".into(), json!(true));
            if let Some(schema) = parameter.remove("schema") {
                parameter.insert(
                    "schema".into(),
                    json!({"anyOf": [schema, {"type": "string", "maxLength": 0}]}),
                );
            }
            let description = parameter
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim_end()
                .to_owned();
            let blank = "Blank = absent.";
            parameter.insert(
                "description".into(),
                json!(if description.is_empty() {
                    blank.to_owned()
                } else {
                    format!("{description} {blank}")
                }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_operations_require_the_bearer_and_list_its_answers() {
        let mut doc = json!({
            "paths": {
                "/api/cms/tariffs": {"get": {"responses": {"200": {}}}},
                "/api/auth/login": {"post": {"responses": {"200": {}}}},
                "/api/auth/me": {"get": {"responses": {"200": {}, "401": {"description": "kept"}}}},
            },
            "components": {"schemas": {}},
        });
        bearer_security(&mut doc);
        let tariffs = &doc["paths"]["/api/cms/tariffs"]["get"];
        assert_eq!(tariffs["security"], json!([{"bearer": []}]));
        assert!(tariffs["responses"]["401"].is_object());
        assert!(tariffs["responses"]["403"].is_object());
        let login = &doc["paths"]["/api/auth/login"]["post"];
        assert!(login.get("security").is_none());
        assert!(login["responses"].get("401").is_none());
        let me = &doc["paths"]["/api/auth/me"]["get"];
        assert_eq!(me["responses"]["401"]["description"], "kept");
        assert!(me["responses"].get("403").is_none());
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }

    #[test]
    fn body_strings_are_never_blank_and_query_parameters_may_be() {
        let mut doc = json!({
            "paths": {"/api/cms/x": {
                "post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/XInput"}}}}},
                "get": {"parameters": [{"name": "sort", "in": "query", "schema": {"type": "string", "pattern": "^a$"}}]},
            }},
            "components": {"schemas": {"XInput": {"properties": {
                "name": {"type": "string"},
                "code": {"type": ["string", "null"], "pattern": "^[A-Z]+$"},
                "count": {"type": "integer"},
            }}}},
        });
        text_is_never_blank(&mut doc);
        blank_query_parameters(&mut doc);
        let properties = &doc["components"]["schemas"]["XInput"]["properties"];
        assert_eq!(properties["name"]["minLength"], 1);
        assert_eq!(properties["name"]["pattern"], "\\S");
        assert_eq!(properties["code"]["pattern"], "^[A-Z]+$");
        assert!(properties["count"].get("minLength").is_none());
        let sort = &doc["paths"]["/api/cms/x"]["get"]["parameters"][0];
        assert_eq!(sort["allowEmptyValue"], true);
        assert_eq!(sort["schema"]["anyOf"][1]["maxLength"], 0);
        assert_eq!(sort["description"], "Blank = absent.");
    }
}
