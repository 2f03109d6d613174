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
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::store::deals as store;
use crate::store::rows;

pub type LoadError = Arc<DbErr>;

/// Loads whole rows by primary key.
macro_rules! by_id_loader {
    ($name:ident, $module:ident) => {
        pub struct $name {
            pub db: DatabaseConnection,
        }

        impl Loader<Uuid> for $name {
            type Value = Arc<$module::Model>;
            type Error = LoadError;

            async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                let rows: Vec<$module::Model> = rows::all(
                    &self.db,
                    $module::Entity::find().filter(crate::store::sql::id_in(
                        self.db.get_database_backend(),
                        $module::Column::Id,
                        keys,
                    )),
                )
                .await
                .map_err(Arc::new)?;
                Ok(rows.into_iter().map(|r| (r.id, Arc::new(r))).collect())
            }
        }
    };
}

by_id_loader!(OrganizationLoader, organizations);
by_id_loader!(CustomerLoader, customers);
by_id_loader!(EngagementLoader, engagements);
by_id_loader!(UserLoader, users);
by_id_loader!(SolutionLoader, solutions);

/// Rows grouped by key, each behind an `Arc` (a field takes its rows from the loader's
/// cache without copying them); every key gets an entry, an empty one too.
fn group<T>(
    keys: &[Uuid],
    rows: impl IntoIterator<Item = (Uuid, T)>,
) -> HashMap<Uuid, Vec<Arc<T>>> {
    let mut out: HashMap<Uuid, Vec<Arc<T>>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for (k, v) in rows {
        out.entry(k).or_default().push(Arc::new(v));
    }
    out
}

/// Team members by opportunity, in team order.
pub struct TeamLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for TeamLoader {
    type Value = Vec<Arc<team_members::Model>>;
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
    type Value = Vec<Arc<solutions::Model>>;
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
    type Value = Vec<Arc<opportunities::Model>>;
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
    type Value = Vec<Arc<invitations::Model>>;
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

    /// Loads in one round of statements, side by side, what a page of opportunities'
    /// nested fields will ask for (as `needs` says), and feeds it to the loaders, so the
    /// page costs the same few statements whatever its size and no field waits for a
    /// batch.
    pub async fn prime(
        &self,
        db: &DatabaseConnection,
        viewer_user: Uuid,
        page: &[&opportunities::Model],
        needs: PageNeeds,
    ) -> Result<(), LoadError> {
        if page.is_empty() {
            return Ok(());
        }
        let opps: Vec<Uuid> = page.iter().map(|o| o.id).collect();
        let mut engs: Vec<Uuid> = page.iter().map(|o| o.engagement_id).collect();
        engs.sort();
        engs.dedup();
        // One round: every statement side by side, each on its own connection.
        let (
            ((engagements, customers), participants, invitations, organizations),
            (teams, solutions, favorites, inviters),
        ) = futures_util::try_join!(
            futures_util::future::try_join4(
                async {
                    // Both from one statement when both are wanted.
                    Ok(match (needs.engagements, needs.customers) {
                        (true, true) => {
                            let (e, c): (Vec<_>, Vec<_>) =
                                store::engagements_with_customers(db, &engs)
                                    .await?
                                    .into_iter()
                                    .unzip();
                            (Some(e), Some(c))
                        }
                        (true, false) => (Some(store::engagements_by_ids(db, &engs).await?), None),
                        (false, true) => (
                            None,
                            Some(store::customers_of_engagements(db, &engs).await?),
                        ),
                        (false, false) => (None, None),
                    })
                },
                when(
                    needs.participants,
                    store::opportunities_of_engagements(db, &engs)
                ),
                when(needs.invitations, store::invitations_of(db, &engs)),
                when(
                    needs.organizations,
                    store::organizations_of_engagements(db, &engs)
                ),
            ),
            futures_util::future::try_join4(
                async {
                    match needs.teams {
                        Teams::None => Ok(None),
                        Teams::Own => store::teams(db, &opps).await.map(Some),
                        Teams::AllSides => store::teams_of_engagements(db, &engs).await.map(Some),
                    }
                },
                when(needs.solutions, store::solutions_of(db, &opps)),
                when(needs.favorites, store::favorites_of(db, viewer_user, &opps)),
                when(needs.inviters, store::inviters_of_engagements(db, &engs)),
            ),
        )
        .map_err(Arc::new)?;
        if let Some(rows) = engagements {
            self.engagements
                .feed_many(rows.into_iter().map(|r| (r.id, Arc::new(r))))
                .await;
        }
        if let Some(rows) = customers {
            self.customers
                .feed_many(rows.into_iter().map(|r| (r.id, Arc::new(r))))
                .await;
        }
        if let Some(rows) = organizations {
            self.organizations
                .feed_many(rows.into_iter().map(|r| (r.id, Arc::new(r))))
                .await;
        }
        if let Some(rows) = inviters {
            self.users
                .feed_many(rows.into_iter().map(|r| (r.id, Arc::new(r))))
                .await;
        }
        if let Some(rows) = teams {
            // Every side whose team was read gets an entry, an empty team too: the page's
            // own sides, and with `AllSides` every participant's.
            let mut keys = opps.clone();
            if let (Teams::AllSides, Some(sides)) = (needs.teams, &participants) {
                keys.extend(sides.iter().map(|o| o.id));
            }
            self.teams
                .feed_many(group(
                    &keys,
                    rows.into_iter().map(|m| (m.opportunity_id, m)),
                ))
                .await;
        }
        if let Some(rows) = participants {
            self.participants
                .feed_many(group(&engs, rows.into_iter().map(|o| (o.engagement_id, o))))
                .await;
        }
        if let Some(rows) = &invitations
            && needs.invitation_solutions
        {
            // The solutions the invitations propose, by id: a second step (their ids are
            // in the invitations' rows), one statement, so no invitation's field waits
            // for a loader's batch or splits it in two.
            let mut ids: Vec<Uuid> = rows
                .iter()
                .filter_map(|i| i.solution_ids.as_array())
                .flatten()
                .filter_map(|id| id.as_str().and_then(|s| Uuid::parse_str(s).ok()))
                .collect();
            ids.sort();
            ids.dedup();
            if !ids.is_empty() {
                let found = self.solutions.loader().load(&ids).await?;
                self.solutions.feed_many(found).await;
            }
        }
        if let Some(rows) = invitations {
            self.invitations
                .feed_many(group(&engs, rows.into_iter().map(|i| (i.engagement_id, i))))
                .await;
        }
        if let Some(rows) = solutions {
            self.opportunity_solutions
                .feed_many(group(&opps, rows))
                .await;
        }
        if let Some(favs) = favorites {
            self.favorites
                .feed_many(opps.iter().map(|o| ((viewer_user, *o), favs.contains(o))))
                .await;
        }
        Ok(())
    }
}

/// Which teams a page needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Teams {
    #[default]
    None,
    /// The page's own opportunities' teams.
    Own,
    /// Every side's team (the participants' too).
    AllSides,
}

/// What a page of opportunities' nested fields will load, from the query's selection.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageNeeds {
    pub engagements: bool,
    pub customers: bool,
    pub participants: bool,
    pub invitations: bool,
    pub organizations: bool,
    pub inviters: bool,
    /// The solutions the invitations propose (by id).
    pub invitation_solutions: bool,
    pub teams: Teams,
    pub solutions: bool,
    pub favorites: bool,
}

impl PageNeeds {
    /// Everything a page can need.
    pub fn all() -> Self {
        PageNeeds {
            engagements: true,
            customers: true,
            participants: true,
            invitations: true,
            organizations: true,
            inviters: true,
            invitation_solutions: true,
            teams: Teams::AllSides,
            solutions: true,
            favorites: true,
        }
    }

    /// What the `Opportunity` selection `node` reads.
    pub fn of(node: &async_graphql::Lookahead<'_>) -> Self {
        let has = |f: &str| node.field(f).exists();
        // Fields that read the engagement row.
        let engagement = [
            "dealType",
            "helpWanted",
            "customer",
            "contact",
            "contactLocked",
        ]
        .iter()
        .any(|f| has(f));
        let actions = has("availableActions");
        let participants = node.field("participants");
        let invitations = node.field("invitations");
        let participant_teams = participants.field("team").exists();
        PageNeeds {
            engagements: engagement || actions,
            customers: has("customer"),
            participants: participants.exists() || actions,
            invitations: invitations.exists(),
            organizations: has("organization")
                || participants.field("organization").exists()
                || invitations.field("inviterOrganization").exists()
                || invitations.field("inviteeOrganization").exists()
                || actions,
            inviters: invitations.field("inviterUser").exists(),
            invitation_solutions: invitations.field("solutions").exists(),
            teams: if participant_teams {
                Teams::AllSides
            } else if has("team") || actions {
                Teams::Own
            } else {
                Teams::None
            },
            solutions: has("solutions") || actions,
            favorites: has("isFavorite"),
        }
    }

    /// Either of two selections' needs.
    pub fn or(self, o: Self) -> Self {
        PageNeeds {
            engagements: self.engagements || o.engagements,
            customers: self.customers || o.customers,
            participants: self.participants || o.participants,
            invitations: self.invitations || o.invitations,
            organizations: self.organizations || o.organizations,
            inviters: self.inviters || o.inviters,
            invitation_solutions: self.invitation_solutions || o.invitation_solutions,
            teams: if self.teams == Teams::AllSides || o.teams == Teams::AllSides {
                Teams::AllSides
            } else if self.teams == Teams::Own || o.teams == Teams::Own {
                Teams::Own
            } else {
                Teams::None
            },
            solutions: self.solutions || o.solutions,
            favorites: self.favorites || o.favorites,
        }
    }
}

/// Runs `load` only when `wanted`.
async fn when<T>(
    wanted: bool,
    load: impl std::future::Future<Output = Result<T, DbErr>>,
) -> Result<Option<T>, DbErr> {
    if wanted {
        load.await.map(Some)
    } else {
        Ok(None)
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
