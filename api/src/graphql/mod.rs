//! The GraphQL layer: schema roots, object and input types, connections, DataLoaders, and
//! the mapping of domain errors to `extensions.code`. Resolvers state what they need on their
//! first line (`viewer(ctx)?`, `.handling_unit()?`, …) and call the domain; they never build
//! SQL or decide access themselves.

mod backlog;
mod cases;
pub mod cost;
mod documents;
mod files;
mod hearings;
mod higher;
mod hotline;
mod identity;
mod instructions;
pub mod letters;
mod loaders;
mod matters;
mod ownership;
mod prevention;
mod stats;
mod subscriptions;
pub use subscriptions::SubscriptionRoot;
mod webhooks;
mod workflow;

use crate::access::Viewer;
use crate::error::{AppError, Result, bad_input};
use crate::state::AppState;
use async_graphql::{Context, ErrorExtensions, ID, Interface, MergedObject, Schema, SchemaBuilder};
use base64::Engine;
use std::sync::Arc;

pub use cases::Case;
pub use documents::Documents;
pub use identity::{OrgUnit, User};

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    identity::IdentityQuery,
    identity::AdminRecordQuery,
    cases::CaseQuery,
    workflow::WorkflowQuery,
    stats::StatsQuery,
    backlog::BacklogQuery,
    higher::HigherQuery,
    letters::LettersQuery,
    hearings::HearingsQuery,
    ownership::OwnershipQuery,
    prevention::PreventionQuery,
    webhooks::WebhooksQuery,
    NodeQuery,
);

// Every mutation field, merged; served through `MutationRoot` (a comment, not a doc: the
// schema would show it as the type's description).
#[derive(MergedObject, Default)]
#[graphql(name = "MutationRoot")]
pub struct MutationFields(
    identity::IdentityMutation,
    cases::CaseMutation,
    workflow::WorkflowMutation,
    backlog::BacklogMutation,
    letters::LettersMutation,
    files::FilesMutation,
    instructions::InstructionsMutation,
    hearings::HearingsMutation,
    ownership::OwnershipMutation,
    prevention::PreventionMutation,
    hotline::HotlineMutation,
    webhooks::WebhooksMutation,
);

/// The mutation root. Mutations of one operation run one after another, and each one's
/// payload must read what the database holds after it (a case a transfer took out of sight,
/// a hearing just scheduled), not what an earlier mutation's payload loaded: so the request's
/// loaders are emptied before each root field runs. This is done here rather than in a schema
/// extension because any extension at all sends every field of every query through
/// async-graphql's extension path (see [`Schemas`](crate::http::Schemas)).
#[derive(Default)]
pub struct MutationRoot(MutationFields);

impl async_graphql::OutputType for MutationRoot {
    fn type_name() -> std::borrow::Cow<'static, str> {
        MutationFields::type_name()
    }

    fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
        MutationFields::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &async_graphql::ContextSelectionSet<'_>,
        _field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
    ) -> async_graphql::ServerResult<async_graphql::Value> {
        async_graphql::resolver_utils::resolve_container_serial(ctx, self).await
    }
}

impl async_graphql::ContainerType for MutationRoot {
    async fn resolve_field(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::ServerResult<Option<async_graphql::Value>> {
        if let Some(loaders) = ctx.data_opt::<loaders::Loaders>() {
            loaders.forget();
        }
        self.0.resolve_field(ctx).await
    }
}

impl async_graphql::ObjectType for MutationRoot {}

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// What one request carries into the resolvers.
pub struct RequestContext {
    pub viewer: Option<Viewer>,
    /// The client's address, for per-address rate limits.
    pub client_addr: String,
}

pub struct SchemaLimits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub introspection: bool,
}

/// What every schema of the server shares: the state, the bounds on a document's shape, and
/// no suggestions of field names in errors.
fn builder(state: Arc<AppState>) -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    roots()
        .data(state)
        .limit_recursive_depth(64)
        .limit_directives(10)
        .disable_suggestions()
}

fn roots() -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
}

/// The schema that checks a request in full: every validation rule, the depth and complexity
/// limits, and `extensions.cost` in its answer. Sockets run their operations on it; HTTP
/// requests are checked on it ([`cost::CostOnly`]) and then run on [`build_fast_schema`].
pub fn build_schema(state: Arc<AppState>, limits: SchemaLimits) -> AppSchema {
    limited(state, &limits)
        .extension(cost::ReportCost {
            limit: limits.max_complexity,
        })
        .finish()
}

/// The schema that runs HTTP requests [`build_schema`] has already checked: no extension, so
/// that fields resolve without async-graphql's per-field extension path, and only the
/// validation its executor relies on (the limits are checked again; they cost nothing).
pub fn build_fast_schema(state: Arc<AppState>, limits: SchemaLimits) -> AppSchema {
    limited(state, &limits)
        .validation_mode(async_graphql::ValidationMode::Fast)
        .finish()
}

/// [`builder`] with the depth and complexity limits, and introspection as configured.
fn limited(
    state: Arc<AppState>,
    limits: &SchemaLimits,
) -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    let b = builder(state)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity);
    if limits.introspection {
        b
    } else {
        b.disable_introspection()
    }
}

/// The same schema without the depth and complexity limits, for operations that read
/// nothing but the schema itself ([`introspection_only`]) where introspection is enabled.
pub fn build_introspection_schema(state: Arc<AppState>) -> AppSchema {
    builder(state).finish()
}

/// The fields that check a password or a refresh token: each costs real work (argon2) or
/// spends a token, so a request may hold at most one of them, aliases included.
const CREDENTIAL_FIELDS: [&str; 4] = [
    "login",
    "changePassword",
    "refreshSession",
    "registerPetitioner",
];

/// How many credential-checking fields the operations of a document select at their root.
pub fn credential_fields(doc: &async_graphql::parser::types::ExecutableDocument) -> usize {
    use async_graphql::parser::types::Selection;
    // Root fields, through inline fragments and fragment spreads (each spread counted where it
    // is spread; a fragment that spreads itself is refused by validation anyway).
    fn count(
        set: &async_graphql::parser::types::SelectionSet,
        doc: &async_graphql::parser::types::ExecutableDocument,
        depth: usize,
    ) -> usize {
        if depth > 8 {
            return 0;
        }
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(f) => {
                    usize::from(CREDENTIAL_FIELDS.contains(&f.node.name.node.as_str()))
                }
                Selection::InlineFragment(i) => count(&i.node.selection_set.node, doc, depth + 1),
                Selection::FragmentSpread(s) => doc
                    .fragments
                    .get(&s.node.fragment_name.node)
                    .map(|f| count(&f.node.selection_set.node, doc, depth + 1))
                    .unwrap_or(0),
            })
            .sum()
    }
    doc.operations
        .iter()
        .map(|(_, op)| count(&op.node.selection_set.node, doc, 0))
        .sum()
}

/// Whether every operation of a document selects only introspection fields (`__schema`,
/// `__type`, `__typename`) at its root.
pub fn introspection_only(doc: &async_graphql::parser::types::ExecutableDocument) -> bool {
    use async_graphql::parser::types::Selection;
    let mut operations = doc.operations.iter().peekable();
    operations.peek().is_some()
        && operations.all(|(_, op)| {
            op.node.selection_set.node.items.iter().all(|item| {
                matches!(&item.node, Selection::Field(f)
                    if matches!(f.node.name.node.as_str(), "__schema" | "__type" | "__typename"))
            })
        })
}

/// The case filter of the `cases` list from its JSON form (the CSV export's parameters), with
/// the same types and checks as the GraphQL input: one filter type for every route.
pub fn case_filter(value: serde_json::Value) -> Result<crate::cases::CaseFilter> {
    use async_graphql::InputType;
    let parse = |value: serde_json::Value| {
        async_graphql::Value::from_json(value)
            .ok()
            .map(|v| cases::CaseFilterInput::parse(Some(v)))
    };
    let parsed = match parse(value.clone()) {
        Some(Ok(parsed)) => parsed,
        _ => {
            // Name the field that does not parse: each on its own, in order.
            let fields = value.as_object().cloned().unwrap_or_default();
            for (name, field) in fields {
                if let Some(Err(e)) = parse(serde_json::json!({ name.clone(): field })) {
                    let e = e.into_server_error(async_graphql::Pos::default());
                    return Err(bad_input(name, e.message));
                }
            }
            return Err(bad_input("filter", "not a filter of the case list"));
        }
    };
    let filter = parsed.into_domain()?;
    filter.check()?;
    Ok(filter)
}

/// Gives the refusals of the query limits the codes api.md names (async-graphql raises them
/// without one): `QUERY_TOO_COMPLEX` for too complex, too deep or too many directives.
pub fn code_limit_errors(errors: &mut [async_graphql::ServerError]) {
    for e in errors {
        let coded = e
            .extensions
            .as_ref()
            .is_some_and(|x| x.get("code").is_some());
        let limit = matches!(
            e.message.as_str(),
            "Query is too complex." | "Query is nested too deep."
        ) || e.message.starts_with("The number of directives")
            || e.message.starts_with("The recursion depth");
        if !coded && limit {
            e.extensions
                .get_or_insert_with(Default::default)
                .set("code", "QUERY_TOO_COMPLEX");
        }
    }
}

/// The schema as SDL, with fields, arguments and enum values sorted so the output is stable.
pub fn sdl() -> String {
    let options = async_graphql::SDLExportOptions::new()
        .sorted_fields()
        .sorted_arguments()
        .sorted_enum_items();
    roots().finish().sdl_with_options(options)
}

impl From<AppError> for async_graphql::Error {
    fn from(e: AppError) -> Self {
        gql_error(&e)
    }
}

/// A domain error as a GraphQL error: its message, and its code in `extensions.code` (with
/// `field`, `status` and `action` where they apply). Internal detail is logged, never sent.
pub fn gql_error(e: &AppError) -> async_graphql::Error {
    {
        let code = e.code();
        let message = match e {
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "internal error".to_string()
            }
            AppError::Db(err) if e.is_unavailable() => {
                tracing::error!(error = %err, "database unavailable");
                return async_graphql::Error::new("the service is temporarily unavailable")
                    .extend_with(|_, ext| ext.set("code", "SERVICE_UNAVAILABLE"));
            }
            AppError::Db(err) => {
                tracing::error!(error = %err, "database error");
                "internal error".to_string()
            }
            other => other.message(),
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code);
            match e {
                AppError::BadInput { field, .. } => ext.set("field", field.as_str()),
                AppError::InvalidTransition { status, action, .. } => {
                    ext.set("status", status.as_str());
                    ext.set("action", action.as_str());
                }
                _ => {}
            }
        })
    }
}

pub type GqlResult<T> = std::result::Result<T, async_graphql::Error>;

pub fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    ctx.data_unchecked::<Arc<AppState>>()
}

pub fn request<'a>(ctx: &Context<'a>) -> &'a RequestContext {
    ctx.data_unchecked::<RequestContext>()
}

/// The signed-in viewer, or `UNAUTHENTICATED`.
pub fn viewer<'a>(ctx: &Context<'a>) -> Result<&'a Viewer> {
    request(ctx)
        .viewer
        .as_ref()
        .ok_or(AppError::Unauthenticated("sign in first"))
}

/// Relay global IDs: base64 of `Type:number`, opaque to clients.
pub fn global_id(kind: &str, id: i64) -> ID {
    ID(crate::records::global_id(kind, id))
}

fn parse_global(id: &str) -> Option<(String, i64)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (kind, num) = text.split_once(':')?;
    Some((kind.to_string(), num.parse().ok()?))
}

/// Decodes an input ID of a given type; anything else is `BAD_USER_INPUT` on that field.
pub fn input_id(kind: &str, field: &str, id: &ID) -> Result<i64> {
    match parse_global(id) {
        Some((k, n)) if k == kind => Ok(n),
        _ => Err(bad_input(field, format!("{field} is not a {kind} id"))),
    }
}

/// Decodes an ID used for a lookup; a malformed one simply finds nothing.
pub fn lookup_id(kind: &str, id: &ID) -> Option<i64> {
    match parse_global(id) {
        Some((k, n)) if k == kind => Some(n),
        _ => None,
    }
}

/// Any object with a global ID (Relay `Node`).
// A `Node` lives only while one field resolves; boxing the case would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The object's opaque global ID."))]
pub enum Node {
    Case(Case),
    OrgUnit(OrgUnit),
    User(User),
    TimelineEntry(cases::TimelineEntry),
    Referral(workflow::Referral),
    Extension(workflow::Extension),
    Reply(workflow::Reply),
    Review(workflow::Review),
    Supervision(workflow::Supervision),
    CompletionReport(workflow::CompletionReport),
    Matter(matters::Matter),
    BacklogEntry(backlog::BacklogEntry),
    Document(letters::Document),
    Attachment(files::Attachment),
    Instruction(instructions::Instruction),
    Hearing(hearings::Hearing),
    OwnershipPlan(ownership::OwnershipPlan),
    Reception(prevention::Reception),
    DisputeReport(prevention::DisputeReport),
    JointItem(prevention::JointItem),
}

#[derive(Default)]
pub struct NodeQuery;

#[async_graphql::Object]
impl NodeQuery {
    /// Any object the viewer may see, by its global ID; `null` (with NOT_FOUND) otherwise.
    /// A case's records are found exactly where their case is (and, for a petitioner, only
    /// the public ones); a referral also by the units party to it.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Node>> {
        let Some((kind, n)) = parse_global(&id) else {
            return Err(AppError::NotFound("object").into());
        };
        let me = viewer(ctx);
        let db = &state(ctx).db;
        let found = match kind.as_str() {
            "Case" => cases::case_by_id(ctx, &id).await?.map(Node::Case),
            "OrgUnit" => identity::unit_by_id(ctx, &id).await?.map(Node::OrgUnit),
            "User" => identity::user_by_id(ctx, &id).await?.map(Node::User),
            "TimelineEntry" => {
                let me = me?;
                crate::records::visible_entry(db, me, n)
                    .await?
                    .map(|(case, e)| {
                        Node::TimelineEntry(cases::TimelineEntry::seen_by(&me.sight(&case), e))
                    })
            }
            "Referral" => crate::referrals::visible_referral(db, me?, n)
                .await?
                .map(|(_, r)| Node::Referral(workflow::Referral::new(r))),
            "Extension" => crate::records::visible_extension(db, me?, n)
                .await?
                .map(|(_, r)| Node::Extension(workflow::Extension(r))),
            "Reply" => crate::records::visible_reply(db, me?, n)
                .await?
                .map(|(_, r)| Node::Reply(workflow::Reply(r))),
            "Review" => crate::records::visible_review(db, me?, n)
                .await?
                .map(|(_, r)| Node::Review(workflow::Review(r))),
            "Supervision" => crate::records::visible_supervision(db, me?, n)
                .await?
                .map(|(_, r)| Node::Supervision(workflow::Supervision(r))),
            "CompletionReport" => crate::records::visible_completion_report(db, me?, n)
                .await?
                .map(|(_, r)| Node::CompletionReport(workflow::CompletionReport(r))),
            "Matter" => matters::Matter::by_id(ctx, n).await?.map(Node::Matter),
            "Document" => letters::document_by_id(ctx, n).await?.map(Node::Document),
            "Attachment" => files::attachment_by_id(ctx, n).await?.map(Node::Attachment),
            "Instruction" => instructions::instruction_by_id(ctx, n)
                .await?
                .map(Node::Instruction),
            "Hearing" => hearings::hearing_by_id(ctx, n).await?.map(Node::Hearing),
            "Reception" => prevention::reception_by_id(ctx, n)
                .await?
                .map(Node::Reception),
            "DisputeReport" => prevention::dispute_report_by_id(ctx, n)
                .await?
                .map(Node::DisputeReport),
            "JointItem" => prevention::joint_item_by_id(ctx, n)
                .await?
                .map(Node::JointItem),
            "OwnershipPlan" => ownership::plan_by_id(ctx, n)
                .await?
                .map(Node::OwnershipPlan),
            "BacklogEntry" => match crate::backlog::visible_entry(db, me?, n).await? {
                Some((_, entry)) => {
                    Some(Node::BacklogEntry(backlog::entry_node(ctx, entry).await?))
                }
                None => None,
            },
            _ => None,
        };
        match found {
            Some(node) => Ok(Some(node)),
            None => Err(AppError::NotFound("object").into()),
        }
    }
}

/// `first` of a connection: default 20, clamped to 1..=100.
pub fn page_size(first: Option<i32>) -> u64 {
    first.unwrap_or(20).clamp(1, 100) as u64
}

// Offset-paged lists (units, accounts, referrals): the cursor is the offset of the item.

fn offset_cursor(n: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("o:{n}"))
}

pub fn offset_of(after: Option<&str>) -> Result<u64> {
    let Some(c) = after else { return Ok(0) };
    let bad = || bad_input("after", "not a cursor of this list");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix("o:")
        .and_then(|n| n.parse::<u64>().ok())
        .and_then(|n| n.checked_add(1))
        .ok_or_else(bad)
}

pub fn offset_page_info(offset: u64, len: usize, total: u64) -> PageInfo {
    PageInfo {
        has_next_page: Some(offset + (len as u64) < total),
        has_previous_page: Some(offset > 0),
        start_cursor: (len > 0).then(|| offset_cursor(offset)),
        end_cursor: (len > 0).then(|| offset_cursor(offset + len as u64 - 1)),
    }
}

/// A page's place in its list. Whether items follow or precede the page is `None` when the
/// page was read without what tells it: a timeline whose selection asks only for its cursors
/// is read without its count, and asking for either then is an internal error, never a guess.
/// (No `Default`: a page's builder says what it knows.)
#[derive(Clone, Debug)]
pub struct PageInfo {
    pub has_next_page: Option<bool>,
    pub has_previous_page: Option<bool>,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// Relay page information.
#[async_graphql::Object]
impl PageInfo {
    /// Whether more items follow the last one of this page.
    async fn has_next_page(&self) -> Result<bool> {
        neighbours_known(self.has_next_page)
    }
    /// Whether items precede the first one of this page.
    async fn has_previous_page(&self) -> Result<bool> {
        neighbours_known(self.has_previous_page)
    }
    async fn start_cursor(&self) -> Option<&str> {
        self.start_cursor.as_deref()
    }
    async fn end_cursor(&self) -> Option<&str> {
        self.end_cursor.as_deref()
    }
}

fn neighbours_known(known: Option<bool>) -> Result<bool> {
    known.ok_or_else(|| {
        crate::error::internal("a page's neighbours were asked for but not read".to_string())
    })
}

pub use loaders::Loaders;

/// 时间 — an instant, written as an RFC 3339 string in UTC with milliseconds, e.g.
/// `2026-11-17T15:59:59.999Z`. Inputs may carry any offset; they are converted to UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instant(pub chrono::DateTime<chrono::Utc>);

#[async_graphql::Scalar(name = "DateTime")]
impl async_graphql::ScalarType for Instant {
    fn parse(value: async_graphql::Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            async_graphql::Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| Instant(t.to_utc()))
                .map_err(|_| {
                    async_graphql::InputValueError::custom(
                        "expected an RFC 3339 date-time such as 2026-11-22T08:00:00Z",
                    )
                }),
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }
}

impl From<chrono::DateTime<chrono::Utc>> for Instant {
    fn from(t: chrono::DateTime<chrono::Utc>) -> Self {
        Instant(t)
    }
}
