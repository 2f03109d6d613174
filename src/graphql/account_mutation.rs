//! Mutations of account administration and personal settings.
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::context::{app, viewer};
use super::ids::{Kind, uuid_or_nil};
use super::mutation::payload;
use super::types::{Role, Tenant, User};
use crate::error::UserError;
use crate::service::accounts::{self, NewUser};

#[derive(Default)]
pub struct AccountMutation;

/// A user to add to the viewer's organization.
#[derive(InputObject)]
pub struct AddUserInput {
    pub name: String,
    pub email: String,
    /// International form.
    pub phone: Option<String>,
    #[graphql(validator(max_items = 4))]
    pub roles: Vec<Role>,
    /// The linked tenant the user signs in through.
    pub tenant_id: ID,
}

#[derive(InputObject)]
pub struct SetUserRolesInput {
    pub user_id: ID,
    #[graphql(validator(max_items = 4))]
    pub roles: Vec<Role>,
}

#[derive(InputObject)]
pub struct UserIdInput {
    pub user_id: ID,
}

#[derive(InputObject)]
pub struct LinkTenantInput {
    /// The directory's own tenant id (a UUID).
    pub tenant_id: String,
    pub name: String,
}

#[derive(InputObject)]
pub struct UnlinkTenantInput {
    /// The tenant's global id.
    pub tenant_id: ID,
}

#[derive(InputObject)]
pub struct UpdateMySettingsInput {
    /// Email notifications on or off.
    pub notifications_enabled: Option<bool>,
    /// BCP 47 locale such as `de-DE`; an empty string clears it.
    pub locale: Option<String>,
}

/// The result of a mutation on a user.
#[derive(SimpleObject)]
pub struct UserPayload {
    pub user: Option<User>,
    pub user_errors: Vec<UserError>,
}

/// The result of a mutation on a tenant.
#[derive(SimpleObject)]
pub struct TenantPayload {
    pub tenant: Option<Tenant>,
    pub user_errors: Vec<UserError>,
}

fn user_payload(
    r: Result<entity::users::Model, crate::error::AppError>,
) -> async_graphql::Result<UserPayload> {
    let (user, user_errors) = payload(r)?;
    Ok(UserPayload {
        user: user.map(User),
        user_errors,
    })
}

fn tenant_payload(
    r: Result<entity::tenants::Model, crate::error::AppError>,
) -> async_graphql::Result<TenantPayload> {
    let (tenant, user_errors) = payload(r)?;
    Ok(TenantPayload {
        tenant: tenant.map(Tenant),
        user_errors,
    })
}

#[Object]
impl AccountMutation {
    /// Adds a user to the viewer's organization. Account admins only.
    async fn add_user(
        &self,
        ctx: &Context<'_>,
        input: AddUserInput,
    ) -> async_graphql::Result<UserPayload> {
        let v = viewer(ctx).await?;
        let new = NewUser {
            name: input.name,
            email: input.email,
            phone: input.phone,
            roles: input.roles.into_iter().map(Into::into).collect(),
            tenant: uuid_or_nil(&input.tenant_id, Kind::Tenant),
        };
        user_payload(accounts::add_user(&app(ctx)?.deps.writer, v, new).await)
    }

    /// Sets a user's roles. The organization keeps an active account admin.
    async fn set_user_roles(
        &self,
        ctx: &Context<'_>,
        input: SetUserRolesInput,
    ) -> async_graphql::Result<UserPayload> {
        let v = viewer(ctx).await?;
        let roles = input.roles.into_iter().map(Into::into).collect();
        user_payload(
            accounts::set_roles(
                &app(ctx)?.deps.writer,
                v,
                uuid_or_nil(&input.user_id, Kind::User),
                roles,
            )
            .await,
        )
    }

    /// Deactivates a user: its tokens stop working at once.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        input: UserIdInput,
    ) -> async_graphql::Result<UserPayload> {
        let v = viewer(ctx).await?;
        user_payload(
            accounts::set_active(
                &app(ctx)?.deps.writer,
                v,
                uuid_or_nil(&input.user_id, Kind::User),
                false,
            )
            .await,
        )
    }

    /// Lets a deactivated user sign in again.
    async fn reactivate_user(
        &self,
        ctx: &Context<'_>,
        input: UserIdInput,
    ) -> async_graphql::Result<UserPayload> {
        let v = viewer(ctx).await?;
        user_payload(
            accounts::set_active(
                &app(ctx)?.deps.writer,
                v,
                uuid_or_nil(&input.user_id, Kind::User),
                true,
            )
            .await,
        )
    }

    /// Links a directory tenant to the organization (self-service). A tenant belongs to
    /// at most one organization.
    async fn link_tenant(
        &self,
        ctx: &Context<'_>,
        input: LinkTenantInput,
    ) -> async_graphql::Result<TenantPayload> {
        let v = viewer(ctx).await?;
        let id = uuid::Uuid::parse_str(input.tenant_id.trim()).unwrap_or(uuid::Uuid::nil());
        tenant_payload(accounts::link_tenant(&app(ctx)?.deps.writer, v, id, input.name).await)
    }

    /// Unlinks a tenant: its users can no longer sign in through it. Refused while it
    /// would leave no active account admin able to sign in.
    async fn unlink_tenant(
        &self,
        ctx: &Context<'_>,
        input: UnlinkTenantInput,
    ) -> async_graphql::Result<TenantPayload> {
        let v = viewer(ctx).await?;
        tenant_payload(
            accounts::unlink_tenant(
                &app(ctx)?.deps.writer,
                v,
                uuid_or_nil(&input.tenant_id, Kind::Tenant),
            )
            .await,
        )
    }

    /// The viewer's own notification switch and locale.
    async fn update_my_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateMySettingsInput,
    ) -> async_graphql::Result<UserPayload> {
        let v = viewer(ctx).await?;
        user_payload(
            accounts::update_my_settings(
                &app(ctx)?.deps.writer,
                v,
                input.notifications_enabled,
                input.locale,
            )
            .await,
        )
    }
}
