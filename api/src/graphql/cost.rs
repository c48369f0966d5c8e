//! What a query costs, so that the complexity limit bounds real work: a field costs 1, a list
//! multiplies what each row selects by its page size, and the fields that do real work on
//! the database cost what that work is worth next to a row. Every response reports its cost
//! in `extensions.cost`, as large public GraphQL APIs do, so a client can see how near the
//! limit it is.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextValidation,
};
use async_graphql::{Response, ServerError, ValidationResult, Value};
use std::sync::{Arc, Mutex};

/// Statistics aggregate every visible case of the period in one statement.
pub const STATISTICS: usize = 200;
/// Oversight counts every visible case with a pending deadline.
pub const OVERSIGHT: usize = 100;
/// A count walks every matching case, not one page of them. (A list multiplies everything
/// selected under it by its page size, the connection's own fields included, so a count
/// asked with a page of 20 costs 100.)
pub const TOTAL_COUNT: usize = 5;
/// A text search reads number, title, content and names of every visible case.
pub const SEARCH: usize = 200;

/// A list: what each row selects, times the rows of a page.
pub fn list(first: Option<i32>, child: usize) -> usize {
    first.unwrap_or(20).clamp(1, 100) as usize * child
}

/// A list's text search, when there is one.
pub fn search(text: Option<&String>) -> usize {
    if text.is_some() { SEARCH } else { 0 }
}

/// In a request's data: validate the request, report its cost, and run nothing. HTTP requests
/// are checked this way on the full schema and then run on the fast one, which has no
/// extension (see [`crate::http::Schemas`]).
pub struct CostOnly;

/// Writes `extensions.cost = {requested, limit}` into every response.
pub struct ReportCost {
    pub limit: usize,
}

impl ExtensionFactory for ReportCost {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(CostOfRequest {
            limit: self.limit,
            requested: Mutex::new(None),
        })
    }
}

struct CostOfRequest {
    limit: usize,
    requested: Mutex<Option<usize>>,
}

#[async_trait::async_trait]
impl Extension for CostOfRequest {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if let Ok(mut requested) = self.requested.lock() {
            *requested = Some(result.complexity);
        }
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = if ctx.data_opt::<CostOnly>().is_some() {
            Response::new(Value::Null)
        } else {
            next.run(ctx, operation_name).await
        };
        let requested = self.requested.lock().ok().and_then(|r| *r);
        if let Some(requested) = requested {
            let mut cost = async_graphql::indexmap::IndexMap::new();
            cost.insert(
                async_graphql::Name::new("requested"),
                Value::from(requested as u64),
            );
            cost.insert(
                async_graphql::Name::new("limit"),
                Value::from(self.limit as u64),
            );
            response
                .extensions
                .insert("cost".to_string(), Value::Object(cost));
        }
        response
    }
}
