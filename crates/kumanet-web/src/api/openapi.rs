//! The OpenAPI 3.1 document of `/api/v1` and the live streams, built from the route table so it
//! cannot miss a route.

use serde_json::{json, Value};

/// The OpenAPI 3.1 document, built from the route table.
pub fn openapi_document() -> Value {
    let mut paths = serde_json::Map::new();
    let mut operation_ids = std::collections::HashSet::new();
    let mut schemas: super::Schemas = Vec::new();
    for def in crate::routes::route_table() {
        let live = def.path.ends_with("/live");
        if !def.path.starts_with("/api/v1/") && !live {
            continue;
        }
        let method = def.method.as_str().to_ascii_lowercase();
        let params: Vec<Value> = def
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if live {
            paths.insert(def.path.to_string(), json!({ "get": live_operation(&def, params) }));
            continue;
        }
        // OpenAPI wants unique operation ids; two routes may share an action (GET and POST).
        let mut operation_id = format!("{:?}", def.action);
        if !operation_ids.insert(operation_id.clone()) {
            operation_id = format!("{operation_id}_{method}");
            operation_ids.insert(operation_id.clone());
        }
        let mut op = json!({
            "operationId": operation_id,
            "summary": format!("{:?}", def.action),
            "parameters": params,
            "responses": {
                "200": { "description": "成功" },
                "409": { "description": "いまの状態ではできません(削除済み・参加済みなど)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "201": { "description": "作成しました" },
                "401": { "description": "ログインが必要です", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "403": { "description": "権限がありません(監査ログに記録されます)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "404": { "description": "見つかりません" },
                "422": { "description": "入力内容の誤り", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        });
        let err = json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } });
        op["responses"]["400"] = json!({ "description": "本文を読み取れません", "content": err });
        op["responses"]["503"] = json!({ "description": "記録を残せないため何もせず中止しました(保存されたものはありません)。時間をおいて再送してください", "content": err });
        if def.method.as_str() != "GET" {
            // The body limits the gate applies before reading (see body.rs).
            let limit = crate::body::limit_for(def.action, def.path != "/api/v1/login");
            op["x-max-body-bytes"] = json!(limit);
            op["responses"]["408"] =
                json!({ "description": "本文が時間内に届きませんでした(途切れは30秒まで)", "content": err });
            op["responses"]["413"] =
                json!({ "description": format!("本文が大きすぎます({limit}バイトまで)"), "content": err });
            op["responses"]["429"] =
                json!({ "description": "同じアドレスからの大きな送信が多すぎます", "content": err });
        }
        if def.path == "/api/v1/login" {
            // R8.6, ASVS 6.3.8: the answers never tell whether the ID exists.
            op["description"] = json!("成功するとセッションCookieと端末Cookie(長期間有効、この端末でログインしたことの記録。ロック中でもこの端末からはログインできます)を設定します。\
                失敗の答えは、IDが存在するかどうかによって変わりません。");
            op["responses"]["401"] = json!({ "description": "ログインIDまたはパスワードが正しくありません(code: invalid_credentials)、または発行されたパスワードの期限切れ(code: issued_password_expired)",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
            op["responses"]["429"] = json!({ "description": "ログインの失敗が続いたため一時的に制限中(code: login_throttled、retry_after_seconds 秒後に再試行)、またはこのアドレスからの試行が多すぎます(code: rate_limited)",
                "headers": { "Retry-After": { "schema": { "type": "integer" }, "description": "再試行できるまでの秒数" } },
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
        }
        if let Some(answers) = def.answers {
            // The answers of a typed handler replace the generic ones.
            if let Some(r) = op["responses"].as_object_mut() {
                r.remove("200");
                r.remove("201");
            }
            for a in answers(&mut schemas) {
                let mut answer = json!({ "description": a.description });
                if let Some(schema) = a.schema {
                    answer["content"] = json!({ "application/json": { "schema": schema } });
                }
                op["responses"][a.status.as_str()] = answer;
            }
        }
        if let Some(schema) = (def.request)(&mut schemas) {
            let schema = json!(schema);
            // A body whose fields are all optional may be left out.
            let required = schema["required"].as_array().is_some_and(|r| !r.is_empty());
            op["requestBody"] =
                json!({ "required": required, "content": { "application/json": { "schema": schema } } });
        }
        if def.method.as_str() == "GET"
            && matches!(def.path, "/api/v1/patients" | "/api/v1/directory" | "/api/v1/users")
        {
            if let Some(a) = op["parameters"].as_array_mut() {
                a.push(json!({ "name": "q", "in": "query", "required": false, "schema": { "type": "string" },
                    "description": "氏名・ふりがなで検索" }));
                if def.path == "/api/v1/users" {
                    a.push(json!({ "name": "status", "in": "query", "required": false,
                        "schema": { "type": "string", "enum": ["pending", "approved", "suspended", "deleted"] },
                        "description": "状態で絞り込み(承認待ち・承認済み・利用停止・削除済み)" }));
                }
            }
        }
        if def.method.as_str() != "GET" && def.path != "/api/v1/login" {
            if let Some(a) = op["parameters"].as_array_mut() {
                a.push(
                    json!({ "name": "X-CSRF-Token", "in": "header", "required": true, "schema": { "type": "string" },
                    "description": "GET /api/v1/session の csrf_token" }),
                );
            }
        }
        let entry = paths.entry(def.path.to_string()).or_insert_with(|| json!({}));
        entry[method] = op;
    }
    let mut components = serde_json::Map::new();
    for (name, schema) in schemas {
        components.insert(name, json!(schema));
    }
    components.insert(
        "Error".into(),
        json!({ "type": "object", "required": ["code", "message"], "properties": {
            "code": { "type": "string" }, "message": { "type": "string" },
            "retry_after_seconds": { "type": "integer" },
            "fields": { "type": "array", "items": { "type": "object", "required": ["field", "code", "message"], "properties": {
                "field": { "type": "string" },
                "code": { "type": "string", "description": "required, too_long, bad_character, not_kana, not_listed…(検査に固有のコードがまだないものは invalid)" },
                "message": { "type": "string" } } } },
            "request_id": { "type": "string" } } }),
    );
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Kumanet API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "くまねっとのJSON API。画面と同じ操作を、同じ権限チェックと監査ログのもとで提供します。認証はログインで発行されるセッションCookieです。" },
        "paths": paths,
        "components": { "schemas": components },
    })
}

/// A live stream of one part of a room (Server-Sent Events, with the session cookie).
fn live_operation(def: &crate::routes::RouteDef, params: Vec<Value>) -> Value {
    let err = json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } });
    json!({
        "operationId": format!("{:?}Live", def.action),
        "summary": "ライブ更新(Server-Sent Events)",
        "description": "新しい投稿・修正・了解を、見る人ごとに描いたカードで届けます。イベント: \
            post(data: JSON { id, seq, mine, kind, html })、reload(data: lagged。取りこぼしたので読み込み直してください)、\
            closed(data: 理由。メンバーでなくなったときなど、ここで終わります)。開いたことは監査ログに残ります。",
        "parameters": params,
        "responses": {
            "200": { "description": "イベントの流れ", "content": { "text/event-stream": { "schema": { "type": "string" } } } },
            "401": { "description": "ログインが必要です", "content": err },
            "403": { "description": "権限がありません(監査ログに記録されます)", "content": err },
            "404": { "description": "見つかりません", "content": err },
        }
    })
}

/// The document itself (any JSON, as far as the document says).
pub async fn openapi() -> super::Answered<super::Reply<Value>> {
    Ok(super::Reply(openapi_document()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r10_7_every_api_operation_has_its_answers_from_its_type() {
        let untyped: Vec<String> = crate::routes::route_table()
            .iter()
            .filter(|d| d.path.starts_with("/api/v1/") && d.answers.is_none())
            .map(|d| format!("{} {}", d.method, d.path))
            .collect();
        assert_eq!(untyped, Vec::<String>::new(), "API routes are built with `a`, which documents their answers");
        let doc = openapi_document();
        let session =
            &doc["paths"]["/api/v1/session"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(session["properties"]["csrf_token"]["type"], "string", "{session}");
        assert_eq!(session["properties"]["user"]["$ref"], "#/components/schemas/User");
        assert!(doc["components"]["schemas"]["User"]["properties"]["login_id"].is_object());
        assert!(doc["components"]["schemas"]["User"]["properties"].get("password_hash").is_none());
    }

    /// The request bodies come from the types the handlers read (`JsonBody<T>`).
    #[test]
    fn request_bodies_are_the_handlers_types() {
        let doc = openapi_document();
        let body = |path: &str, method: &str| {
            doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"].clone()
        };
        let login = body("/api/v1/login", "post");
        assert_eq!(login["required"], json!(["login_id", "password"]));
        assert_eq!(login["additionalProperties"], false, "unknown fields are refused");
        assert!(login["properties"].get("csrf").is_none(), "the page's token is not part of the API");
        let settings = body("/api/v1/settings", "put");
        assert_eq!(settings["properties"]["idle_timeout_minutes"]["maximum"], 60);
        let patient = body("/api/v1/patients", "post");
        assert_eq!(patient["properties"]["sex"]["$ref"], "#/components/schemas/Sex");
        assert!(doc["components"]["schemas"]["Sex"]["enum"].as_array().is_some_and(|e| !e.is_empty()));
        assert_eq!(doc["paths"]["/api/v1/patients/{patient_id}/group"]["post"]["requestBody"]["required"], false);
        assert!(doc["paths"]["/api/v1/session"]["get"].get("requestBody").is_none());
    }

    #[test]
    fn the_live_streams_are_in_the_document() {
        let doc = openapi_document();
        for path in ["/groups/{group_id}/live", "/groups/{group_id}/shared/live", "/boards/{board_id}/live"] {
            let op = &doc["paths"][path]["get"];
            assert!(op["responses"]["200"]["content"]["text/event-stream"].is_object(), "{path}: {op}");
        }
    }
}
