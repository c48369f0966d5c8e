//! The review chain and the levels above the county (issue: review chain and higher levels):
//! counties side by side in one deployment, review for appeals only, delivery, CHANGE that
//! changes something, and decisions above the county.

use crate::fixtures::{self, ok};
use crate::support::{PASSWORD, TestApp, code, field, spawn_app};
use serde_json::{Value, json};
use xinfang_api::identity;

/// A city deployment: 邢台市 at the root with 清河县 (130534) bootstrapped under it; the city's
/// administrator adds 临西县 (130535) and its bureau through the API, and one bureau clerk per
/// county.
struct Deployment {
    admin: String,
    city: String,
    /// Per county: a bureau clerk's token and the county's id as the API names it.
    clerks: [(String, String); 2],
}

async fn two_counties(app: &TestApp) -> Deployment {
    let s = &app.state;
    let (qinghe, _bureau, admin) = identity::bootstrap(
        &s.db,
        &s.auth,
        &s.clock,
        identity::Bootstrap {
            city_name: Some("邢台市"),
            county_name: "清河县",
            county_code: Some("130534"),
            bureau_name: "清河县信访局",
            admin_username: "city_admin",
            admin_password: PASSWORD,
        },
    )
    .await
    .expect("bootstrap");
    let admin = app.token_for(admin.id).await;
    let unit = async |input: Value| -> String {
        let made = ok(app, &admin, "createOrgUnit", input, "orgUnit { id }").await;
        made["orgUnit"]["id"].as_str().unwrap().to_string()
    };
    let city = crate::support::gid("OrgUnit", qinghe.parent_id.unwrap());
    let linxi = unit(
        json!({"name": "临西县", "kind": "COUNTY", "parentId": city, "divisionCode": "130535"}),
    )
    .await;
    let linxi_bureau = unit(json!({"name": "临西县信访局", "kind": "DEPARTMENT", "parentId": linxi, "petitionBureau": true})).await;
    let qinghe_bureau = crate::support::gid("OrgUnit", _bureau.id);
    let mut out = vec![];
    for (username, bureau, county) in [
        (
            "qh_clerk",
            qinghe_bureau,
            crate::support::gid("OrgUnit", qinghe.id),
        ),
        ("lx_clerk", linxi_bureau, linxi),
    ] {
        ok(app, &admin, "createUser", json!({"username": username, "displayName": username, "orgUnitId": bureau, "role": "STAFF", "password": PASSWORD}), "user { id }").await;
        let login = app
            .gql(
                None,
                "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
                json!({"i": {"username": username, "password": PASSWORD}}),
            )
            .await;
        let token = login["data"]["login"]["accessToken"]
            .as_str()
            .expect("login")
            .to_string();
        out.push((token, county));
    }
    Deployment {
        admin,
        city,
        clerks: out.try_into().unwrap(),
    }
}

/// Case numbers are unique per county and year and carry the county's division code, so two
/// counties registering at the same moment never collide (before, the second county's first
/// registration failed with INTERNAL on the number's unique index).
#[tokio::test]
async fn two_counties_register_side_by_side_each_with_its_own_numbers() {
    let app = spawn_app().await;
    let d = two_counties(&app).await;
    let [(qh, _), (lx, _)] = &d.clerks;
    let mut jobs = vec![];
    for i in 0..6 {
        for token in [qh, lx] {
            let app = &app;
            jobs.push(async move {
                let body = app
                    .gql(
                        Some(token),
                        fixtures::REGISTER,
                        json!({"input": fixtures::case_input(json!({"title": format!("并发登记 {i}")}))}),
                    )
                    .await;
                assert!(body["errors"].is_null(), "{body}");
                body["data"]["registerCase"]["case"]["number"].as_str().unwrap().to_string()
            });
        }
    }
    let numbers = futures_util::future::join_all(jobs).await;
    let year = {
        use chrono::Datelike;
        xinfang_api::calendar::local_date(app.state.clock.now()).year()
    };
    for code in ["130534", "130535"] {
        let mut mine: Vec<&String> = numbers
            .iter()
            .filter(|n| n.starts_with(&format!("XF-{code}-{year}-")))
            .collect();
        mine.sort();
        let expected: Vec<String> = (1..=6)
            .map(|n| format!("XF-{code}-{year}-{n:06}"))
            .collect();
        assert_eq!(
            mine.into_iter().cloned().collect::<Vec<_>>(),
            expected,
            "each county numbers its own cases 1..6: {numbers:?}"
        );
    }

    assert_eq!(numbers.len(), 12);

    // A second county with a code already taken is refused; a malformed code is bad input;
    // only counties carry one. Nothing is created by a refusal.
    let create = async |input: Value| {
        fixtures::mutate(&app, &d.admin, "createOrgUnit", input, "orgUnit { id }").await
    };
    let taken = create(
        json!({"name": "威县", "kind": "COUNTY", "parentId": d.city, "divisionCode": "130535"}),
    )
    .await;
    assert_eq!(code(&taken), Some("CONFLICT"), "{taken}");
    for bad in ["13053", "13053X", "1305351"] {
        let refused = create(
            json!({"name": "威县", "kind": "COUNTY", "parentId": d.city, "divisionCode": bad}),
        )
        .await;
        assert_eq!(code(&refused), Some("BAD_USER_INPUT"), "{bad}: {refused}");
        assert_eq!(field(&refused), Some("divisionCode"));
    }
    let township = create(json!({"name": "葛仙庄镇", "kind": "TOWNSHIP", "parentId": d.clerks[0].1, "divisionCode": "130536"})).await;
    assert_eq!(field(&township), Some("divisionCode"), "{township}");
    let units = app
        .gql(
            Some(&d.admin),
            "{ orgUnits(first: 100) { nodes { name divisionCode } } }",
            json!({}),
        )
        .await;
    let names: Vec<&str> = units["data"]["orgUnits"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{units}"))
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.contains(&"威县") && !names.contains(&"葛仙庄镇"),
        "{names:?}"
    );
}
