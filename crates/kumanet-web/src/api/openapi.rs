//! The OpenAPI 3.1 document of `/api/v1`, built from the route table so it cannot miss a route.

use kumanet_core::policy::patient::{Consenter, EligibilityBasis, Sex};
use serde_json::{json, Value};

/// Request bodies of the API, by route: (method, path) → (summary, schema).
fn request_schema(method: &str, path: &str) -> Option<Value> {
    let s = |props: &[&str], required: &[&str]| {
        let p: serde_json::Map<String, Value> =
            props.iter().map(|k| (k.to_string(), json!({ "type": "string" }))).collect();
        json!({ "type": "object", "additionalProperties": false, "properties": p, "required": required })
    };
    let person =
        s(&["login_id", "name", "kana", "profession", "email", "phone"], &["login_id", "name", "kana", "profession"]);
    Some(match (method, path) {
        ("POST", "/api/v1/login") => s(&["login_id", "password"], &["login_id", "password"]),
        ("POST", "/api/v1/password") => {
            s(&["current", "password", "password_confirm"], &["current", "password", "password_confirm"])
        }
        ("POST", "/api/v1/policy/accept") => {
            json!({ "type": "object", "additionalProperties": false, "required": ["version", "agree"],
            "properties": { "version": { "type": "integer" }, "agree": { "type": "string" },
              "pledge": { "type": "string", "description": "専門職は必須(誓約書・様式3)。患者・家族は不要" } } })
        }
        ("POST", "/api/v1/facilities") | ("PUT", "/api/v1/facilities/{facility_id}") => {
            s(&["name", "kana", "kind", "address", "phone"], &["name", "kana", "kind", "address", "phone"])
        }
        ("POST", "/api/v1/facilities/{facility_id}/admins") | ("POST", "/api/v1/facilities/{facility_id}/staff") => {
            person
        }
        ("POST", "/api/v1/users/{user_id}/change") => {
            s(&["name", "kana", "profession", "email", "phone", "reason"], &["name", "kana", "profession", "reason"])
        }
        ("POST", "/api/v1/applications/{application_id}") => s(&["decision", "note"], &["decision"]),
        ("POST", "/api/v1/policy/versions") => s(&["purpose", "body"], &["purpose", "body"]),
        ("PUT", "/api/v1/settings") => json!({ "type": "object", "additionalProperties": false,
            "required": ["region_name", "idle_timeout_minutes", "session_lifetime_hours", "password_max_age_days", "lockout_threshold", "lockout_minutes"],
            "properties": { "region_name": { "type": "string" }, "idle_timeout_minutes": { "type": "integer", "minimum": 1, "maximum": 60 },
              "session_lifetime_hours": { "type": "integer", "minimum": 1, "maximum": 24 }, "password_max_age_days": { "type": "integer", "minimum": 1, "maximum": 60 },
              "lockout_threshold": { "type": "integer", "minimum": 3, "maximum": 100 }, "lockout_minutes": { "type": "integer", "minimum": 1, "maximum": 1440 },
              "family_agreement": { "type": "string", "enum": ["all", "majority"] },
              "post_soft_limit": { "type": "integer", "minimum": 100, "maximum": 5000 } } }),
        ("POST", p) if p.starts_with("/api/v1/users/") => s(&["reason"], &["reason"]),
        _ => return patient_request_schema(method, path),
    })
}

/// Request bodies of the patient, group and invitation routes (the service forms).
fn patient_request_schema(method: &str, path: &str) -> Option<Value> {
    let obj = |props: Value, required: &[&str]| json!({ "type": "object", "additionalProperties": false, "properties": props, "required": required });
    let text = json!({ "type": "string" });
    let codes = |codes: Vec<&str>| json!({ "type": "string", "enum": codes });
    if let Some(s) = super::posts::request_schema(method, path)
        .or_else(|| super::boards::request_schema(method, path))
        .or_else(|| super::resources::request_schema(method, path))
    {
        return Some(s);
    }
    if method != "POST" {
        return None;
    }
    Some(match path {
        "/api/v1/patients" => obj(
            json!({
                "name": text, "kana": text,
                "birth_date": { "type": "string", "format": "date" },
                "sex": codes(Sex::ALL.iter().map(|x| x.code()).collect()),
                "address": text,
                "basis": codes(EligibilityBasis::ALL.iter().map(|x| x.code()).collect()),
                "basis_reason": { "type": "string", "description": "judged_necessary のとき必須" },
            }),
            &["name", "kana", "birth_date", "sex", "address", "basis"],
        ),
        "/api/v1/patients/{patient_id}/consent" => obj(
            json!({
                "consenter": codes(Consenter::ALL.iter().map(|x| x.code()).collect()),
                "consenter_name": text,
                "relationship": { "type": "string", "description": "家族の場合は必須" },
                "consented_on": { "type": "string", "format": "date" },
                "scope": { "type": "string", "description": "空なら既定の範囲" },
                "scan_base64": { "type": "string", "contentEncoding": "base64", "contentMediaType": "application/octet-stream",
                    "description": "署名済み同意書の画像(PDF・JPEG・PNG、10MBまで。base64では約13.4MB)。" },
            }),
            &["consenter", "consenter_name", "consented_on"],
        ),
        "/api/v1/patients/{patient_id}/consent/withdraw" => {
            obj(json!({ "note": { "type": "string", "description": "撤回の申し出の内容(いつ・誰から)" } }), &["note"])
        }
        "/api/v1/patients/{patient_id}/delegation" => obj(
            json!({ "facility_id": { "type": "string", "description": "委託先の施設ID。空文字で主治医に戻す" } }),
            &["facility_id"],
        ),
        "/api/v1/patients/{patient_id}/group" | "/api/v1/groups/{group_id}/members/{user_id}/remove" => {
            obj(json!({}), &[])
        }
        "/api/v1/groups/{group_id}/invitations" => {
            obj(json!({ "invitee_id": text, "reason": text }), &["invitee_id", "reason"])
        }
        "/api/v1/groups/{group_id}/leave" => obj(json!({ "note": text }), &[]),
        "/api/v1/groups/{group_id}/family/proposal" => {
            obj(json!({ "note": { "type": "string", "description": "参加が必要・有効と考える理由" } }), &["note"])
        }
        "/api/v1/groups/{group_id}/family/vote" => obj(
            json!({ "decision": codes(vec!["agree", "object"]), "comment": { "type": "string", "description": "反対の場合は必須" } }),
            &["decision"],
        ),
        "/api/v1/groups/{group_id}/family/accounts" => obj(
            json!({ "login_id": text, "name": text, "kana": text, "relationship": { "type": "string", "description": "本人・長女など" } }),
            &["login_id", "name", "kana", "relationship"],
        ),
        "/api/v1/invitations/{invitation_id}" => obj(
            json!({ "decision": codes(vec!["accept", "decline"]),
                    "appropriate": { "type": "string", "enum": ["on"], "description": "参加がふさわしいことを確認した(参加するときは必須)" } }),
            &["decision"],
        ),
        _ => return None,
    })
}

/// The OpenAPI 3.1 document, built from the route table.
pub fn openapi_document() -> Value {
    let mut paths = serde_json::Map::new();
    let mut operation_ids = std::collections::HashSet::new();
    let mut schemas: super::Schemas = Vec::new();
    for def in crate::routes::route_table() {
        if !def.path.starts_with("/api/v1/") {
            continue;
        }
        let method = def.method.as_str().to_ascii_lowercase();
        let params: Vec<Value> = def
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
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
        if let Some(schema) = request_schema(def.method.as_str(), def.path) {
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
            "fields": { "type": "array", "items": { "type": "object", "properties": { "field": { "type": "string" }, "message": { "type": "string" } } } },
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
}
