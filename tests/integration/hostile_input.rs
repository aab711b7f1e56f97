//! Hostile input, generated (proptest): whatever a caller sends to the decision
//! API, the ledger or the entity import, the service never panics and never
//! answers 5xx; every refusal is a 4xx whose JSON body carries `error.code` and a
//! non-empty `error.message.en`; and a refused write leaves the data exactly as
//! it was (the same reads answer the same, and no write transaction committed).
//!
//! Each property drives one app (reused across its cases: the state checks
//! compare before and after each call) on a tokio runtime made once per test.
//! The case count is small so the file runs in seconds;
//! `TURNSTILE_PROPTEST_CASES=2000 cargo test --test integration hostile_input`
//! searches longer. Inputs that once found a bug are kept as plain tests at the
//! end of the file.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};
use tokio::runtime::Runtime;

use crate::common::{TOKEN, TestApp, repo_path};

const EVALUATION: &str = "/access/v1/evaluation";
const EVALUATIONS: &str = "/access/v1/evaluations";

// ---------------------------------------------------------------------------
// Running properties
// ---------------------------------------------------------------------------

/// Cases per property unless `TURNSTILE_PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 64;

fn config() -> Config {
    let cases = std::env::var("TURNSTILE_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        // A failing input becomes a plain regression test below, not a file.
        failure_persistence: None,
        ..Config::default()
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `test` on inputs drawn from `strategy`; a failure panics with the
/// smallest failing input proptest found.
fn check<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let mut runner = TestRunner::new(config());
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------
// Requests and answers
// ---------------------------------------------------------------------------

/// A request as a hostile caller may send it.
#[derive(Debug, Clone)]
struct Call {
    method: &'static str,
    uri: String,
    content_type: Option<String>,
    body: Vec<u8>,
    token: bool,
}

impl Call {
    fn json(method: &'static str, uri: impl Into<String>, body: &Value) -> Self {
        Self {
            method,
            uri: uri.into(),
            content_type: Some("application/json".into()),
            body: body.to_string().into_bytes(),
            token: true,
        }
    }

    fn get(uri: impl Into<String>) -> Self {
        Self {
            method: "GET",
            uri: uri.into(),
            content_type: None,
            body: Vec::new(),
            token: true,
        }
    }

    fn describe(&self) -> String {
        let mut uri: String = self.uri.chars().take(300).collect();
        if uri.len() < self.uri.len() {
            uri.push('…');
        }
        format!(
            "{} {} ({}; {} bytes)",
            self.method,
            uri,
            self.content_type.as_deref().unwrap_or("no content type"),
            self.body.len()
        )
    }
}

/// Sends `call`; `None` when the request cannot even be built (an URI the
/// HTTP library refuses), which a client could not send either.
async fn send(app: &TestApp, call: &Call) -> Option<(StatusCode, Value)> {
    let mut req = Request::builder().method(call.method).uri(call.uri.as_str());
    if call.token {
        req = req.header("authorization", format!("Bearer {TOKEN}"));
    }
    if let Some(ct) = &call.content_type {
        req = req.header("content-type", ct.as_str());
    }
    let req = req.body(Body::from(call.body.clone())).ok()?;
    let (status, _, body) = app.send(req).await;
    Some((status, body))
}

/// Sends `call`, which must be sendable.
async fn send_ok(app: &TestApp, call: &Call) -> Result<(StatusCode, Value), TestCaseError> {
    send(app, call)
        .await
        .ok_or_else(|| TestCaseError::fail(format!("cannot build {}", call.describe())))
}

/// No 5xx, nothing but 2xx and 4xx, and every 4xx is a well-formed error.
fn assert_answer(call: &Call, status: StatusCode, body: &Value) -> Result<(), TestCaseError> {
    let what = call.describe();
    prop_assert!(
        status.is_success() || status.is_client_error(),
        "{what} answered {status}: {body}"
    );
    if status.is_client_error() {
        assert_error_body(&what, status, body)?;
    }
    Ok(())
}

fn assert_error_body(what: &str, status: StatusCode, body: &Value) -> Result<(), TestCaseError> {
    prop_assert!(
        body["error"]["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{what} answered {status} without `error.code`: {body}"
    );
    prop_assert!(
        body["error"]["message"]["en"]
            .as_str()
            .is_some_and(|m| !m.trim().is_empty()),
        "{what} answered {status} without `error.message.en`: {body}"
    );
    Ok(())
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Generators: strings and JSON
// ---------------------------------------------------------------------------

/// Strings chosen to break parsers, type names, SQL, logs and URLs.
const NASTY: &[&str] = &[
    "",
    " ",
    "\t",
    "::",
    ":::",
    "User::",
    "::User",
    "User::\"acme-admin\"",
    "Action::\"view\"",
    "A::B::C",
    "user::record",
    "\"",
    "'",
    "\\",
    "\"quoted\"",
    "\u{0}",
    "a\u{0}b",
    "\n",
    "\r\n",
    "\u{7f}",
    "\u{202e}evil",
    "\u{feff}",
    "é",
    "𝕏",
    "日本語",
    "../..",
    "%00",
    "%FF",
    "%2F",
    "a/b",
    "?",
    "#",
    "null",
    "true",
    "1e999",
    "-0",
    "<script>",
    "' OR 1=1 --",
    "Robert'); DROP TABLE users;--",
    "__entity",
    "__extn",
    "__proto__",
    "${jndi:ldap://x}",
    "acme",
    "acme-admin",
];

fn nasty() -> BoxedStrategy<String> {
    prop::sample::select(NASTY).prop_map(str::to_string).boxed()
}

/// A long run of one awkward character.
fn huge_string() -> BoxedStrategy<String> {
    (
        prop::sample::select(vec!["a", "é", "\"", "\\", ":", "\u{0}", "𝕏"]),
        1_000usize..40_000,
    )
        .prop_map(|(c, n)| c.repeat(n))
        .boxed()
}

/// Hostile strings of a reasonable length.
fn short_hostile_string() -> BoxedStrategy<String> {
    prop_oneof![
        4 => nasty(),
        3 => "[a-zA-Z_:\"' -]{0,16}",
        2 => any::<String>(),
        2 => "[\\x00-\\x1f\\x7f\"\\\\:%/]{1,8}",
    ]
    .boxed()
}

fn hostile_string() -> BoxedStrategy<String> {
    prop_oneof![
        10 => short_hostile_string(),
        1 => huge_string(),
    ]
    .boxed()
}

fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::sample::select(vec![0i64, -1, 1, i64::MAX, i64::MIN]).prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        hostile_string().prop_map(Value::String),
    ]
    .boxed()
}

fn object_of(entries: Vec<(String, Value)>) -> Value {
    Value::Object(entries.into_iter().collect())
}

/// Any JSON value, a few levels deep.
fn any_json() -> BoxedStrategy<Value> {
    json_leaf()
        .prop_recursive(5, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((hostile_string(), inner), 0..6).prop_map(object_of),
            ]
        })
        .boxed()
}

/// A value nested `depth` levels, within what the JSON parser accepts.
fn deep_json() -> BoxedStrategy<Value> {
    (1usize..120, any::<bool>(), json_leaf())
        .prop_map(|(depth, arrays, leaf)| {
            let mut v = leaf;
            for _ in 0..depth {
                v = if arrays {
                    Value::Array(vec![v])
                } else {
                    json!({ "role": v })
                };
            }
            v
        })
        .boxed()
}

/// JSON values, from the plausible to the absurd.
fn hostile_json() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => json_leaf(),
        4 => any_json(),
        1 => deep_json(),
    ]
    .boxed()
}

/// Bytes as a body: noise, broken JSON, JSON nested past the parser's limit.
fn hostile_bytes() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..256),
        2 => any_json().prop_map(|v| {
            // Cut anywhere, even inside a character.
            let mut s = v.to_string().into_bytes();
            s.truncate(s.len() / 2);
            s
        }),
        2 => (any_json(), any::<u8>(), any::<prop::sample::Index>()).prop_map(|(v, b, i)| {
            let mut s = v.to_string().into_bytes();
            if !s.is_empty() {
                let at = i.index(s.len());
                s[at] = b;
            }
            s
        }),
        1 => (1usize..5_000, prop::sample::select(vec!["[", "{\"a\":", "{\"subject\":"]))
            .prop_map(|(n, open)| open.repeat(n).into_bytes()),
        1 => prop::sample::select(vec![
            "", " ", "\n", "null", "[]", "{}", "\"\"", "0", "{\"a\":1,\"a\":2}", "\u{feff}{}",
            "{\"subject\":{\"type\":\"User\",\"id\":\"a\"}}garbage",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
    ]
    .boxed()
}

fn content_type() -> BoxedStrategy<Option<String>> {
    prop_oneof![
        6 => Just(Some("application/json".to_string())),
        1 => prop::sample::select(vec![
            "application/json; charset=utf-8",
            "APPLICATION/JSON",
            "application/problem+json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/json;;",
            "",
            ";",
        ])
        .prop_map(|s| Some(s.to_string())),
        1 => Just(None),
    ]
    .boxed()
}

/// `Some` most of the time, else absent.
fn maybe<S: Strategy>(s: S) -> impl Strategy<Value = Option<S::Value>>
where
    S::Value: Clone,
{
    prop_oneof![4 => s.prop_map(Some), 1 => Just(None)]
}

/// An object with the given optional members and some unknown ones.
fn object(fields: Vec<(String, Option<Value>)>, extra: Vec<(String, Value)>) -> Value {
    let mut o: Map<String, Value> = extra.into_iter().collect();
    for (k, v) in fields {
        if let Some(v) = v {
            o.insert(k, v);
        }
    }
    Value::Object(o)
}

fn extra_members() -> BoxedStrategy<Vec<(String, Value)>> {
    prop_oneof![
        3 => Just(Vec::new()),
        1 => prop::collection::vec((hostile_string(), json_leaf()), 1..3),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------
// Generators: AuthZEN requests
// ---------------------------------------------------------------------------

const ENTITY_TYPES: &[&str] = &[
    "User",
    "Tenant",
    "Operator",
    "Category",
    "Account",
    "Subscription",
    "Action",
    "user",
    "record",
    "Ns::User",
    "User ",
    " User",
    "user::record",
];

const ENTITY_IDS: &[&str] = &[
    "acme",
    "acme-admin",
    "acme-acct",
    "ada",
    "op1",
    "beta",
    "bob",
    "reports",
    "users",
    "alice",
    "record-1",
    "record-2",
];

const ACTIONS: &[&str] = &[
    "access_management",
    "view",
    "edit",
    "approve",
    "add_operator",
    "activate_operator",
    "deactivate_operator",
    "create_own_operator",
    "link_operator",
    "transfer_operator",
    "record_production",
    "change_license",
    "change_role",
    "assign_license",
    "create_hub",
    "management",
    "in_product",
    "read",
    "write",
    "delete",
    "Action::read",
    "Ns::view",
    "Action::\"view\"",
];

/// Attribute and context keys the two packs declare, and their neighbours.
const ATTRIBUTE_KEYS: &[&str] = &[
    "name",
    "email",
    "active",
    "licensed",
    "role",
    "has_own_operator",
    "number",
    "kind",
    "owner",
    "seats",
    "provisioned",
    "created_at",
    "trial_days",
    "active_admins",
    "status",
    "now",
    "tenant",
    "new_role",
    "action_properties",
    "soft",
    "view",
    "__entity",
];

fn type_name() -> BoxedStrategy<Value> {
    prop_oneof![
        6 => prop::sample::select(ENTITY_TYPES).prop_map(Value::from),
        2 => hostile_string().prop_map(Value::String),
        1 => json_leaf(),
    ]
    .boxed()
}

fn entity_id() -> BoxedStrategy<Value> {
    prop_oneof![
        5 => prop::sample::select(ENTITY_IDS).prop_map(Value::from),
        3 => hostile_string().prop_map(Value::String),
        1 => json_leaf(),
    ]
    .boxed()
}

/// Values an attribute may plausibly hold, right type or not.
fn attribute_value() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => json_leaf(),
        2 => (prop::sample::select(ENTITY_TYPES), prop::sample::select(ENTITY_IDS))
            .prop_map(|(t, i)| json!({"type": t, "id": i})),
        1 => (prop::sample::select(ENTITY_TYPES), entity_id())
            .prop_map(|(t, i)| json!({"__entity": {"type": t, "id": i}})),
        1 => hostile_string().prop_map(|s| json!({"__extn": {"fn": "ip", "arg": s}})),
        1 => prop::collection::vec(
            (prop::sample::select(ENTITY_TYPES), prop::sample::select(ENTITY_IDS))
                .prop_map(|(t, i)| json!({"type": t, "id": i})),
            0..4,
        )
        .prop_map(Value::Array),
        1 => (json_leaf(), json_leaf()).prop_map(|(a, b)| json!({
            "name": a, "view": [{"type": "Category", "id": "reports"}], "edit": b, "approve": [],
            "user": {"total": a, "used": 1, "free": b},
        })),
        2 => any_json(),
        1 => deep_json(),
    ]
    .boxed()
}

fn properties() -> BoxedStrategy<Value> {
    prop_oneof![
        6 => prop::collection::vec(
            (
                prop_oneof![4 => prop::sample::select(ATTRIBUTE_KEYS).prop_map(str::to_string), 1 => hostile_string()],
                attribute_value(),
            ),
            0..5,
        )
        .prop_map(object_of),
        1 => json_leaf(),
    ]
    .boxed()
}

/// `subject` or `resource`: mostly an object with `type`, `id`, `properties`.
fn target() -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        8 => (maybe(type_name()), maybe(entity_id()), maybe(properties()), extra_members())
            .prop_map(|(t, i, p, x)| Some(object(
                vec![("type".into(), t), ("id".into(), i), ("properties".into(), p)],
                x,
            ))),
        1 => hostile_json().prop_map(Some),
        1 => Just(None),
    ]
    .boxed()
}

fn action() -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        8 => (
            maybe(prop_oneof![
                6 => prop::sample::select(ACTIONS).prop_map(Value::from),
                2 => hostile_string().prop_map(Value::String),
                1 => json_leaf(),
            ]),
            prop_oneof![3 => Just(None), 1 => properties().prop_map(Some)],
            extra_members(),
        )
            .prop_map(|(n, p, x)| Some(object(vec![("name".into(), n), ("properties".into(), p)], x))),
        1 => hostile_json().prop_map(Some),
        1 => Just(None),
    ]
    .boxed()
}

fn context() -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        3 => Just(None),
        3 => properties().prop_map(Some),
        1 => hostile_json().prop_map(Some),
    ]
    .boxed()
}

/// Subject, action and resource that the two packs know.
const TRIPLES: &[(&str, &str, &str, &str, &str)] = &[
    ("User", "acme-admin", "access_management", "Tenant", "acme"),
    ("User", "ada", "view", "Category", "reports"),
    ("User", "ada", "edit", "Category", "users"),
    ("User", "acme-admin", "approve", "Category", "settings"),
    ("User", "acme-admin", "add_operator", "Tenant", "acme"),
    ("User", "ada", "activate_operator", "Operator", "op1"),
    ("User", "acme-admin", "create_own_operator", "Tenant", "acme"),
    ("User", "acme-admin", "transfer_operator", "Operator", "op1"),
    ("Operator", "op1", "record_production", "Tenant", "acme"),
    ("User", "acme-admin", "change_license", "Tenant", "acme"),
    ("User", "bob", "access_management", "Tenant", "beta"),
    ("Account", "acme-acct", "create_hub", "Tenant", "beta"),
    ("User", "acme-admin", "change_role", "User", "ada"),
    ("user", "alice", "read", "record", "record-1"),
    ("user", "bob", "write", "record", "record-2"),
    ("user", "alice", "write", "record", "record-1"),
    ("user", "alice", "delete", "record", "record-1"),
];

/// Properties of the declared names, mostly of the declared types.
fn typed_properties() -> BoxedStrategy<Value> {
    let typed = prop::sample::select(vec![
        json!({"role": "admin"}),
        json!({"status": "archived"}),
        json!({"status": "active"}),
        json!({"active": false}),
        json!({"licensed": true, "has_own_operator": false}),
        json!({"name": "X", "email": "x@example.com"}),
        json!({"role": {"name": "admin", "view": [], "edit": [], "approve": [{"type": "Category", "id": "reports"}]}}),
        json!({"provisioned": false, "created_at": 0, "trial_days": -5}),
        json!({"seats": {"user": {"total": 1, "used": 2, "free": -1}, "shop_floor": {"total": 0, "used": 0, "free": 0}}}),
        json!({"active_admins": i64::MAX}),
        json!({"kind": "user", "owner": {"type": "User", "id": "ada"}}),
        json!({"owner": {"type": "Tenant", "id": "acme"}}),
        json!({"number": "7"}),
    ]);
    prop_oneof![
        3 => typed,
        1 => properties(),
    ]
    .boxed()
}

/// A request for a known subject, action and resource, slightly off.
fn plausible_request() -> BoxedStrategy<Value> {
    let id = |known: &'static str| {
        prop_oneof![
            6 => Just(Value::from(known)),
            1 => hostile_string().prop_map(Value::String),
        ]
    };
    let props = || prop_oneof![3 => Just(None), 1 => typed_properties().prop_map(Some)];
    prop::sample::select(TRIPLES)
        .prop_flat_map(move |(st, si, a, rt, ri)| {
            (
                id(si),
                props(),
                prop_oneof![
                    3 => Just(None),
                    1 => any::<bool>().prop_map(|soft| Some(json!({"soft": soft}))),
                    1 => properties().prop_map(Some),
                ],
                id(ri),
                props(),
                prop_oneof![
                    3 => Just(None),
                    1 => prop::sample::select(vec![
                        json!({"new_role": "manager"}),
                        json!({"new_role": 1}),
                        json!({"now": 0, "tenant": {"type": "Tenant", "id": "beta"}}),
                        json!({"tenant": "acme"}),
                    ])
                    .prop_map(Some),
                    1 => properties().prop_map(Some),
                ],
            )
                .prop_map(move |(si, sp, ap, ri, rp, c)| {
                    object(
                        vec![
                            (
                                "subject".into(),
                                Some(object(
                                    vec![
                                        ("type".into(), Some(st.into())),
                                        ("id".into(), Some(si)),
                                        ("properties".into(), sp),
                                    ],
                                    vec![],
                                )),
                            ),
                            (
                                "action".into(),
                                Some(object(
                                    vec![("name".into(), Some(a.into())), ("properties".into(), ap)],
                                    vec![],
                                )),
                            ),
                            (
                                "resource".into(),
                                Some(object(
                                    vec![
                                        ("type".into(), Some(rt.into())),
                                        ("id".into(), Some(ri)),
                                        ("properties".into(), rp),
                                    ],
                                    vec![],
                                )),
                            ),
                            ("context".into(), c),
                        ],
                        vec![],
                    )
                })
        })
        .boxed()
}

/// One evaluation request, well formed or nearly.
fn evaluation_request() -> BoxedStrategy<Value> {
    prop_oneof![
        1 => plausible_request(),
        1 => hostile_request(),
    ]
    .boxed()
}

/// A request whose every part may be of any type.
fn hostile_request() -> BoxedStrategy<Value> {
    (target(), action(), target(), context(), extra_members())
        .prop_map(|(s, a, r, c, x)| {
            object(
                vec![
                    ("subject".into(), s),
                    ("action".into(), a),
                    ("resource".into(), r),
                    ("context".into(), c),
                ],
                x,
            )
        })
        .boxed()
}

/// A batch: defaults, options, and items.
#[derive(Debug, Clone)]
struct Batch {
    body: Value,
}

impl Batch {
    /// The items asked for, when the request has a non-empty array of them.
    fn items(&self) -> Option<&Vec<Value>> {
        self.body
            .get("evaluations")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
    }

    /// The semantic asked for, when it is one of the three.
    fn semantic(&self) -> Option<&str> {
        match self.body.get("options") {
            None | Some(Value::Null) => Some("execute_all"),
            Some(o) => match o.get("evaluations_semantic") {
                None | Some(Value::Null) => Some("execute_all"),
                Some(Value::String(s)) => Some(s.as_str()),
                Some(_) => None,
            },
        }
    }
}

fn options() -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        2 => Just(None),
        6 => (
            maybe(prop_oneof![
                6 => prop::sample::select(vec!["execute_all", "deny_on_first_deny", "permit_on_first_permit"])
                    .prop_map(Value::from),
                1 => prop::sample::select(vec!["EXECUTE_ALL", "", "deny_on_first_permit", "execute_all "])
                    .prop_map(Value::from),
                1 => json_leaf(),
            ]),
            maybe(json_leaf()),
            extra_members(),
        )
            .prop_map(|(s, c, x)| Some(object(
                vec![("evaluations_semantic".into(), s), ("include_context".into(), c)],
                x,
            ))),
        1 => hostile_json().prop_map(Some),
    ]
    .boxed()
}

/// Removes each of `keys` from `v` where `drop` says so.
fn without(mut v: Value, keys: &[&str], drop: &[bool]) -> Value {
    if let Some(o) = v.as_object_mut() {
        for (k, d) in keys.iter().zip(drop) {
            if *d {
                o.remove(*k);
            }
        }
    }
    v
}

/// A batch item: a request, perhaps missing parts the batch's defaults give.
fn batch_item() -> BoxedStrategy<Value> {
    let drop = prop::collection::vec(prop::bool::weighted(0.25), 3);
    prop_oneof![
        8 => (evaluation_request(), drop)
            .prop_map(|(r, drop)| without(r, &["subject", "action", "resource"], &drop)),
        1 => hostile_json(),
    ]
    .boxed()
}

fn batch() -> BoxedStrategy<Batch> {
    let items = prop_oneof![
        1 => Just(None),
        12 => prop::collection::vec(batch_item(), 0..12).prop_map(|v| Some(Value::Array(v))),
        1 => hostile_json().prop_map(Some),
        1 => (1_001usize..1_010).prop_map(|n| Some(Value::Array(vec![json!({}); n]))),
    ];
    // Top-level defaults: some parts of a request, or none.
    let defaults = (
        evaluation_request(),
        prop::collection::vec(prop::bool::weighted(0.6), 4),
    )
        .prop_map(|(r, drop)| without(r, &["subject", "action", "resource", "context"], &drop));
    (defaults, options(), items, extra_members())
        .prop_map(|(defaults, o, items, x)| {
            let mut body = object(vec![("options".into(), o), ("evaluations".into(), items)], x);
            if let (Some(b), Value::Object(d)) = (body.as_object_mut(), defaults) {
                b.extend(d);
            }
            Batch { body }
        })
        .boxed()
}

// ---------------------------------------------------------------------------
// Worlds
// ---------------------------------------------------------------------------

/// The licensing pack with some of everything: `acme` provisioned (2 shop-floor
/// and 2 user seats, admin `acme-admin` licensed, manager `ada`, seat operator
/// `op1`), `beta` in trial (admin `bob`), and account `multi` with two tenants.
async fn licensing_world() -> TestApp {
    let app = TestApp::licensing();
    app.provisioned("acme", 2, 2).await;
    let setup = [
        (
            "/v1/tenants/acme/users",
            json!({"id": "ada", "name": "Ada", "email": "ada@example.com", "role": "manager"}),
        ),
        (
            "/v1/tenants/acme/operators",
            json!({"id": "op1", "number": "1", "name": "Op One"}),
        ),
        ("/v1/accounts", json!({"id": "beta-acct", "name": "Beta"})),
        (
            "/v1/accounts/beta-acct/tenants",
            json!({"id": "beta", "name": "Beta"}),
        ),
        (
            "/v1/tenants/beta/users",
            json!({"id": "bob", "name": "Bob", "email": "bob@example.com", "role": "admin"}),
        ),
        ("/v1/accounts", json!({"id": "multi", "name": "Multi"})),
        ("/v1/accounts/multi/tenants", json!({"id": "m1", "name": "M1"})),
        ("/v1/accounts/multi/tenants", json!({"id": "m2", "name": "M2"})),
    ];
    for (path, body) in setup {
        let (s, b) = app.post(path, body).await;
        assert_eq!(s, StatusCode::CREATED, "{path}: {b}");
    }
    app
}

/// The AuthZEN fixture pack with the fixture's entities.
async fn fixture_world() -> TestApp {
    let app = TestApp::with_pack(&repo_path("fixtures/authzen"), "2026-01-01T00:00:00Z");
    let text = std::fs::read_to_string(repo_path("fixtures/authzen/entities.json")).unwrap();
    let entities: Value = serde_json::from_str(&text).unwrap();
    let (s, b) = app.call("PUT", "/v1/entities", Some(entities)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    app
}

/// What can be read of the data: every read of the world's known ids, the
/// generic entities, the reads `probes` name, and the count of committed write
/// transactions.
async fn state(app: &TestApp, probes: &[String]) -> Result<Vec<(String, StatusCode, Value)>, TestCaseError> {
    let mut paths: Vec<String> = Vec::new();
    paths.extend(ACCOUNTS.iter().map(|a| format!("/v1/accounts/{a}")));
    for t in TENANTS {
        for tail in [
            "",
            "/subscriptions",
            "/users",
            "/operators",
            "/seats",
            "/notices",
            "/roles",
        ] {
            paths.push(format!("/v1/tenants/{t}{tail}"));
        }
    }
    paths.extend(USERS.iter().map(|u| format!("/v1/users/{u}")));
    paths.push("/v1/entities?limit=1000".into());
    paths.extend(probes.iter().cloned());
    let mut out = Vec::with_capacity(paths.len() + 1);
    for p in paths {
        let call = Call::get(p.clone());
        // A probe built from hostile input may not even be a valid URI.
        let Some((status, body)) = send(app, &call).await else {
            continue;
        };
        assert_answer(&call, status, &body)?;
        out.push((p, status, body));
    }
    out.push((
        "data_revision".into(),
        StatusCode::OK,
        json!(app.store.data_revision()),
    ));
    Ok(out)
}

/// After a refusal: the data reads back as before.
fn assert_unchanged(
    call: &Call,
    status: StatusCode,
    body: &Value,
    before: &[(String, StatusCode, Value)],
    after: &[(String, StatusCode, Value)],
) -> Result<(), TestCaseError> {
    prop_assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(after) {
        prop_assert!(
            b == a,
            "{} refused with {status} {body}, yet `{}` changed:\nbefore {} {}\nafter  {} {}",
            call.describe(),
            b.0,
            b.1,
            b.2,
            a.1,
            a.2
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// 1. Decisions
// ---------------------------------------------------------------------------

/// Asserts a decision answer: 200 with a boolean `decision`, or a 4xx error.
fn assert_single(call: &Call, status: StatusCode, body: &Value) -> Result<(), TestCaseError> {
    assert_answer(call, status, body)?;
    if status.is_success() {
        prop_assert_eq!(status, StatusCode::OK);
        prop_assert!(body["decision"].is_boolean(), "{}: {body}", call.describe());
    }
    Ok(())
}

/// Asserts a batch answer against what was asked.
fn assert_batch(call: &Call, batch: &Batch, status: StatusCode, body: &Value) -> Result<(), TestCaseError> {
    assert_answer(call, status, body)?;
    if !status.is_success() {
        return Ok(());
    }
    prop_assert_eq!(status, StatusCode::OK);
    let Some(items) = batch.items() else {
        // Without items the endpoint answers like the single evaluation.
        prop_assert!(body["decision"].is_boolean(), "{body}");
        return Ok(());
    };
    let answers = body["evaluations"]
        .as_array()
        .ok_or_else(|| TestCaseError::fail(format!("no `evaluations` array: {body}")))?;
    prop_assert!(
        answers.iter().all(|a| a["decision"].is_boolean()),
        "every item has a boolean decision: {body}"
    );
    let decisions: Vec<bool> = answers.iter().filter_map(|a| a["decision"].as_bool()).collect();
    match batch.semantic() {
        Some("execute_all") => prop_assert_eq!(answers.len(), items.len(), "{}", body),
        Some(s @ ("deny_on_first_deny" | "permit_on_first_permit")) => {
            let stop_on = s == "permit_on_first_permit";
            prop_assert!(!answers.is_empty() && answers.len() <= items.len(), "{body}");
            let (last, before) = decisions
                .split_last()
                .ok_or_else(|| TestCaseError::fail("no decision"))?;
            prop_assert!(
                before.iter().all(|d| *d != stop_on),
                "{s} went on past a stop: {body}"
            );
            prop_assert!(
                answers.len() == items.len() || *last == stop_on,
                "{s} stopped early without cause: {body}"
            );
        }
        other => prop_assert!(false, "200 for semantic {other:?}: {body}"),
    }
    Ok(())
}

#[test]
fn decisions_survive_arbitrary_bytes() {
    let rt = runtime();
    let apps = [rt.block_on(licensing_world()), rt.block_on(fixture_world())];
    let revisions: Vec<u64> = apps.iter().map(|a| a.store.data_revision()).collect();
    check(
        (hostile_bytes(), content_type(), any::<bool>()),
        |(bytes, content_type, batch)| {
            let call = Call {
                method: "POST",
                uri: if batch { EVALUATIONS } else { EVALUATION }.into(),
                content_type,
                body: bytes,
                token: false,
            };
            rt.block_on(async {
                for app in &apps {
                    let (status, body) = send_ok(app, &call).await?;
                    assert_answer(&call, status, &body)?;
                }
                Ok(())
            })
        },
    );
    // Deciding never writes.
    let after: Vec<u64> = apps.iter().map(|a| a.store.data_revision()).collect();
    assert_eq!(revisions, after);
}

#[test]
fn decisions_survive_arbitrary_json() {
    let rt = runtime();
    let apps = [rt.block_on(licensing_world()), rt.block_on(fixture_world())];
    check((hostile_json(), any::<bool>()), |(value, batch)| {
        let uri = if batch { EVALUATIONS } else { EVALUATION };
        let mut call = Call::json("POST", uri, &value);
        call.token = false;
        rt.block_on(async {
            for app in &apps {
                let (status, body) = send_ok(app, &call).await?;
                assert_answer(&call, status, &body)?;
                if !value.is_object() {
                    prop_assert_eq!(status, StatusCode::BAD_REQUEST, "{}", body);
                }
            }
            Ok(())
        })
    });
}

#[test]
fn evaluation_survives_hostile_requests() {
    let rt = runtime();
    let apps = [rt.block_on(licensing_world()), rt.block_on(fixture_world())];
    let revisions: Vec<u64> = apps.iter().map(|a| a.store.data_revision()).collect();
    check(evaluation_request(), |request| {
        let mut call = Call::json("POST", EVALUATION, &request);
        call.token = false;
        rt.block_on(async {
            for app in &apps {
                let (status, body) = send_ok(app, &call).await?;
                assert_single(&call, status, &body)?;
            }
            Ok(())
        })
    });
    let after: Vec<u64> = apps.iter().map(|a| a.store.data_revision()).collect();
    assert_eq!(revisions, after);
}

#[test]
fn evaluations_survive_hostile_batches() {
    let rt = runtime();
    let apps = [rt.block_on(licensing_world()), rt.block_on(fixture_world())];
    check(batch(), |batch| {
        let mut call = Call::json("POST", EVALUATIONS, &batch.body);
        call.token = false;
        rt.block_on(async {
            for app in &apps {
                let (status, body) = send_ok(app, &call).await?;
                assert_batch(&call, &batch, status, &body)?;
            }
            Ok(())
        })
    });
}

// ---------------------------------------------------------------------------
// 2. The ledger's writes
// ---------------------------------------------------------------------------

/// A write endpoint: method, path (`{0}`, `{1}`: path ids, with the ids each
/// may plausibly take) and body fields.
#[derive(Debug, Clone, Copy)]
struct Endpoint {
    method: &'static str,
    path: &'static str,
    ids: [&'static [&'static str]; 2],
    fields: &'static [&'static str],
}

const fn ep(
    method: &'static str,
    path: &'static str,
    ids: [&'static [&'static str]; 2],
    fields: &'static [&'static str],
) -> Endpoint {
    Endpoint {
        method,
        path,
        ids,
        fields,
    }
}

// What the world holds, and ids a write may create (so that later cases find them).
const ACCOUNTS: &[&str] = &["acme-acct", "beta-acct", "multi"];
const TENANTS: &[&str] = &["acme", "beta", "m1", "m2"];
const USERS: &[&str] = &["acme-admin", "ada", "bob"];
const OPERATORS: &[&str] = &["op1", "op2", "op3"];
const NUMBERS: &[&str] = &["1", "2", "3", "4", "0", "-1", "9223372036854775808"];
const ROLES: &[&str] = &["admin", "manager", "viewer", "custom", "ghost"];
const NEW_IDS: &[&str] = &["op2", "op3", "carol", "dave", "t3", "acct3", "custom"];
const NONE: &[&str] = &[];

const WRITES: &[Endpoint] = &[
    ep("POST", "/v1/accounts", [NONE, NONE], &["id", "name"]),
    ep(
        "POST",
        "/v1/accounts/{0}/tenants",
        [ACCOUNTS, NONE],
        &["id", "name", "trial_days"],
    ),
    ep(
        "POST",
        "/v1/accounts/{0}/hubs",
        [ACCOUNTS, NONE],
        &["name", "tenant"],
    ),
    ep(
        "POST",
        "/v1/tenants/{0}/subscriptions",
        [TENANTS, NONE],
        &["kind", "quantity", "starts_at", "ends_at", "payment_due_at"],
    ),
    ep(
        "PATCH",
        "/v1/tenants/{0}/subscriptions/{1}",
        [TENANTS, NUMBERS],
        &["quantity", "ends_at"],
    ),
    ep(
        "POST",
        "/v1/tenants/{0}/subscriptions/{1}/payment",
        [TENANTS, NUMBERS],
        &[],
    ),
    ep(
        "POST",
        "/v1/tenants/{0}/roles",
        [TENANTS, NONE],
        &["name", "levels"],
    ),
    ep(
        "POST",
        "/v1/tenants/{0}/users",
        [TENANTS, NONE],
        &["id", "name", "email", "role"],
    ),
    ep("PATCH", "/v1/users/{0}", [USERS, NONE], &["active", "role", "by"]),
    ep("PUT", "/v1/users/{0}/license", [USERS, NONE], &["by"]),
    ep("DELETE", "/v1/users/{0}/license", [USERS, NONE], &["by"]),
    ep(
        "POST",
        "/v1/tenants/{0}/operators",
        [TENANTS, NONE],
        &["id", "number", "name", "by"],
    ),
    ep("PATCH", "/v1/operators/{0}", [OPERATORS, NONE], &["active", "by"]),
    ep("POST", "/v1/users/{0}/operator", [USERS, NONE], &["id", "number"]),
    ep("PUT", "/v1/users/{0}/operator", [USERS, NONE], &["operator"]),
    ep("POST", "/v1/operators/{0}/production", [OPERATORS, NONE], &["at"]),
    ep("POST", "/v1/tenants/{0}/reconcile", [TENANTS, NONE], &[]),
];

/// Every id the world may hold.
const KNOWN_IDS: &[&str] = &[
    "acme-acct",
    "beta-acct",
    "multi",
    "acme",
    "beta",
    "m1",
    "m2",
    "acme-admin",
    "ada",
    "bob",
    "op1",
    "1",
    "2",
    "manager",
];

/// A path id: a known one, any string percent-encoded, or raw URI text.
#[derive(Debug, Clone)]
enum PathId {
    Known(&'static str),
    Encoded(String),
    Raw(String),
}

impl PathId {
    fn render(&self) -> String {
        match self {
            PathId::Known(s) => (*s).to_string(),
            PathId::Encoded(s) => encode(s),
            PathId::Raw(s) => s.clone(),
        }
    }
}

fn path_id(plausible: &'static [&'static str]) -> BoxedStrategy<PathId> {
    let raw_piece = prop::sample::select(vec![
        "a",
        "acme",
        "acme-admin",
        "op1",
        "1",
        "/",
        "//",
        "%",
        "%FF",
        "%2F",
        "%2f",
        "%00",
        "%C3%A9",
        "%E2%80%AE",
        "%25",
        "%%",
        "%zz",
        ".",
        "..",
        "~",
        ":",
        "@",
        ";",
        "=",
        "&",
        "+",
        "!",
        "$",
        "'",
        "(",
        ")",
        "*",
        ",",
        "license",
        "operator",
        "payment",
        "acme-admin/license",
        "acme/subscriptions",
        "op1/production",
    ]);
    prop_oneof![
        8 => prop::sample::select(if plausible.is_empty() { KNOWN_IDS } else { plausible })
            .prop_map(PathId::Known),
        1 => prop::sample::select(KNOWN_IDS).prop_map(PathId::Known),
        3 => short_hostile_string().prop_map(PathId::Encoded),
        // Longer than any id, yet within what a URI may hold.
        1 => (129usize..3_000).prop_map(|n| PathId::Encoded("é".repeat(n))),
        3 => prop::collection::vec(raw_piece, 0..4).prop_map(|p| PathId::Raw(p.concat())),
    ]
    .boxed()
}

/// Plausible and implausible values for one body field.
fn field_value(field: &'static str) -> BoxedStrategy<Value> {
    let ids = |pool: &'static [&'static str]| prop::sample::select(pool).prop_map(Value::from);
    let plausible: BoxedStrategy<Value> = match field {
        "by" => ids(USERS).boxed(),
        "operator" => ids(OPERATORS).boxed(),
        "tenant" => ids(TENANTS).boxed(),
        "role" => ids(ROLES).boxed(),
        "id" => prop_oneof![
            4 => ids(NEW_IDS),
            2 => ids(KNOWN_IDS),
            1 => "[a-z0-9-]{1,12}".prop_map(Value::String),
        ]
        .boxed(),
        "name" => prop_oneof![
            3 => "[A-Za-z ]{1,20}".prop_map(Value::String),
            1 => ids(KNOWN_IDS),
        ]
        .boxed(),
        "email" => prop::sample::select(vec!["x@example.com", "a@b", "@example.com", "a@.com", "a@b.", "a b@c.d"])
            .prop_map(Value::from)
            .boxed(),
        "trial_days" | "quantity" => prop::sample::select(vec![
            json!(-1),
            json!(0),
            json!(1),
            json!(2),
            json!(3650),
            json!(3651),
            json!(1_000_000),
            json!(1_000_001),
            json!(i64::MAX),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(1.5),
            json!(1e300),
            json!("3"),
        ])
        .boxed(),
        "kind" => prop::sample::select(vec!["user", "shop_floor", "User", "seat", ""])
            .prop_map(Value::from)
            .boxed(),
        "starts_at" | "ends_at" | "payment_due_at" | "at" => prop::sample::select(vec![
            "2025-01-01T00:00:00Z",
            "2026-01-01T00:00:00Z",
            "2025-12-31T23:59:59Z",
            "2026-01-01T00:04:00Z",
            "2026-01-01T00:06:00Z",
            "2030-01-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
            "-009999-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01",
            "2026-01-01T00:00:00+14:00",
            "2026-01-01T00:00:00.999999999Z",
            "",
        ])
        .prop_map(Value::from)
        .boxed(),
        "levels" => prop::collection::vec(
            (
                prop_oneof![
                    3 => prop::sample::select(vec!["reports", "users", "workers", "settings", "devices"]).prop_map(str::to_string),
                    1 => hostile_string(),
                ],
                prop_oneof![
                    3 => prop::sample::select(vec!["view", "edit", "approve", "none", "VIEW", ""]).prop_map(Value::from),
                    1 => json_leaf(),
                ],
            ),
            0..4,
        )
        .prop_map(object_of)
        .boxed(),
        "number" => prop::sample::select(vec![
            json!("7"),
            json!("1"),
            json!(7),
            json!(0),
            json!(-1),
            json!(u64::MAX),
            json!(1.5),
            json!("  "),
            json!("x".repeat(33)),
            json!("a\nb"),
        ])
        .boxed(),
        "active" => any::<bool>().prop_map(Value::Bool).boxed(),
        _ => json_leaf().boxed(),
    };
    prop_oneof![
        6 => plausible,
        1 => hostile_json(),
    ]
    .boxed()
}

/// A body with some of the endpoint's fields (and perhaps an unknown one).
fn fields_body(fields: &'static [&'static str]) -> BoxedStrategy<Value> {
    let members: Vec<BoxedStrategy<(String, Option<Value>)>> = fields
        .iter()
        .map(|f| {
            prop_oneof![
                8 => field_value(f).prop_map(Some),
                1 => Just(None),
            ]
            .prop_map(move |v| ((*f).to_string(), v))
            .boxed()
        })
        .collect();
    let extra = prop_oneof![
        8 => Just(Vec::new()),
        1 => extra_members(),
    ];
    (members, extra).prop_map(|(m, x)| object(m, x)).boxed()
}

#[derive(Debug, Clone)]
enum WriteBody {
    None,
    Json(Value),
    Raw(Option<String>, Vec<u8>),
}

fn write_body(endpoint: Endpoint) -> BoxedStrategy<WriteBody> {
    prop_oneof![
        12 => fields_body(endpoint.fields).prop_map(WriteBody::Json),
        2 => hostile_json().prop_map(WriteBody::Json),
        1 => (content_type(), hostile_bytes()).prop_map(|(c, b)| WriteBody::Raw(c, b)),
        1 => Just(WriteBody::None),
    ]
    .boxed()
}

fn query() -> BoxedStrategy<Option<String>> {
    prop_oneof![
        6 => Just(None),
        1 => prop::collection::vec(
            prop::sample::select(vec![
                "by=acme-admin", "by=ada", "by=", "by=%FF%FE", "by", "dry_run=true", "dry_run=false",
                "dry_run=maybe", "dry_run=%FF", "dry_run=", "%", "=", "&", "by=a%00b", "x=1",
            ]),
            1..4,
        )
        .prop_map(|p| Some(p.join("&"))),
    ]
    .boxed()
}

#[derive(Debug, Clone)]
struct Write {
    endpoint: Endpoint,
    ids: (PathId, PathId),
    query: Option<String>,
    body: WriteBody,
}

impl Write {
    fn path(&self) -> String {
        self.endpoint
            .path
            .replace("{0}", &self.ids.0.render())
            .replace("{1}", &self.ids.1.render())
    }

    fn call(&self) -> Call {
        let mut uri = self.path();
        if let Some(q) = &self.query {
            uri.push('?');
            uri.push_str(q);
        }
        let (content_type, body) = match &self.body {
            WriteBody::None => (None, Vec::new()),
            WriteBody::Json(v) => (Some("application/json".to_string()), v.to_string().into_bytes()),
            WriteBody::Raw(c, b) => (c.clone(), b.clone()),
        };
        Call {
            method: self.endpoint.method,
            uri,
            content_type,
            body,
            token: true,
        }
    }

    /// Reads of what this write may touch beyond the world's known ids: the
    /// path ids and the string members of the body, as whatever they might name.
    fn probes(&self) -> Vec<String> {
        let mut names: Vec<String> = vec![self.ids.0.render()];
        if let WriteBody::Json(Value::Object(o)) = &self.body {
            names.extend(o.values().filter_map(Value::as_str).map(encode));
        }
        let mut out = Vec::new();
        for n in names.into_iter().filter(|n| n.len() < 200) {
            out.push(format!("/v1/accounts/{n}"));
            out.push(format!("/v1/tenants/{n}"));
            out.push(format!("/v1/tenants/{n}/users"));
            out.push(format!("/v1/tenants/{n}/operators"));
            out.push(format!("/v1/users/{n}"));
        }
        out
    }
}

fn write() -> BoxedStrategy<Write> {
    prop::sample::select(WRITES)
        .prop_flat_map(|endpoint| {
            (
                path_id(endpoint.ids[0]),
                path_id(endpoint.ids[1]),
                query(),
                write_body(endpoint),
            )
                .prop_map(move |(a, b, query, body)| Write {
                    endpoint,
                    ids: (a, b),
                    query,
                    body,
                })
        })
        .boxed()
}

/// Every licensing decision of [`TRIPLES`] answers 200.
async fn assert_decidable(app: &TestApp) -> Result<(), TestCaseError> {
    for (st, si, a, rt, ri) in TRIPLES.iter().filter(|t| t.0 != "user") {
        let request = json!({
            "subject": {"type": st, "id": si},
            "action": {"name": a},
            "resource": {"type": rt, "id": ri},
        });
        let call = Call::json("POST", EVALUATION, &request);
        let (status, body) = send_ok(app, &call).await?;
        prop_assert_eq!(status, StatusCode::OK, "{}: {}", request, body);
        prop_assert!(body["decision"].is_boolean(), "{body}");
    }
    Ok(())
}

#[test]
fn ledger_writes_survive_hostile_input_and_refusals_change_nothing() {
    let rt = runtime();
    let app = rt.block_on(licensing_world());
    check(write(), |write| {
        let call = write.call();
        rt.block_on(async {
            let probes = write.probes();
            let before = state(&app, &probes).await?;
            let (status, body) = send_ok(&app, &call).await?;
            assert_answer(&call, status, &body)?;
            if status.is_client_error() {
                let after = state(&app, &probes).await?;
                assert_unchanged(&call, status, &body, &before, &after)?;
            } else {
                // Whatever the ledger now holds, it can be decided on.
                assert_decidable(&app).await?;
            }
            Ok(())
        })
    });
}

// ---------------------------------------------------------------------------
// 3. Entity import
// ---------------------------------------------------------------------------

fn uid(types: &'static [&'static str]) -> BoxedStrategy<Value> {
    let ty = prop_oneof![
        6 => prop::sample::select(types).prop_map(Value::from),
        2 => hostile_string().prop_map(Value::String),
        1 => json_leaf(),
    ]
    .boxed();
    prop_oneof![
        6 => (maybe(ty.clone()), maybe(entity_id()), extra_members())
            .prop_map(|(t, i, x)| object(vec![("type".into(), t), ("id".into(), i)], x)),
        2 => (ty, entity_id()).prop_map(|(t, i)| json!({"__entity": {"type": t, "id": i}})),
        1 => (prop::sample::select(types), prop::sample::select(ENTITY_IDS))
            .prop_map(|(t, i)| Value::String(format!("{t}::\"{i}\""))),
        1 => hostile_json(),
    ]
    .boxed()
}

fn entity(types: &'static [&'static str]) -> BoxedStrategy<Value> {
    let attrs = prop_oneof![
        6 => prop::collection::vec(
            (
                prop_oneof![
                    4 => prop::sample::select(vec!["role", "status", "name", "active", "kind"]).prop_map(str::to_string),
                    1 => hostile_string(),
                ],
                prop_oneof![3 => "[a-z]{0,8}".prop_map(Value::String), 2 => attribute_value()],
            ),
            0..4,
        )
        .prop_map(object_of),
        1 => json_leaf(),
    ];
    let parents = prop_oneof![
        3 => Just(json!([])),
        2 => prop::collection::vec(uid(types), 0..3).prop_map(Value::Array),
        1 => json_leaf(),
    ];
    prop_oneof![
        10 => (maybe(uid(types)), maybe(attrs), maybe(parents), extra_members()).prop_map(|(u, a, p, x)| {
            object(
                vec![("uid".into(), u), ("attrs".into(), a), ("parents".into(), p)],
                x,
            )
        }),
        1 => hostile_json(),
    ]
    .boxed()
}

fn entities_body(types: &'static [&'static str]) -> BoxedStrategy<WriteBody> {
    prop_oneof![
        8 => prop::collection::vec(entity(types), 0..6).prop_map(|v| WriteBody::Json(Value::Array(v))),
        1 => hostile_json().prop_map(WriteBody::Json),
        1 => (content_type(), hostile_bytes()).prop_map(|(c, b)| WriteBody::Raw(c, b)),
    ]
    .boxed()
}

fn put_entities(body: &WriteBody) -> Call {
    let (content_type, bytes) = match body {
        WriteBody::None => (None, Vec::new()),
        WriteBody::Json(v) => (Some("application/json".to_string()), v.to_string().into_bytes()),
        WriteBody::Raw(c, b) => (c.clone(), b.clone()),
    };
    Call {
        method: "PUT",
        uri: "/v1/entities".into(),
        content_type,
        body: bytes,
        token: true,
    }
}

/// The `(type, id)` of an entity whose `uid` is spelt plainly.
fn plain_uid(entity: &Value) -> Option<(&str, &str)> {
    let uid = entity.get("uid")?;
    let uid = uid.get("__entity").unwrap_or(uid);
    Some((uid.get("type")?.as_str()?, uid.get("id")?.as_str()?))
}

#[test]
fn entity_import_survives_hostile_input() {
    let rt = runtime();
    let app = rt.block_on(fixture_world());
    check(entities_body(&["user", "record", "Action"]), |body| {
        let call = put_entities(&body);
        rt.block_on(async {
            let before = state(&app, &[]).await?;
            let (status, answer) = send_ok(&app, &call).await?;
            assert_answer(&call, status, &answer)?;
            if status.is_client_error() {
                let after = state(&app, &[]).await?;
                return assert_unchanged(&call, status, &answer, &before, &after);
            }
            let sent: Option<Value> = serde_json::from_slice(&call.body).ok();
            let Some(Value::Array(items)) = &sent else {
                return Err(TestCaseError::fail(format!(
                    "{status} for a body that is no array: {answer}"
                )));
            };
            prop_assert_eq!(&answer["stored"], &json!(items.len()), "{}", answer);
            // What was stored can be decided on.
            for item in items {
                let Some((ty, id)) = plain_uid(item) else { continue };
                let (subject, resource) = match ty {
                    "user" => (
                        json!({"type": "user", "id": id}),
                        json!({"type": "record", "id": "record-1"}),
                    ),
                    "record" => (
                        json!({"type": "user", "id": "alice"}),
                        json!({"type": "record", "id": id}),
                    ),
                    _ => continue,
                };
                for action in ["read", "write", "delete"] {
                    let request =
                        json!({"subject": subject, "action": {"name": action}, "resource": resource});
                    let call = Call::json("POST", EVALUATION, &request);
                    let (status, body) = send_ok(&app, &call).await?;
                    assert_single(&call, status, &body)?;
                    if !id.is_empty() {
                        prop_assert_eq!(status, StatusCode::OK, "{}", body);
                    }
                }
            }
            Ok(())
        })
    });
}

/// Every licensing type is the ledger's: the import refuses each (409), and
/// whatever else it refuses, it refuses without writing.
#[test]
fn entity_import_refuses_ledger_types() {
    const LEDGER_TYPES: &[&str] = &[
        "User",
        "Tenant",
        "Account",
        "Subscription",
        "Operator",
        "Category",
    ];
    let rt = runtime();
    let app = rt.block_on(licensing_world());
    check(entities_body(LEDGER_TYPES), |body| {
        let call = put_entities(&body);
        rt.block_on(async {
            let before = state(&app, &[]).await?;
            let (status, answer) = send_ok(&app, &call).await?;
            assert_answer(&call, status, &answer)?;
            if let WriteBody::Json(Value::Array(items)) = &body {
                let ledger = |e: &Value| plain_uid(e).is_some_and(|(t, _)| LEDGER_TYPES.contains(&t));
                if items.first().is_some_and(ledger) {
                    prop_assert_eq!(status, StatusCode::CONFLICT, "{}", answer);
                    prop_assert_eq!(&answer["error"]["code"], &json!("ledger_type"));
                }
                if items.iter().any(ledger) {
                    prop_assert!(status.is_client_error(), "a ledger type was imported: {answer}");
                }
            }
            if status.is_client_error() {
                let after = state(&app, &[]).await?;
                assert_unchanged(&call, status, &answer, &before, &after)?;
            }
            Ok(())
        })
    });
}

/// `GET /v1/entities` with any query string: a page or a well-formed 4xx.
#[test]
fn entity_listing_survives_hostile_queries() {
    let rt = runtime();
    let app = rt.block_on(fixture_world());
    let pair = (
        prop::sample::select(vec!["type", "limit", "after_type", "after_id", "", "x"]),
        prop_oneof![
            3 => prop::sample::select(vec!["user", "record", "0", "1", "1000", "1001", "-1", "abc", "", "%FF", "18446744073709551616"])
                .prop_map(str::to_string),
            1 => short_hostile_string().prop_map(|s| encode(&s)),
        ],
    )
        .prop_map(|(k, v)| format!("{k}={v}"));
    check(prop::collection::vec(pair, 0..4), |pairs| {
        let call = Call::get(format!("/v1/entities?{}", pairs.join("&")));
        rt.block_on(async {
            let (status, body) = send_ok(&app, &call).await?;
            assert_answer(&call, status, &body)?;
            if status.is_success() {
                prop_assert!(body["entities"].is_array(), "{body}");
            }
            Ok(())
        })
    });
}

// ---------------------------------------------------------------------------
// Regressions: inputs that once broke the contract
// ---------------------------------------------------------------------------

/// Asserts a 4xx in the error shape, with `code`.
#[track_caller]
fn assert_refused_with(got: &(StatusCode, Value), status: StatusCode, code: &str) {
    let (s, body) = got;
    assert_eq!(*s, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]["en"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// A path id that percent-decodes to bytes that are not UTF-8 was refused by
/// axum's own path extractor, in plain text (`Invalid URL: Invalid UTF-8 in
/// `account``). Found as `POST /v1/tenants/%acme/roles`, and the read of
/// `/v1/accounts/%acme` that checked nothing changed.
#[tokio::test]
async fn a_path_id_that_is_not_utf8_is_refused_in_the_error_shape() {
    let app = licensing_world().await;
    let revision = app.store.data_revision();
    for (method, uri, body) in [
        (
            "POST",
            "/v1/tenants/%acme/roles",
            Some(json!({"name": "a", "levels": {}})),
        ),
        ("GET", "/v1/accounts/%acme", None),
        ("PATCH", "/v1/users/%FF", Some(json!({"active": false}))),
        ("PUT", "/v1/users/ada%C3/license", None),
        ("POST", "/v1/tenants/acme/subscriptions/%FE/payment", None),
    ] {
        let got = app.call(method, uri, body).await;
        assert_refused_with(&got, StatusCode::BAD_REQUEST, "invalid_request");
        let message = got.1["error"]["message"]["en"].as_str().unwrap_or_default();
        assert!(message.contains("UTF-8"), "{method} {uri}: {}", got.1);
    }
    assert_eq!(app.store.data_revision(), revision, "nothing was written");
}

/// A query string that does not parse (`by` given twice, a `limit` that is no
/// number) was refused in plain text.
#[tokio::test]
async fn a_query_string_that_does_not_parse_is_refused_in_the_error_shape() {
    let app = licensing_world().await;
    let revision = app.store.data_revision();
    let before = app.get("/v1/users/ada").await;
    let got = app
        .call("PUT", "/v1/users/ada/license?by=acme-admin&by=ada", None)
        .await;
    assert_refused_with(&got, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(app.get("/v1/users/ada").await, before);
    let got = app.get("/v1/entities?limit=many").await;
    assert_refused_with(&got, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(app.store.data_revision(), revision, "nothing was written");
}

/// A method that the path does not take (a path id holding `/` can land there)
/// was a 405 with an empty body.
#[tokio::test]
async fn a_method_the_path_does_not_take_is_refused_in_the_error_shape() {
    let app = licensing_world().await;
    let revision = app.store.data_revision();
    for (method, uri) in [
        ("PATCH", "/v1/users/acme-admin/license"),
        ("DELETE", "/v1/accounts"),
        ("GET", "/access/v1/evaluation"),
    ] {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap();
        let (status, headers, body) = app.send(req).await;
        assert_refused_with(
            &(status, body),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        );
        assert!(
            headers.contains_key("allow"),
            "{method} {uri}: the methods it takes"
        );
    }
    assert_eq!(app.store.data_revision(), revision, "nothing was written");
}
