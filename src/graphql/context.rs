//! What resolvers reach through the context: the shared services and the request's
//! session (its bearer token, checked once, on first use).
use async_graphql::Context;
use sea_orm::DatabaseConnection;
use tokio::sync::OnceCell;

use crate::auth::TokenKeys;
use crate::bounded::BoundedMap;
use crate::domain::Viewer;
use crate::error::{AppError, GqlResult};
use crate::service::{Deps, session};

/// Shared by every request.
#[derive(Clone)]
pub struct AppContext {
    pub db: DatabaseConnection,
    pub keys: TokenKeys,
    pub deps: Deps,
    pub bus: crate::events::EventBus,
    /// Whom recent tokens signed in as: a guess a list may start with (`guess`).
    pub sign_ins: std::sync::Arc<SignIns>,
    /// Whole tabs' totals, each checked against the database before use.
    pub tab_counts: std::sync::Arc<crate::store::opportunity_list::TabCounts>,
}

impl AppContext {
    /// Whether the database answers.
    pub async fn database_ready(&self) -> bool {
        crate::db::ping(&self.db).await
    }
}

/// The viewer each recent token signed in as, by a hash of the token. Never trusted: a
/// guess only lets a read start beside the sign-in (`guess`), and its answer is
/// used only when the sign-in, checked in full as always, gives that same viewer. So a
/// stale entry (a user deactivated or given other roles since) or two tokens with one
/// hash cost a read done again, never an answer for the wrong viewer.
pub struct SignIns {
    viewers: BoundedMap<u64, std::sync::Arc<Viewer>>,
}

/// Tokens remembered at most; when full the map starts afresh (a few reads then run after
/// their sign-in again, as they do without a guess).
const MAX_SIGN_INS: usize = 4096;

impl Default for SignIns {
    fn default() -> Self {
        SignIns {
            viewers: BoundedMap::new(MAX_SIGN_INS),
        }
    }
}

impl SignIns {
    fn key(token: &str) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault};
        BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(token)
    }

    fn guess(&self, token: &str) -> Option<std::sync::Arc<Viewer>> {
        self.viewers.get(&Self::key(token))
    }

    fn remember(&self, token: &str, viewer: &Viewer) {
        self.viewers.put(
            Self::key(token),
            |v| **v == *viewer,
            || std::sync::Arc::new(viewer.clone()),
        );
    }

    fn forget(&self, token: &str) {
        self.viewers.remove(&Self::key(token));
    }
}

/// One request's (or one WebSocket's) credentials.
pub struct Session {
    token: Option<String>,
    /// `Err(Some(why))`: not signed in; `Err(None)`: the check itself failed.
    viewer: OnceCell<Result<Viewer, Option<String>>>,
    /// Whom the token signed in as last time, while this request's sign-in is not done.
    guess: Option<std::sync::Arc<Viewer>>,
}

impl Session {
    pub fn new(token: Option<String>, sign_ins: &SignIns) -> Self {
        Session {
            guess: token.as_deref().and_then(|t| sign_ins.guess(t)),
            token,
            viewer: OnceCell::new(),
        }
    }

    /// A session whose token was checked already (a WebSocket's `connection_init`): it
    /// keeps the viewer, not the token.
    pub fn signed_in(viewer: Viewer) -> Self {
        Session {
            token: None,
            viewer: OnceCell::new_with(Some(Ok(viewer))),
            guess: None,
        }
    }
}

pub fn app<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a AppContext> {
    ctx.data::<AppContext>().map_err(|_| {
        AppError::Internal(anyhow::anyhow!("schema built without context")).into_graphql()
    })
}

/// The signed-in viewer, or `UNAUTHENTICATED`. Everything but the schema itself needs one.
pub async fn viewer<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Viewer> {
    let app = app(ctx)?;
    let session = ctx
        .data::<Session>()
        .map_err(|_| AppError::Unauthenticated("no session".into()).into_graphql())?;
    let result = session
        .viewer
        .get_or_init(|| async {
            let Some(token) = session.token.as_deref() else {
                return Err(Some("no bearer token".to_owned()));
            };
            match session::authenticate(&app.db, &app.keys, token).await {
                Ok(v) => {
                    app.sign_ins.remember(token, &v);
                    Ok(v)
                }
                Err(AppError::Unauthenticated(why)) => {
                    app.sign_ins.forget(token);
                    Err(Some(why))
                }
                Err(other) => {
                    // The database failing is not the caller's fault: not UNAUTHENTICATED.
                    tracing::error!(error = ?other, "authentication could not be checked");
                    Err(None)
                }
            }
        })
        .await;
    result
        .as_ref()
        .map_err(|why| match why {
            Some(why) => AppError::Unauthenticated(why.clone()),
            None => AppError::Internal(anyhow::anyhow!("authentication could not be checked")),
        })
        .gql()
}

/// Whom the token signed in as last time, while this request's sign-in is not done: a
/// read with no side effect may start with it beside the sign-in, saving the sign-in's
/// round trip, and keep its answer only when `viewer` then gives that same viewer
/// (otherwise it reads again for the real one).
pub fn guess<'a>(ctx: &Context<'a>) -> Option<&'a Viewer> {
    ctx.data::<Session>()
        .ok()
        .filter(|s| !s.viewer.initialized())
        .and_then(|s| s.guess.as_deref())
}

/// The request's batch loaders (or the WebSocket connection's), made on first use.
pub fn loaders<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a super::loaders::Loaders> {
    ctx.data::<LazyLoaders>()
        .map(LazyLoaders::get)
        .map_err(|_| AppError::Internal(anyhow::anyhow!("loaders missing")).into_graphql())
}

/// A request's or a WebSocket connection's loaders, made when a field first needs them:
/// many requests (a mutation's payload of plain fields, `{ __typename }`) and most
/// subscriptions never resolve a nested field, and ten loaders made and dropped for
/// nothing cost every such request; an idle connection should cost little too.
pub struct LazyLoaders {
    db: DatabaseConnection,
    /// A request's loaders cache for its life; a connection's only batch, so that
    /// long-lived subscriptions never read stale rows.
    cached: bool,
    /// Boxed: an unused one costs a pointer, not ten loaders' room.
    loaders: std::sync::OnceLock<Box<super::loaders::Loaders>>,
}

impl LazyLoaders {
    /// A request's: they cache what they load for the request's life.
    pub fn cached(db: &DatabaseConnection) -> Self {
        LazyLoaders {
            db: db.clone(),
            cached: true,
            loaders: std::sync::OnceLock::new(),
        }
    }

    /// A WebSocket connection's: they batch but do not cache.
    pub fn uncached(db: &DatabaseConnection) -> Self {
        LazyLoaders {
            cached: false,
            ..Self::cached(db)
        }
    }

    /// Makes a mutation's loaders batch without keeping rows: its fields run one after
    /// another, and a later field's payload must show what the earlier fields wrote, not
    /// the rows they read before (a query only reads, so its loaders keep rows).
    pub fn for_mutation(data: &mut async_graphql::Data) {
        let db = data
            .get(&std::any::TypeId::of::<Self>())
            .and_then(|d| d.downcast_ref::<Self>())
            .map(|l| l.db.clone());
        if let Some(db) = db {
            data.insert(Self::uncached(&db));
        }
    }

    fn get(&self) -> &super::loaders::Loaders {
        self.loaders.get_or_init(|| {
            Box::new(if self.cached {
                super::loaders::Loaders::new(&self.db)
            } else {
                super::loaders::Loaders::uncached(&self.db)
            })
        })
    }
}
