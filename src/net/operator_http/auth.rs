//! Bearer tokens: one per tenant principal, and a separate one for scenario control.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::ApiError;
use super::{now, Shared};
use crate::operator::actions::Actor;

/// Who holds which token.
#[derive(Debug, Clone)]
pub struct Tenancy {
    tokens: HashMap<String, Actor>,
    scenario_token: String,
}

impl Tenancy {
    pub fn new(
        tokens: impl IntoIterator<Item = (String, Actor)>,
        scenario_token: String,
    ) -> Tenancy {
        Tenancy {
            tokens: tokens.into_iter().collect(),
            scenario_token,
        }
    }

    fn actor(&self, token: &str) -> Option<&Actor> {
        self.tokens.get(token)
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A request authenticated as a tenant's principal, and admitted by the tenant's API rate limit.
pub struct TenantAuth(pub Actor);

impl FromRequestParts<Arc<Shared>> for TenantAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<Shared>) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(ApiError::unauthenticated)?;
        let actor = shared
            .tenancy
            .actor(token)
            .cloned()
            .ok_or_else(ApiError::unauthenticated)?;
        shared
            .world()
            .net
            .admit(&actor.tenant, now())
            .map_err(|retry| ApiError::too_many("Rate limit reached: API requests.", retry))?;
        Ok(TenantAuth(actor))
    }
}

/// A request carrying the scenario-control token.
pub struct ScenarioAuth;

impl FromRequestParts<Arc<Shared>> for ScenarioAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<Shared>) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(ApiError::unauthenticated)?;
        if token == shared.tenancy.scenario_token {
            Ok(ScenarioAuth)
        } else if shared.tenancy.actor(token).is_some() {
            Err(ApiError::forbidden(
                "Scenario control needs the scenario token, not a tenant's token.",
            ))
        } else {
            Err(ApiError::unauthenticated())
        }
    }
}
