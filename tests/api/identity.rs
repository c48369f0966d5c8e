//! Units, accounts, sign-in and sessions (issue: identity), including hostile tokens.

use crate::fixtures;
use crate::support::{
    PASSWORD, SECRET, TestApp, code, field, gid, id_number, spawn_app, spawn_app_with,
};
use base64::Engine;
use serde_json::{Value, json};

const LOGIN: &str = "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { accessToken refreshToken expiresAt user { username role } } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(input: {refreshToken: $t}) { accessToken refreshToken } }";
const VIEWER: &str = "{ viewer { username role orgUnit { name kind } } }";

async fn login(app: &TestApp, username: &str, password: &str) -> Value {
    app.gql(None, LOGIN, json!({"u": username, "p": password}))
        .await
}

fn access(body: &Value) -> String {
    body["data"]["login"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {body}"))
        .to_string()
}

#[tokio::test]
async fn sign_in_and_viewer() {
    let app = spawn_app().await;
    fixtures::county(&app).await;
    let body = login(&app, "T1_Staff", PASSWORD).await; // usernames are case-insensitive
    assert_eq!(body["data"]["login"]["user"]["role"], "STAFF");
    let token = access(&body);
    let me = app.gql(Some(&token), VIEWER, json!({})).await;
    assert_eq!(
        me["data"]["viewer"],
        json!({"username": "t1_staff", "role": "STAFF", "orgUnit": {"name": "东关镇", "kind": "TOWNSHIP"}})
    );
    // No token, or a garbage one: UNAUTHENTICATED.
    assert_eq!(
        code(&app.gql(None, VIEWER, json!({})).await),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(
        code(&app.gql(Some("garbage"), VIEWER, json!({})).await),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test]
async fn unknown_username_and_wrong_password_fail_alike() {
    let app = spawn_app().await;
    fixtures::county(&app).await;
    let wrong = login(&app, "t1_staff", "not the password").await;
    let unknown = login(&app, "nobody_here", "not the password").await;
    assert_eq!(code(&wrong), Some("UNAUTHENTICATED"));
    assert_eq!(
        wrong["errors"][0]["message"],
        unknown["errors"][0]["message"]
    );
    assert_eq!(
        wrong["errors"][0]["extensions"],
        unknown["errors"][0]["extensions"]
    );
}

#[tokio::test]
async fn five_failures_start_an_exponential_backoff_that_holds_the_right_password() {
    let app = spawn_app().await;
    fixtures::county(&app).await;
    for _ in 0..5 {
        assert_eq!(
            code(&login(&app, "a_staff", "wrong password!").await),
            Some("UNAUTHENTICATED")
        );
    }
    // Locked now, even with the right password.
    assert_eq!(
        code(&login(&app, "a_staff", PASSWORD).await),
        Some("RATE_LIMITED")
    );
    // The first back-off is one second; after it the right password works and resets.
    app.state.clock.advance(chrono::TimeDelta::seconds(2));
    assert!(login(&app, "a_staff", PASSWORD).await["data"]["login"].is_object());
    // Five failures again lock for one second; a sixth after that lock doubles it to two.
    for _ in 0..5 {
        login(&app, "a_staff", "wrong password!").await;
    }
    app.state
        .clock
        .advance(chrono::TimeDelta::milliseconds(1100));
    assert_eq!(
        code(&login(&app, "a_staff", "wrong password!").await),
        Some("UNAUTHENTICATED")
    );
    app.state
        .clock
        .advance(chrono::TimeDelta::milliseconds(1500));
    assert_eq!(
        code(&login(&app, "a_staff", PASSWORD).await),
        Some("RATE_LIMITED")
    );
    app.state.clock.advance(chrono::TimeDelta::seconds(1));
    assert!(login(&app, "a_staff", PASSWORD).await["data"]["login"].is_object());
}

#[tokio::test]
async fn ten_login_fields_in_one_request_are_refused_before_any_is_checked() {
    let app = spawn_app().await;
    fixtures::county(&app).await;
    let fields: String = (0..10).map(|i| format!(r#"l{i}: login(input: {{username: "b_staff", password: "wrong password {i}"}}) {{ accessToken }} "#)).collect();
    let body = app
        .gql(None, &format!("mutation {{ {fields} }}"), json!({}))
        .await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    // No password was checked, so none counts as a failure: the owner signs in at once.
    assert!(login(&app, "b_staff", PASSWORD).await["data"]["login"]["accessToken"].is_string());
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_kills_the_family() {
    let app = spawn_app().await;
    fixtures::county(&app).await;
    let first = login(&app, "t2_staff", PASSWORD).await;
    let access1 = access(&first);
    let refresh1 = first["data"]["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(refresh1.len() >= 43, "256 bits, base64url");

    let second = app.gql(None, REFRESH, json!({"t": refresh1})).await;
    let refresh2 = second["data"]["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    let access2 = second["data"]["refreshSession"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(refresh1, refresh2);
    assert!(app.gql(Some(&access2), VIEWER, json!({})).await["data"]["viewer"].is_object());

    // The spent token again: refused, and the whole session dies with it.
    assert_eq!(
        code(&app.gql(None, REFRESH, json!({"t": refresh1})).await),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(
        code(&app.gql(None, REFRESH, json!({"t": refresh2})).await),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(
        code(&app.gql(Some(&access2), VIEWER, json!({})).await),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(
        code(&app.gql(Some(&access1), VIEWER, json!({})).await),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test]
async fn refresh_tokens_expire_when_idle() {
    let app = spawn_app().await;
    fixtures::county(&app).await;
    let body = login(&app, "t2_staff", PASSWORD).await;
    let refresh = body["data"]["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    app.advance_days(8);
    let res = app.gql(None, REFRESH, json!({"t": refresh})).await;
    assert_eq!(code(&res), Some("UNAUTHENTICATED"), "{res}");
}

#[tokio::test]
async fn logout_and_change_password_end_sessions() {
    let app = spawn_app().await;
    fixtures::county(&app).await;
    let a = login(&app, "c_staff", PASSWORD).await;
    let b = login(&app, "c_staff", PASSWORD).await;
    let (token_a, token_b) = (access(&a), access(&b));
    let refresh_b = b["data"]["login"]["refreshToken"].as_str().unwrap();

    let logout = app
        .gql(
            None,
            "mutation($t: String!) { logout(input: {refreshToken: $t}) { ok } }",
            json!({"t": refresh_b}),
        )
        .await;
    assert_eq!(logout["data"]["logout"]["ok"], true);
    assert_eq!(
        code(&app.gql(Some(&token_b), VIEWER, json!({})).await),
        Some("UNAUTHENTICATED")
    );

    let c = login(&app, "c_staff", PASSWORD).await;
    let token_c = access(&c);
    let change = "mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) { ok } }";
    let wrong = app
        .gql(
            Some(&token_a),
            change,
            json!({"c": "not it at all", "n": "新的密码🔐很安全"}),
        )
        .await;
    assert_eq!(
        (code(&wrong), field(&wrong)),
        (Some("BAD_USER_INPUT"), Some("currentPassword"))
    );
    let ok = app
        .gql(
            Some(&token_a),
            change,
            json!({"c": PASSWORD, "n": "新的密码🔐很安全"}),
        )
        .await;
    assert_eq!(ok["data"]["changePassword"]["ok"], true, "{ok}");
    // The session that changed it lives on; the other one ends.
    assert!(app.gql(Some(&token_a), VIEWER, json!({})).await["data"]["viewer"].is_object());
    assert_eq!(
        code(&app.gql(Some(&token_c), VIEWER, json!({})).await),
        Some("UNAUTHENTICATED")
    );
    // CJK and emoji passwords verify exactly as typed.
    assert!(login(&app, "c_staff", "新的密码🔐很安全").await["data"]["login"].is_object());
    assert_eq!(
        code(&login(&app, "c_staff", "新的密码🔐很安").await),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test]
async fn password_length_is_counted_in_characters() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let create =
        "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id username } } }";
    let input = |username: &str, password: String| json!({"i": {"username": username, "password": password, "displayName": "测试", "orgUnitId": gid("OrgUnit", county.t1), "role": "STAFF"}});
    let too_long = app
        .gql(
            Some(county.token("county_admin")),
            create,
            input("long_pw", "a".repeat(129)),
        )
        .await;
    assert_eq!(
        (code(&too_long), field(&too_long)),
        (Some("BAD_USER_INPUT"), Some("password"))
    );
    let too_short = app
        .gql(
            Some(county.token("county_admin")),
            create,
            input("short_pw", "1234567".into()),
        )
        .await;
    assert_eq!(code(&too_short), Some("BAD_USER_INPUT"));
    // 128 characters of CJK (384 bytes) is within the limit.
    let ok = app
        .gql(
            Some(county.token("county_admin")),
            create,
            input("cjk_pw", "密".repeat(128)),
        )
        .await;
    assert_eq!(
        ok["data"]["createUser"]["user"]["username"], "cjk_pw",
        "{ok}"
    );
    assert!(login(&app, "cjk_pw", &"密".repeat(128)).await["data"]["login"].is_object());
}

#[tokio::test]
async fn administrators_act_only_inside_their_subtree() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let create = "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }";
    let in_unit = |unit: i64, role: &str, name: &str| json!({"i": {"username": name, "password": PASSWORD, "displayName": "x", "orgUnitId": gid("OrgUnit", unit), "role": role}});
    let township_admin = county.token("t1_admin");
    // Above it: the county. Beside it: the sibling township. Both refused.
    let up = app
        .gql(
            Some(township_admin),
            create,
            in_unit(county.county, "STAFF", "up_one"),
        )
        .await;
    assert_eq!(code(&up), Some("FORBIDDEN"));
    let sideways = app
        .gql(
            Some(township_admin),
            create,
            in_unit(county.t2, "STAFF", "beside_one"),
        )
        .await;
    assert_eq!(code(&sideways), Some("FORBIDDEN"));
    // Inside it: fine, including another admin at its own level.
    let inside = app
        .gql(
            Some(township_admin),
            create,
            in_unit(county.t1, "LEADER", "t1_new_leader"),
        )
        .await;
    assert!(
        inside["data"]["createUser"]["user"]["id"].is_string(),
        "{inside}"
    );
    // Moving an account of its own unit up to the county is refused too.
    let id = inside["data"]["createUser"]["user"]["id"].as_str().unwrap();
    let promote = app
        .gql(
            Some(township_admin),
            "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id } } }",
            json!({"i": {"id": id, "orgUnitId": gid("OrgUnit", county.county)}}),
        )
        .await;
    assert_eq!(code(&promote), Some("FORBIDDEN"));
    // Staff may not administer at all.
    let staff = app
        .gql(
            Some(county.token("t1_staff")),
            create,
            in_unit(county.t1, "STAFF", "by_staff"),
        )
        .await;
    assert_eq!(code(&staff), Some("FORBIDDEN"));
    // `users` lists only the subtree: t1's four accounts (staff, leader, admin, new leader).
    let list = app
        .gql(
            Some(township_admin),
            "{ users { totalCount nodes { username } } }",
            json!({}),
        )
        .await;
    assert_eq!(list["data"]["users"]["totalCount"], 4, "{list}");
    let county_list = app
        .gql(
            Some(county.token("county_admin")),
            "{ users { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(county_list["data"]["users"]["totalCount"], 15);
    // Usernames are unique case-insensitively.
    let dup = app
        .gql(
            Some(county.token("county_admin")),
            create,
            in_unit(county.t1, "STAFF", "T1_STAFF"),
        )
        .await;
    assert_eq!(
        (code(&dup), field(&dup)),
        (Some("BAD_USER_INPUT"), Some("username"))
    );
}

#[tokio::test]
async fn units_tree_and_one_petition_bureau_per_county() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let create = "mutation($i: CreateOrgUnitInput!) { createOrgUnit(input: $i) { orgUnit { id name kind petitionBureau county { name } } } }";
    let second_bureau = app.gql(Some(county.token("county_admin")), create, json!({"i": {"name": "第二信访局", "kind": "DEPARTMENT", "parentId": gid("OrgUnit", county.county), "petitionBureau": true}})).await;
    assert_eq!(code(&second_bureau), Some("CONFLICT"), "{second_bureau}");
    // The database itself refuses a second bureau, whatever the code does.
    use sea_orm::ConnectionTrait;
    let sql = format!(
        "INSERT INTO org_units (name, kind, parent_id, county_id, petition_bureau, bureau_of_county_id, path, active, created_at) VALUES ('x', 'DEPARTMENT', {c}, {c}, true, {c}, '/x/', true, '2026-01-01T00:00:00Z')",
        c = county.county
    );
    assert!(app.db().execute_unprepared(&sql).await.is_err());

    let ok = app.gql(Some(county.token("county_admin")), create, json!({"i": {"name": "南湖街道", "kind": "TOWNSHIP", "parentId": gid("OrgUnit", county.county)}})).await;
    assert_eq!(
        ok["data"]["createOrgUnit"]["orgUnit"]["county"]["name"], "清河县",
        "{ok}"
    );
    // A township cannot hold a township.
    let nested = app
        .gql(
            Some(county.token("county_admin")),
            create,
            json!({"i": {"name": "村", "kind": "TOWNSHIP", "parentId": gid("OrgUnit", county.t1)}}),
        )
        .await;
    assert_eq!(
        (code(&nested), field(&nested)),
        (Some("BAD_USER_INPUT"), Some("parentId"))
    );
    // A township admin cannot create beside itself.
    let beside = app.gql(Some(county.token("t1_admin")), create, json!({"i": {"name": "新乡", "kind": "TOWNSHIP", "parentId": gid("OrgUnit", county.county)}})).await;
    assert_eq!(code(&beside), Some("FORBIDDEN"));
    // Rename and deactivate inside the subtree.
    let update = "mutation($i: UpdateOrgUnitInput!) { updateOrgUnit(input: $i) { orgUnit { name active } } }";
    let renamed = app
        .gql(
            Some(county.token("county_admin")),
            update,
            json!({"i": {"id": gid("OrgUnit", county.t2), "name": "西营镇", "active": false}}),
        )
        .await;
    assert_eq!(
        renamed["data"]["updateOrgUnit"]["orgUnit"],
        json!({"name": "西营镇", "active": false})
    );
    let list = app
        .gql(
            Some(county.token("t1_staff")),
            "{ orgUnits(filter: {kind: TOWNSHIP}) { totalCount nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        list["data"]["orgUnits"]["nodes"],
        json!([{"name": "东关镇"}, {"name": "南湖街道"}])
    );
}

#[tokio::test]
async fn deactivation_role_change_and_password_reset_end_tokens_at_once() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let admin = county.token("county_admin");
    for (who, mutation, extra) in [
        (
            "a_staff",
            "mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { user { active } } }",
            json!({}),
        ),
        (
            "b_staff",
            "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { role } } }",
            json!({"role": "LEADER"}),
        ),
        (
            "c_staff",
            "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { role } } }",
            json!({"orgUnitId": gid("OrgUnit", county.dept_a)}),
        ),
        (
            "t2_staff",
            "mutation($i: ResetPasswordInput!) { resetPassword(input: $i) { user { id } } }",
            json!({"newPassword": "a brand new password"}),
        ),
    ] {
        let token = access(&login(&app, who, PASSWORD).await);
        assert!(app.gql(Some(&token), VIEWER, json!({})).await["data"]["viewer"].is_object());
        let mut input = json!({"id": gid("User", county.user(who))});
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        let res = app.gql(Some(admin), mutation, json!({"i": input})).await;
        assert!(res["errors"].is_null(), "{res}");
        assert_eq!(
            code(&app.gql(Some(&token), VIEWER, json!({})).await),
            Some("UNAUTHENTICATED"),
            "{who}'s token must be dead"
        );
    }
    assert_eq!(
        code(&login(&app, "a_staff", PASSWORD).await),
        Some("UNAUTHENTICATED")
    );
    assert!(login(&app, "t2_staff", "a brand new password").await["data"]["login"].is_object());
}

// ---- hostile tokens --------------------------------------------------------------------

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

fn claims(app: &TestApp, user_id: i64, session: &str) -> Value {
    let now = app.state.clock.now().timestamp();
    json!({"iss": "xinfang", "aud": "xinfang-api", "sub": user_id.to_string(), "iat": now, "exp": now + 600, "sid": session})
}

fn sign(header: &jsonwebtoken::Header, claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn at_header() -> jsonwebtoken::Header {
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    h.typ = Some("at+jwt".into());
    h.kid = Some("k1".into());
    h
}

#[tokio::test]
async fn hostile_tokens_are_all_unauthenticated() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let body = login(&app, "bureau_staff", PASSWORD).await;
    let good = access(&body);
    let refresh = body["data"]["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    let session = {
        let parts: Vec<&str> = good.split('.').collect();
        let payload: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(parts[1])
                .unwrap(),
        )
        .unwrap();
        assert_eq!(payload["iss"], "xinfang");
        payload["sid"].as_str().unwrap().to_string()
    };
    let uid = county.user("bureau_staff");
    // Sanity: a token we mint the way the server does is accepted.
    let forged_ok = sign(
        &at_header(),
        &claims(&app, uid, &session),
        SECRET.as_bytes(),
    );
    assert!(app.gql(Some(&forged_ok), VIEWER, json!({})).await["data"]["viewer"].is_object());

    let mut hostile: Vec<(&str, String)> = vec![];
    // alg: none, no signature.
    let none_header = b64(br#"{"alg":"none","typ":"at+jwt","kid":"k1"}"#);
    hostile.push((
        "alg none",
        format!(
            "{none_header}.{}.",
            b64(claims(&app, uid, &session).to_string().as_bytes())
        ),
    ));
    // Signed with another key.
    hostile.push((
        "other key",
        sign(
            &at_header(),
            &claims(&app, uid, &session),
            b"another-secret-that-is-32-bytes-long!!",
        ),
    ));
    // Wrong audience, wrong issuer.
    let mut c = claims(&app, uid, &session);
    c["aud"] = json!("someone-else");
    hostile.push(("wrong aud", sign(&at_header(), &c, SECRET.as_bytes())));
    let mut c = claims(&app, uid, &session);
    c["iss"] = json!("evil");
    hostile.push(("wrong iss", sign(&at_header(), &c, SECRET.as_bytes())));
    // Expired beyond the 30 s leeway.
    let mut c = claims(&app, uid, &session);
    c["exp"] = json!(app.state.clock.now().timestamp() - 31);
    hostile.push(("expired", sign(&at_header(), &c, SECRET.as_bytes())));
    // Payload edited (another user) under the old signature.
    let parts: Vec<&str> = good.split('.').collect();
    let mut payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    payload["sub"] = json!(county.user("county_admin").to_string());
    hostile.push((
        "edited payload",
        format!(
            "{}.{}.{}",
            parts[0],
            b64(payload.to_string().as_bytes()),
            parts[2]
        ),
    ));
    // HS512 with the right key: the server pins HS256.
    let mut h = at_header();
    h.alg = jsonwebtoken::Algorithm::HS512;
    hostile.push((
        "other alg",
        sign(&h, &claims(&app, uid, &session), SECRET.as_bytes()),
    ));
    // A plain JWT type, and an unknown key id.
    let mut h = at_header();
    h.typ = Some("JWT".into());
    hostile.push((
        "wrong typ",
        sign(&h, &claims(&app, uid, &session), SECRET.as_bytes()),
    ));
    let mut h = at_header();
    h.kid = Some("k9".into());
    hostile.push((
        "unknown kid",
        sign(&h, &claims(&app, uid, &session), SECRET.as_bytes()),
    ));
    // The refresh token used as an access token.
    hostile.push(("refresh as access", refresh.clone()));

    for (what, token) in hostile {
        let res = app.gql(Some(&token), VIEWER, json!({})).await;
        assert_eq!(
            code(&res),
            Some("UNAUTHENTICATED"),
            "{what} must be refused: {res}"
        );
    }
    // The access token used as a refresh token.
    assert_eq!(
        code(&app.gql(None, REFRESH, json!({"t": good})).await),
        Some("UNAUTHENTICATED")
    );
    // Within the leeway an expired token still works.
    let mut c = claims(&app, uid, &session);
    c["exp"] = json!(app.state.clock.now().timestamp() - 10);
    assert!(
        app.gql(
            Some(&sign(&at_header(), &c, SECRET.as_bytes())),
            VIEWER,
            json!({})
        )
        .await["data"]["viewer"]
            .is_object()
    );
}

#[tokio::test]
async fn access_tokens_expire_after_fifteen_minutes() {
    let app = spawn_app().await;
    fixtures::county(&app).await;
    let token = access(&login(&app, "t1_staff", PASSWORD).await);
    app.state.clock.advance(chrono::TimeDelta::minutes(14));
    assert!(app.gql(Some(&token), VIEWER, json!({})).await["data"]["viewer"].is_object());
    app.state.clock.advance(chrono::TimeDelta::minutes(2));
    assert_eq!(
        code(&app.gql(Some(&token), VIEWER, json!({})).await),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test]
async fn rotated_keys_still_verify_tokens_signed_before_the_rotation() {
    let old_secret = "the-old-signing-secret-of-32-bytes-or-more";
    let app = spawn_app_with(&[
        "--jwt-kid",
        "k2",
        "--jwt-previous-keys",
        &format!("k1={old_secret}"),
    ])
    .await;
    let county = fixtures::county(&app).await;
    // A token minted by the server is signed with k2.
    let header = jsonwebtoken::decode_header(county.token("t1_staff")).unwrap();
    assert_eq!(header.kid.as_deref(), Some("k2"));
    // One signed earlier with k1 (same session) still verifies.
    let parts: Vec<&str> = county.token("t1_staff").split('.').collect();
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    let old = sign(&at_header(), &payload, old_secret.as_bytes());
    assert!(app.gql(Some(&old), VIEWER, json!({})).await["data"]["viewer"].is_object());
}

const SIGN_UP: &str = "mutation($i: RegisterPetitionerInput!) { registerPetitioner(input: $i) { accessToken user { role petitioner { name phone idNumber } } } }";

fn sign_up(username: &str, id: &str) -> Value {
    json!({"i": {"username": username, "password": "citizen password", "name": "张三", "phone": "13800138000", "idNumber": id}})
}

#[tokio::test]
async fn citizens_sign_up_with_a_checked_id_number() {
    let app = spawn_app().await;
    fixtures::county(&app).await;
    let ok = app
        .gql(None, SIGN_UP, sign_up("zhangsan", "11010519491231002x"))
        .await;
    assert_eq!(
        ok["data"]["registerPetitioner"]["user"]["role"], "PETITIONER",
        "{ok}"
    );
    assert_eq!(
        ok["data"]["registerPetitioner"]["user"]["petitioner"],
        json!({"name": "张三", "phone": "13800138000", "idNumber": "1101**********002X"})
    );
    let wrong_digit = app
        .gql(None, SIGN_UP, sign_up("lisi", "110105194912310021"))
        .await;
    assert_eq!(
        (code(&wrong_digit), field(&wrong_digit)),
        (Some("BAD_USER_INPUT"), Some("idNumber"))
    );
    // The trailing x is normalised. A number that already has an account is not refused:
    // a refusal would tell anyone who has signed up, and let the first comer lock the owner out.
    let second = app
        .gql(None, SIGN_UP, sign_up("zhangsan2", "11010519491231002X"))
        .await;
    assert_eq!(
        second["data"]["registerPetitioner"]["user"]["petitioner"]["idNumber"],
        "1101**********002X",
        "{second}"
    );
    let bad_phone = app.gql(None, SIGN_UP, json!({"i": {"username": "wangwu", "password": "citizen password", "name": "王五", "phone": "12345", "idNumber": id_number("33010619900101123")}})).await;
    assert_eq!(
        (code(&bad_phone), field(&bad_phone)),
        (Some("BAD_USER_INPUT"), Some("phone"))
    );
}

#[tokio::test]
async fn sign_ups_are_rate_limited_per_address() {
    let app = spawn_app_with(&["--signups-per-hour", "3"]).await;
    fixtures::county(&app).await;
    let ids = [
        "33010619900101123",
        "33010619850202234",
        "33010619770303345",
        "33010619660404456",
    ];
    let mut codes = vec![];
    for (i, first17) in ids.iter().enumerate() {
        let res = app
            .gql(
                None,
                SIGN_UP,
                sign_up(&format!("citizen{i}"), &id_number(first17)),
            )
            .await;
        codes.push(code(&res).unwrap_or("OK").to_string());
    }
    assert_eq!(codes, ["OK", "OK", "OK", "RATE_LIMITED"]);
    app.state.clock.advance(chrono::TimeDelta::minutes(61));
    let res = app
        .gql(
            None,
            SIGN_UP,
            sign_up("citizen9", &id_number("33010619660404456")),
        )
        .await;
    assert!(res["errors"].is_null(), "{res}");
}

#[tokio::test]
async fn passwords_hashed_with_weaker_parameters_are_rehashed_at_sign_in() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    use argon2::password_hash::PasswordHasher;
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(8192, 1, 1, None).unwrap(),
    );
    let weak_hash = weak.hash_password(PASSWORD.as_bytes()).unwrap().to_string();
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let account = xinfang_entity::user::Entity::find_by_id(county.user("c_staff"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let mut active: xinfang_entity::user::ActiveModel = account.into();
    active.password_hash = Set(weak_hash);
    active.update(app.db()).await.unwrap();
    assert!(login(&app, "c_staff", PASSWORD).await["data"]["login"].is_object());
    let after = xinfang_entity::user::Entity::find_by_id(county.user("c_staff"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert!(
        after
            .password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        after.password_hash
    );
}

#[tokio::test]
async fn the_subject_list_is_configured_by_the_top_administrator() {
    let app = spawn_app().await;
    let county = fixtures::county(&app).await;
    let set = "mutation($i: SetSubjectInput!) { setSubject(input: $i) { subject { code name } } }";
    let added = app
        .gql(
            Some(county.token("county_admin")),
            set,
            json!({"i": {"code": "RURAL_ROADS", "name": "农村道路"}}),
        )
        .await;
    assert_eq!(
        added["data"]["setSubject"]["subject"],
        json!({"code": "RURAL_ROADS", "name": "农村道路"})
    );
    let township = app
        .gql(
            Some(county.token("t1_admin")),
            set,
            json!({"i": {"code": "X_Y", "name": "乡定"}}),
        )
        .await;
    assert_eq!(code(&township), Some("FORBIDDEN"));
    let bad = app
        .gql(
            Some(county.token("county_admin")),
            set,
            json!({"i": {"code": "lower", "name": "x"}}),
        )
        .await;
    assert_eq!(
        (code(&bad), field(&bad)),
        (Some("BAD_USER_INPUT"), Some("code"))
    );
    // New cases may use it; retired subjects are refused for new cases.
    let used = app
        .gql(
            Some(county.token("bureau_staff")),
            fixtures::REGISTER,
            json!({"input": fixtures::case_input(json!({"subject": "RURAL_ROADS"}))}),
        )
        .await;
    assert!(used["data"]["registerCase"]["case"].is_object(), "{used}");
    app.gql(
        Some(county.token("county_admin")),
        set,
        json!({"i": {"code": "RURAL_ROADS", "name": "农村道路", "active": false}}),
    )
    .await;
    let retired = app
        .gql(
            Some(county.token("bureau_staff")),
            fixtures::REGISTER,
            json!({"input": fixtures::case_input(json!({"subject": "RURAL_ROADS"}))}),
        )
        .await;
    assert_eq!(
        (code(&retired), field(&retired)),
        (Some("BAD_USER_INPUT"), Some("subject"))
    );
    let list = app
        .gql(
            Some(county.token("bureau_staff")),
            "{ subjects { code } }",
            json!({}),
        )
        .await;
    assert!(!list.to_string().contains("RURAL_ROADS"));
}
