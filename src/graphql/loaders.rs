//! Per-request batch loaders, so nested fields cost one query per level, not per row:
//! a page of opportunities with customers, teams, solutions, participants and
//! invitations costs a fixed number of statements whatever its size.
use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{
    customers, engagements, invitations, opportunities, organizations, solutions, team_members,
    users,
};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::store::deals as store;

pub type LoadError = Arc<DbErr>;

/// Loads whole rows by primary key.
macro_rules! by_id_loader {
    ($name:ident, $module:ident) => {
        pub struct $name {
            pub db: DatabaseConnection,
        }

        impl Loader<Uuid> for $name {
            type Value = $module::Model;
            type Error = LoadError;

            async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                let rows = $module::Entity::find()
                    .filter($module::Column::Id.is_in(keys.iter().copied()))
                    .all(&self.db)
                    .await
                    .map_err(Arc::new)?;
                Ok(rows.into_iter().map(|r| (r.id, r)).collect())
            }
        }
    };
}

by_id_loader!(OrganizationLoader, organizations);
by_id_loader!(CustomerLoader, customers);
by_id_loader!(EngagementLoader, engagements);
by_id_loader!(UserLoader, users);
by_id_loader!(SolutionLoader, solutions);

fn group<T>(keys: &[Uuid], rows: impl IntoIterator<Item = (Uuid, T)>) -> HashMap<Uuid, Vec<T>> {
    let mut out: HashMap<Uuid, Vec<T>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for (k, v) in rows {
        out.entry(k).or_default().push(v);
    }
    out
}

/// Team members by opportunity, in team order.
pub struct TeamLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for TeamLoader {
    type Value = Vec<team_members::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = store::teams(&self.db, keys).await.map_err(Arc::new)?;
        Ok(group(keys, rows.into_iter().map(|m| (m.opportunity_id, m))))
    }
}

/// Solutions by opportunity.
pub struct OpportunitySolutionsLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for OpportunitySolutionsLoader {
    type Value = Vec<solutions::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = store::solutions_of(&self.db, keys)
            .await
            .map_err(Arc::new)?;
        Ok(group(keys, rows))
    }
}

/// Every opportunity of an engagement (its participants), by engagement.
pub struct ParticipantsLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for ParticipantsLoader {
    type Value = Vec<opportunities::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = store::opportunities_of_engagements(&self.db, keys)
            .await
            .map_err(Arc::new)?;
        Ok(group(keys, rows.into_iter().map(|o| (o.engagement_id, o))))
    }
}

/// Invitations by engagement.
pub struct InvitationsLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for InvitationsLoader {
    type Value = Vec<invitations::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = store::invitations_of(&self.db, keys)
            .await
            .map_err(Arc::new)?;
        Ok(group(keys, rows.into_iter().map(|i| (i.engagement_id, i))))
    }
}

/// Whether an opportunity is one of the user's favorites, by (user, opportunity).
pub struct FavoriteLoader {
    pub db: DatabaseConnection,
}

impl Loader<(Uuid, Uuid)> for FavoriteLoader {
    type Value = bool;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[(Uuid, Uuid)],
    ) -> Result<HashMap<(Uuid, Uuid), Self::Value>, Self::Error> {
        let mut out = HashMap::new();
        let mut users: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        users.sort();
        users.dedup();
        for user in users {
            let opps: Vec<Uuid> = keys.iter().filter(|k| k.0 == user).map(|k| k.1).collect();
            let favs = store::favorites_of(&self.db, user, &opps)
                .await
                .map_err(Arc::new)?;
            for o in opps {
                out.insert((user, o), favs.contains(&o));
            }
        }
        Ok(out)
    }
}

/// The loaders of one request. They cache for the request's life, so a page's nested
/// fields share what one of them loaded; a WebSocket connection turns the caches off
/// (see [`Loaders::uncached`]) so that long-lived subscriptions never read stale rows.
pub struct Loaders {
    pub organizations: DataLoader<OrganizationLoader, HashMapCache>,
    pub customers: DataLoader<CustomerLoader, HashMapCache>,
    pub engagements: DataLoader<EngagementLoader, HashMapCache>,
    pub users: DataLoader<UserLoader, HashMapCache>,
    pub solutions: DataLoader<SolutionLoader, HashMapCache>,
    pub teams: DataLoader<TeamLoader, HashMapCache>,
    pub opportunity_solutions: DataLoader<OpportunitySolutionsLoader, HashMapCache>,
    pub participants: DataLoader<ParticipantsLoader, HashMapCache>,
    pub invitations: DataLoader<InvitationsLoader, HashMapCache>,
    pub favorites: DataLoader<FavoriteLoader, HashMapCache>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection) -> Self {
        let d = || db.clone();
        Loaders {
            organizations: DataLoader::with_cache(
                OrganizationLoader { db: d() },
                tokio::spawn,
                HashMapCache::default(),
            ),
            customers: DataLoader::with_cache(
                CustomerLoader { db: d() },
                tokio::spawn,
                HashMapCache::default(),
            ),
            engagements: DataLoader::with_cache(
                EngagementLoader { db: d() },
                tokio::spawn,
                HashMapCache::default(),
            ),
            users: DataLoader::with_cache(
                UserLoader { db: d() },
                tokio::spawn,
                HashMapCache::default(),
            ),
            solutions: DataLoader::with_cache(
                SolutionLoader { db: d() },
                tokio::spawn,
                HashMapCache::default(),
            ),
            teams: DataLoader::with_cache(
                TeamLoader { db: d() },
                tokio::spawn,
                HashMapCache::default(),
            ),
            opportunity_solutions: DataLoader::with_cache(
                OpportunitySolutionsLoader { db: d() },
                tokio::spawn,
                HashMapCache::default(),
            ),
            participants: DataLoader::with_cache(
                ParticipantsLoader { db: d() },
                tokio::spawn,
                HashMapCache::default(),
            ),
            invitations: DataLoader::with_cache(
                InvitationsLoader { db: d() },
                tokio::spawn,
                HashMapCache::default(),
            ),
            favorites: DataLoader::with_cache(
                FavoriteLoader { db: d() },
                tokio::spawn,
                HashMapCache::default(),
            ),
        }
    }
}

impl Loaders {
    /// Loaders that batch but do not cache: for a WebSocket connection's subscriptions.
    pub fn uncached(db: &DatabaseConnection) -> Self {
        let l = Self::new(db);
        l.organizations.enable_all_cache(false);
        l.customers.enable_all_cache(false);
        l.engagements.enable_all_cache(false);
        l.users.enable_all_cache(false);
        l.solutions.enable_all_cache(false);
        l.teams.enable_all_cache(false);
        l.opportunity_solutions.enable_all_cache(false);
        l.participants.enable_all_cache(false);
        l.invitations.enable_all_cache(false);
        l.favorites.enable_all_cache(false);
        l
    }

    /// Loads in one round what a page of opportunities' nested fields will ask for, so
    /// the page costs the same number of statements whatever its size.
    pub async fn prime(
        &self,
        viewer_user: Uuid,
        page: &[opportunities::Model],
    ) -> Result<(), LoadError> {
        let opp_ids: Vec<Uuid> = page.iter().map(|o| o.id).collect();
        let eng_ids: Vec<Uuid> = page.iter().map(|o| o.engagement_id).collect();
        let (engagements, participants, invitations, _, _, _) = futures_util::try_join!(
            self.engagements.load_many(eng_ids.iter().copied()),
            self.participants.load_many(eng_ids.iter().copied()),
            self.invitations.load_many(eng_ids.iter().copied()),
            self.opportunity_solutions
                .load_many(opp_ids.iter().copied()),
            self.favorites
                .load_many(opp_ids.iter().map(|o| (viewer_user, *o))),
            async { Ok(()) },
        )?;
        let customers: Vec<Uuid> = engagements.values().map(|e| e.customer_id).collect();
        let all_opps: Vec<&opportunities::Model> = participants.values().flatten().collect();
        let mut orgs: Vec<Uuid> = all_opps.iter().map(|o| o.organization_id).collect();
        orgs.extend(
            invitations
                .values()
                .flatten()
                .flat_map(|i| [i.inviter_organization_id, i.invitee_organization_id]),
        );
        let teams: Vec<Uuid> = all_opps.iter().map(|o| o.id).collect();
        let users: Vec<Uuid> = invitations
            .values()
            .flatten()
            .map(|i| i.inviter_user_id)
            .collect();
        futures_util::try_join!(
            self.customers.load_many(customers),
            self.organizations.load_many(orgs),
            self.teams.load_many(teams),
            self.users.load_many(users),
        )?;
        Ok(())
    }
}

/// Runs a loader call, turning its error into an internal error with a code.
pub async fn load<K, L>(
    loader: &DataLoader<L, HashMapCache>,
    key: K,
) -> async_graphql::Result<Option<L::Value>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    L: Loader<K, Error = LoadError>,
{
    loader.load_one(key).await.map_err(|e| {
        crate::error::AppError::Internal(anyhow::anyhow!(e.to_string())).into_graphql()
    })
}
