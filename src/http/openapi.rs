//! openapi: the OpenAPI document of the whole HTTP API, served at
//! `GET /openapi.json`.
//!
//! The paths are not written here: each handler carries its `#[utoipa::path]`
//! annotation and [`super::app`] registers handlers with `utoipa_axum::routes!`,
//! which adds the route and its documentation in one step, so a route cannot be
//! served undocumented. This module adds what is not a route: the info, the
//! tags, the admin security scheme, the shared error responses, and the schemas
//! of bodies that handlers read or build as raw JSON (AuthZEN, health,
//! entities) — those types are documentation only, nothing builds them.

use std::sync::Arc;

use axum::Extension;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::error::{
    BadRequest, Conflict, DecisionUnauthorized, ErrorBody, Forbidden, Internal, NotFound, PayloadTooLarge,
    Unauthorized, Unavailable, Unprocessable,
};
use crate::notice::Notice;
use crate::policy::Messages;

/// The security scheme of the admin routes (ledger, entities, explain, reload).
pub(crate) const ADMIN_TOKEN: &str = "admin_token";

/// The security scheme of decision and search routes, when the service is
/// started with `--decision-token` (optional otherwise).
pub(crate) const DECISION_TOKEN: &str = "decision_token";

/// What the document holds besides its paths.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "turnstile",
        version = env!("CARGO_PKG_VERSION"),
        description = "Licensing decisions as Cedar policies over SQLite slices. \
            Decisions are served over OpenID AuthZEN Authorization API 1.0 (Basic, Batch, Discovery); \
            the licence ledger and the admin routes need the admin bearer token; health is open. \
            Every answer echoes the caller's `X-Request-ID` (or carries a new one); \
            every error has the `ErrorBody` shape; times are RFC 3339 UTC strings.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "authzen", description = "Decisions: OpenID AuthZEN Authorization API 1.0"),
        (name = "ledger", description = "The licence ledger (admin token)"),
        (name = "admin", description = "Entities of other packs, explanations, policy reload (admin token)"),
        (name = "health", description = "Liveness, readiness and this document"),
    ),
    components(
        schemas(ErrorBody),
        responses(
            BadRequest,
            Unauthorized,
            DecisionUnauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            Unprocessable,
            Internal,
            Unavailable
        ),
    ),
    modifiers(&AdminTokenScheme),
)]
pub(crate) struct ApiDoc;

/// Adds the admin bearer-token scheme the admin routes name.
struct AdminTokenScheme;

impl Modify for AdminTokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            ADMIN_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin token (`TURNSTILE_ADMIN_TOKEN`): `Authorization: Bearer <token>`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            DECISION_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A PEP token (`--decision-token`, `TURNSTILE_DECISION_TOKENS`), asked only when the \
                         service is started with some: `Authorization: Bearer <token>`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document, as [`super::app`] assembled it.
pub(crate) type Document = Arc<utoipa::openapi::OpenApi>;

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "health",
    operation_id = "openapi",
    summary = "This OpenAPI document",
    responses(
        (status = 200, description = "The OpenAPI document of this API",
            body = Object, content_type = "application/json"),
    ),
)]
pub async fn document(Extension(doc): Extension<Document>) -> Response {
    axum::Json(&*doc).into_response()
}

// ------------------------------------------------------------ AuthZEN bodies

/// The user or machine principal of the request: a Cedar entity.
#[derive(Serialize, ToSchema)]
pub struct Subject {
    /// The Cedar entity type name, verbatim (`User`, `Operator`, ...).
    #[serde(rename = "type")]
    #[schema(min_length = 1)]
    pub ty: String,
    /// The entity's id, scoped to its type; not empty.
    #[schema(min_length = 1)]
    pub id: String,
    /// Attributes that overlay the stored entity's for this one decision (the
    /// request wins; the stored parents stay), as the type's `@properties`
    /// allows: a type built by the ledger takes none (setting a declared
    /// attribute is a 400), an `add` type only those the store lacks. Keys the
    /// schema does not declare are ignored; a declared key of the wrong type is a 400.
    #[schema(value_type = Option<Object>)]
    pub properties: Option<serde_json::Value>,
}

/// The target of the request: a Cedar entity.
#[derive(Serialize, ToSchema)]
pub struct Resource {
    /// The Cedar entity type name, verbatim (`Tenant`, `Category`, ...).
    #[serde(rename = "type")]
    #[schema(min_length = 1)]
    pub ty: String,
    /// The entity's id, scoped to its type; not empty.
    #[schema(min_length = 1)]
    pub id: String,
    /// Attributes that overlay the stored entity's for this one decision.
    #[schema(value_type = Option<Object>)]
    pub properties: Option<serde_json::Value>,
}

/// What the subject wants to do.
#[derive(Serialize, ToSchema)]
pub struct Action {
    /// The Cedar action id (`access_management`, `view`, `add_operator`, ...); not empty.
    #[schema(min_length = 1)]
    pub name: String,
    /// Reach the policies as `context.action_properties`.
    #[schema(value_type = Option<Object>)]
    pub properties: Option<serde_json::Value>,
}

/// `POST /access/v1/evaluation`. Unknown fields are ignored.
#[derive(Serialize, ToSchema)]
pub(crate) struct EvaluationRequest {
    pub subject: Subject,
    pub action: Action,
    pub resource: Resource,
    /// Environmental data; keys the schema does not declare are ignored, a
    /// declared key of the wrong type is a 400.
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Value>,
}

/// `POST /v1/explain`: an evaluation request, and when to explain it.
#[derive(Serialize, ToSchema)]
pub(crate) struct ExplainRequest {
    pub subject: Subject,
    pub action: Action,
    pub resource: Resource,
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Value>,
    /// Explain the answer at this time rather than now.
    #[schema(value_type = Option<crate::ledger::views::names::Timestamp>)]
    pub at: Option<String>,
}

/// A decision.
#[derive(Serialize, ToSchema)]
pub struct EvaluationResponse {
    /// Whether the request is allowed. A subject or resource the service does
    /// not know is a deny, not an error.
    pub decision: bool,
    pub context: DecisionContext,
}

/// Why: the policies' own words.
#[derive(Serialize, ToSchema)]
pub struct DecisionContext {
    /// A unique id (ULID), also written to the decision log.
    pub decision_id: String,
    /// The determining policy ids, sorted.
    pub reasons: Vec<String>,
    /// What the subject is warned of ahead of time.
    pub notices: Vec<Notice>,
    /// The revision of the policy set that decided.
    pub policy_revision: String,
    /// The data revision this node had seen: every ledger change up to it
    /// (see `Turnstile-Revision`) is in the data the decision used.
    pub data_revision: u64,
    /// Present when a policy that carries one determined a deny.
    #[schema(nullable = false)]
    pub message: Option<Messages>,
    /// That policy's `@code`.
    #[schema(nullable = false)]
    pub code: Option<String>,
    /// Evaluation errors (each one denies), sorted.
    #[schema(nullable = false)]
    pub errors: Option<Vec<String>>,
    /// Why the request could not be evaluated at all (unknown entities or action).
    #[schema(nullable = false)]
    pub unknown: Option<Vec<String>>,
}

/// `POST /access/v1/evaluations`. The top-level `subject`, `action`,
/// `resource` and `context` are defaults for the items that lack them (whole
/// objects, never merged). Without `evaluations` (or with an empty array) the
/// request is a single evaluation and gets a single decision.
#[derive(Serialize, ToSchema)]
pub(crate) struct EvaluationsRequest {
    pub subject: Option<Subject>,
    pub action: Option<Action>,
    pub resource: Option<Resource>,
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Value>,
    /// At most 1000.
    #[schema(max_items = 1000)]
    pub evaluations: Option<Vec<BatchItem>>,
    pub options: Option<EvaluationsOptions>,
}

/// One evaluation of a batch: what it lacks comes from the top level.
#[derive(Serialize, ToSchema)]
pub(crate) struct BatchItem {
    pub subject: Option<Subject>,
    pub action: Option<Action>,
    pub resource: Option<Resource>,
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Value>,
}

/// How a batch runs.
#[derive(Serialize, ToSchema)]
pub(crate) struct EvaluationsOptions {
    /// `execute_all` by default.
    pub evaluations_semantic: Option<EvaluationsSemantic>,
    /// Whether each item's decision carries its `context` (default `false`).
    pub include_context: Option<bool>,
}

/// `execute_all` answers every item; the others stop at the first deny or
/// permit, which is the last item answered.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvaluationsSemantic {
    ExecuteAll,
    DenyOnFirstDeny,
    PermitOnFirstPermit,
}

/// What `POST /access/v1/evaluations` answers: a batch, or a single decision
/// when the request had no `evaluations`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum EvaluationsAnswer {
    Batch(EvaluationsResponse),
    Single(EvaluationResponse),
}

/// The decisions of a batch, in the order of its items.
#[derive(Serialize, ToSchema)]
pub struct EvaluationsResponse {
    pub evaluations: Vec<BatchEvaluation>,
}

/// One decision of a batch. An item that cannot be evaluated is a deny whose
/// context holds the error, not a failed batch.
#[derive(Serialize, ToSchema)]
pub struct BatchEvaluation {
    pub decision: bool,
    /// Present when the request asked for it (`options.include_context`), or
    /// when the item failed.
    #[schema(nullable = false)]
    pub context: Option<BatchContext>,
}

/// A batch item's context: why, or what was wrong with the item.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchContext {
    Decision(DecisionContext),
    Error(ItemError),
}

/// An item that could not be evaluated.
#[derive(Serialize, ToSchema)]
pub struct ItemError {
    pub error: ItemErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ItemErrorDetail {
    /// The HTTP status the item would have had on its own (400 for bad input).
    pub status: u16,
    pub message: String,
}

/// `GET /.well-known/authzen-configuration`: the PDP's metadata.
#[derive(Serialize, ToSchema)]
pub struct Discovery {
    /// The base URL (`--public-url`, else from `X-Forwarded-Host`/`Host`).
    pub policy_decision_point: String,
    pub access_evaluation_endpoint: String,
    pub access_evaluations_endpoint: String,
    pub search_subject_endpoint: String,
    pub search_resource_endpoint: String,
    pub search_action_endpoint: String,
}

// ------------------------------------------------------------ search bodies

/// The searched-for entity: its `type`; an `id`, if sent, is ignored.
#[derive(Serialize, ToSchema)]
pub(crate) struct SearchedEntity {
    /// The Cedar entity type searched; an unknown type gives no results.
    #[serde(rename = "type")]
    #[schema(min_length = 1)]
    pub ty: String,
    /// Ignored, whatever it is (that is what the search resolves).
    #[schema(value_type = Option<Value>)]
    pub id: Option<String>,
    /// Overlay every candidate's attributes, as in an evaluation.
    #[schema(value_type = Option<Object>)]
    pub properties: Option<serde_json::Value>,
}

/// `page.limit`: any whole number from 1 (no 32-bit bound: the server clamps).
fn page_limit() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
        .minimum(Some(1))
        .description(Some(
            "At most this many results (default 100); more than 1000 gives 1000.",
        ))
        .build()
}

/// Paging: how many results at most, and where to go on.
#[derive(Serialize, ToSchema)]
pub(crate) struct PageRequest {
    /// At most this many results (default 100); more than 1000 gives 1000.
    #[schema(schema_with = page_limit)]
    pub limit: Option<u32>,
    /// The `next_token` of the previous page, as it was given.
    pub token: Option<String>,
}

/// Where the next page starts.
#[derive(Serialize, ToSchema)]
pub(crate) struct PageResponse {
    /// Opaque; `""` on the last page.
    pub next_token: String,
    /// Results in this page.
    pub count: usize,
}

/// `POST /access/v1/search/subject`: which subjects of a type may do the action
/// on the resource.
#[derive(Serialize, ToSchema)]
pub(crate) struct SubjectSearchRequest {
    pub subject: SearchedEntity,
    pub action: Action,
    pub resource: Resource,
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Value>,
    pub page: Option<PageRequest>,
}

/// `POST /access/v1/search/resource`: which resources of a type the subject may
/// do the action on.
#[derive(Serialize, ToSchema)]
pub(crate) struct ResourceSearchRequest {
    pub subject: Subject,
    pub action: Action,
    pub resource: SearchedEntity,
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Value>,
    pub page: Option<PageRequest>,
}

/// `POST /access/v1/search/action`: which actions the subject may do on the
/// resource (any `action` sent is ignored).
#[derive(Serialize, ToSchema)]
pub(crate) struct ActionSearchRequest {
    pub subject: Subject,
    pub resource: Resource,
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Value>,
    pub page: Option<PageRequest>,
}

/// One entity found.
#[derive(Serialize, ToSchema)]
pub(crate) struct FoundEntity {
    #[serde(rename = "type")]
    pub ty: String,
    pub id: String,
}

/// One action found.
#[derive(Serialize, ToSchema)]
pub(crate) struct FoundAction {
    pub name: String,
}

/// Subjects or resources the same evaluation would allow, in id order.
#[derive(Serialize, ToSchema)]
pub(crate) struct EntitySearchResponse {
    pub results: Vec<FoundEntity>,
    pub page: PageResponse,
}

/// Actions the same evaluation would allow, in name order.
#[derive(Serialize, ToSchema)]
pub(crate) struct ActionSearchResponse {
    pub results: Vec<FoundAction>,
    pub page: PageResponse,
}

// ------------------------------------------------------------ health bodies

/// The process answers.
#[derive(Serialize, ToSchema)]
pub(crate) struct Live {
    /// Always `live`.
    #[schema(example = "live")]
    pub status: String,
}

/// Policies loaded and the database readable.
#[derive(Serialize, ToSchema)]
pub struct Ready {
    /// Always `ready`.
    #[schema(example = "ready")]
    pub status: String,
    /// The revision of the policy set serving.
    pub policy_revision: String,
    /// Whether the policy files on disk are the ones serving: `serving`, or
    /// `refused` (with `since` and the problems) while the last good set
    /// keeps serving.
    pub policies_on_disk: PoliciesOnDisk,
    /// How many policies serve.
    pub policies: usize,
    /// How deep the slicer loads entities for this pack.
    pub entity_level: u32,
    /// The data revision this node has seen (grows with every committed
    /// ledger or entity write, on every node alike).
    pub data_revision: u64,
    /// This node's name (`--node-id`).
    pub node: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub store: StoreStatus,
}

/// The policy files on disk against what serves.
#[derive(Serialize, ToSchema)]
pub struct PoliciesOnDisk {
    /// `serving` (the files on disk serve) or `refused`.
    #[schema(example = "serving")]
    pub state: String,
    /// While refused: since when (RFC 3339).
    #[schema(nullable = false)]
    pub since: Option<String>,
    /// While refused: the problems of the latest attempt.
    #[schema(nullable = false)]
    pub problems: Option<Vec<String>>,
}

/// What the node knows of its database.
#[derive(Serialize, ToSchema)]
pub struct StoreStatus {
    /// The SQLite path, or the PostgreSQL URL without its password.
    pub location: String,
    /// How long ago the database last confirmed this node's caches current,
    /// in milliseconds: the replication lag of its caches (0 on SQLite).
    pub staleness_ms: u64,
    /// Whether the change feed from the other nodes is up (PostgreSQL
    /// `LISTEN`; when down, the node polls).
    pub listening: bool,
}

// ------------------------------------------------------------ entity bodies

/// A Cedar entity in Cedar's own entity JSON format.
#[derive(Serialize, ToSchema)]
pub(crate) struct CedarEntity {
    /// `{"type", "id"}` (or Cedar's `{"__entity": {"type", "id"}}`).
    pub uid: EntityUid,
    /// The entity's attributes, as the schema declares them.
    #[schema(value_type = Object)]
    pub attrs: serde_json::Value,
    pub parents: Vec<EntityUid>,
    #[schema(value_type = Object, nullable = false)]
    pub tags: Option<serde_json::Value>,
}

/// A Cedar entity reference.
#[derive(Serialize, ToSchema)]
pub(crate) struct EntityUid {
    #[serde(rename = "type")]
    pub ty: String,
    pub id: String,
}

/// What `PUT /v1/entities` stored.
#[derive(Serialize, ToSchema)]
pub(crate) struct EntitiesStored {
    /// How many entities were upserted.
    pub stored: usize,
    /// The data revision after the write.
    pub data_revision: u64,
}

/// One page of `GET /v1/entities`, sorted by type then id.
#[derive(Serialize, ToSchema)]
pub(crate) struct EntityPage {
    pub entities: Vec<CedarEntity>,
    /// Where the next page starts (pass both as query parameters); `null` on
    /// the last page.
    #[schema(required = true)]
    pub next: Option<EntityCursor>,
}

/// Where a page of entities ends.
#[derive(Serialize, ToSchema)]
pub(crate) struct EntityCursor {
    pub after_type: String,
    pub after_id: String,
}

/// "At least one of" rules `#[derive(ToSchema)]` cannot state; applied to the
/// assembled document (route schemas are merged after `ApiDoc`'s modifiers run).
pub(crate) struct AtLeastOne;

impl utoipa::Modify for AtLeastOne {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, ArrayBuilder, ObjectBuilder, Ref, Type};
        let Some(c) = openapi.components.as_mut() else {
            return;
        };
        let present = |f: &str, t: Type| {
            ObjectBuilder::new()
                .property(f, ObjectBuilder::new().schema_type(t))
                .required(f)
        };
        let rules = [
            (
                "SubscriptionChange",
                vec![
                    present("quantity", Type::Integer),
                    present("ends_at", Type::String),
                ],
            ),
            (
                "UserChange",
                vec![present("active", Type::Boolean), present("role", Type::String)],
            ),
            (
                "EvaluationsRequest",
                vec![
                    ObjectBuilder::new()
                        .property("evaluations", ArrayBuilder::new().min_items(Some(1)))
                        .required("evaluations"),
                    ObjectBuilder::new()
                        .property("subject", Ref::from_schema_name("Subject"))
                        .property("action", Ref::from_schema_name("Action"))
                        .property("resource", Ref::from_schema_name("Resource"))
                        .required("subject")
                        .required("action")
                        .required("resource"),
                ],
            ),
        ];
        for (name, branches) in rules {
            let Some(base) = c.schemas.remove(name) else {
                continue;
            };
            let any = branches.into_iter().fold(AnyOfBuilder::new(), |a, b| a.item(b));
            c.schemas
                .insert(name.to_string(), AllOfBuilder::new().item(base).item(any).into());
        }
    }
}
