//! The whole co-sell schema: organizations and their users, customers, solutions, the deals
//! (engagements, opportunities, teams, solutions, invitations, favorites), deal
//! registrations, the event log with its commit-ordered counter, the email outbox and
//! idempotency keys.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn ts(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone(name)
}

fn ts_null(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(name)
}

/// A normalized text column (ASCII letters, digits, spaces). PostgreSQL compares it
/// byte-wise (`COLLATE "C"`) like SQLite does, so prefix ranges use its index.
fn norm(name: &'static str, pg: bool) -> ColumnDef {
    let mut col = string(name);
    if pg {
        col.extra("COLLATE \"C\"");
    }
    col
}

fn fk(table: &'static str, col: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(to, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

fn index(name: &'static str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create().name(name).table(table).take();
    for c in cols {
        idx.col(*c);
    }
    idx
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let pg = m.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
        m.create_table(
            Table::create()
                .table("organizations")
                .col(pk_uuid("id"))
                .col(string("name"))
                .col(norm("name_norm", pg))
                .col(string_len("kind", 16))
                .col(string_null("partner_id"))
                .col(boolean("co_sell_ready"))
                .col(string_len_null("country", 2))
                .col(ts("created_at"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "organizations_name_norm",
            "organizations",
            &["name_norm"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("tenants")
                .col(pk_uuid("id"))
                .col(uuid("organization_id"))
                .col(string("name"))
                .col(ts("created_at"))
                .foreign_key(&mut fk("tenants", "organization_id", "organizations"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "tenants_organization",
            "tenants",
            &["organization_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("users")
                .col(pk_uuid("id"))
                .col(uuid("organization_id"))
                .col(uuid("tenant_id"))
                .col(string("name"))
                .col(string_uniq("email"))
                .col(string_null("phone"))
                .col(string("roles"))
                .col(string_len_null("locale", 35))
                .col(boolean("notifications_enabled"))
                .col(boolean("active"))
                .col(ts("created_at"))
                .foreign_key(&mut fk("users", "organization_id", "organizations"))
                .foreign_key(&mut fk("users", "tenant_id", "tenants"))
                .take(),
        )
        .await?;
        m.create_index(index("users_organization", "users", &["organization_id"]))
            .await?;

        m.create_table(
            Table::create()
                .table("customers")
                .col(pk_uuid("id"))
                .col(string("name"))
                .col(norm("name_norm", pg))
                .col(string("address_line1"))
                .col(string_null("address_line2"))
                .col(string("city"))
                .col(norm("city_norm", pg))
                .col(string_null("region"))
                .col(string_null("postal_code"))
                .col(string_len("country", 2))
                .col(string_len_null("duns", 9))
                .col(string_null("website"))
                .col(uuid_null("created_by_organization_id"))
                .col(ts("created_at"))
                .take(),
        )
        .await?;
        m.create_index(index("customers_name_norm", "customers", &["name_norm"]))
            .await?;
        m.create_index(index(
            "customers_place",
            "customers",
            &["country", "city_norm", "name_norm"],
        ))
        .await?;

        // One row per word of a customer's normalized name, for word-prefix search that
        // uses an index on both databases.
        m.create_table(
            Table::create()
                .table("customer_words")
                .col(norm("word", pg))
                .col(uuid("customer_id"))
                .primary_key(Index::create().col("word").col("customer_id"))
                .foreign_key(&mut fk("customer_words", "customer_id", "customers"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "customer_words_customer",
            "customer_words",
            &["customer_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("solutions")
                .col(pk_uuid("id"))
                .col(string("name"))
                .col(norm("name_norm", pg))
                .col(uuid("publisher_id"))
                .col(boolean("co_sell_ready"))
                .col(boolean("registration_eligible"))
                .col(ts("created_at"))
                .foreign_key(&mut fk("solutions", "publisher_id", "organizations"))
                .take(),
        )
        .await?;
        m.create_index(index("solutions_name_norm", "solutions", &["name_norm"]))
            .await?;
        m.create_index(index("solutions_publisher", "solutions", &["publisher_id"]))
            .await?;

        m.create_table(
            Table::create()
                .table("engagements")
                .col(pk_uuid("id"))
                .col(uuid("customer_id"))
                .col(uuid("originator_id"))
                .col(string_len("deal_type", 24))
                .col(string_len("help_wanted", 32))
                .col(string_null("contact_name"))
                .col(string_null("contact_phone"))
                .col(string_null("contact_email"))
                .col(boolean("contact_consent"))
                .col(ts_null("microsoft_invited_at"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(&mut fk("engagements", "customer_id", "customers"))
                .foreign_key(&mut fk("engagements", "originator_id", "organizations"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("opportunities")
                .col(pk_uuid("id"))
                .col(uuid("engagement_id"))
                .col(uuid("organization_id"))
                .col(string_len("direction", 8))
                .col(string_len("stage", 10))
                .col(string("deal_name"))
                .col(norm("deal_name_norm", pg))
                // Deal name, notes and CRM ID, normalized: what list search looks through.
                .col(text("search_norm"))
                // Money in ten-thousandths of the currency unit: exact, sortable, and the
                // same on both databases (ISO 4217 has no currency with more minor units).
                .col(big_integer_null("value_e4"))
                .col(string_len_null("currency", 3))
                .col(date_null("close_date"))
                .col(string_null("crm_id"))
                .col(string_null("campaign_id"))
                .col(text_null("notes"))
                .col(uuid_null("invitation_id"))
                .col(ts_null("expires_at"))
                .col(ts_null("reminded_at"))
                .col(ts_null("closed_at"))
                .col(string_len_null("close_reason", 32))
                .col(text_null("close_notes"))
                .col(integer("version"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(&mut fk("opportunities", "engagement_id", "engagements"))
                .foreign_key(&mut fk("opportunities", "organization_id", "organizations"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "opportunities_org_stage_created",
            "opportunities",
            &["organization_id", "stage", "created_at", "id"],
        ))
        .await?;
        m.create_index(index(
            "opportunities_org_updated",
            "opportunities",
            &["organization_id", "updated_at", "id"],
        ))
        .await?;
        m.create_index(index(
            "opportunities_engagement",
            "opportunities",
            &["engagement_id", "organization_id"],
        ))
        .await?;
        m.create_index(index(
            "opportunities_expiry",
            "opportunities",
            &["stage", "expires_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("team_members")
                .col(pk_uuid("id"))
                .col(uuid("opportunity_id"))
                .col(string("name"))
                .col(string("phone"))
                .col(string("email"))
                .col(norm("email_norm", pg))
                .col(boolean("notify"))
                .col(integer("position"))
                .col(ts("created_at"))
                .foreign_key(&mut fk("team_members", "opportunity_id", "opportunities"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "team_members_opportunity",
            "team_members",
            &["opportunity_id"],
        ))
        .await?;
        m.create_index(index(
            "team_members_email",
            "team_members",
            &["email_norm", "opportunity_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("opportunity_solutions")
                .col(uuid("opportunity_id"))
                .col(uuid("solution_id"))
                .col(ts("created_at"))
                .primary_key(Index::create().col("opportunity_id").col("solution_id"))
                .foreign_key(&mut fk(
                    "opportunity_solutions",
                    "opportunity_id",
                    "opportunities",
                ))
                .foreign_key(&mut fk("opportunity_solutions", "solution_id", "solutions"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("invitations")
                .col(pk_uuid("id"))
                .col(uuid("engagement_id"))
                .col(uuid("inviter_organization_id"))
                .col(uuid("inviter_user_id"))
                .col(uuid("inviter_opportunity_id"))
                .col(uuid("invitee_organization_id"))
                .col(uuid("invitee_opportunity_id"))
                .col(date_null("close_date"))
                .col(big_integer_null("value_e4"))
                .col(string_len_null("currency", 3))
                .col(text_null("notes"))
                .col(string_len("help_wanted", 32))
                // The terms' team and solutions are a frozen copy: the inviter can no
                // longer change them after sending.
                .col(json("team"))
                .col(json("solution_ids"))
                .col(string_len("status", 10))
                .col(ts("sent_at"))
                .col(ts("expires_at"))
                .col(ts_null("answered_at"))
                .col(uuid_null("answered_by_user_id"))
                .col(string_len_null("decline_reason", 32))
                .col(text_null("decline_notes"))
                .foreign_key(&mut fk("invitations", "engagement_id", "engagements"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "invitations_engagement",
            "invitations",
            &["engagement_id", "invitee_organization_id"],
        ))
        .await?;
        m.create_index(index(
            "invitations_invitee",
            "invitations",
            &["invitee_organization_id", "status"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("favorites")
                .col(uuid("user_id"))
                .col(uuid("opportunity_id"))
                .col(ts("created_at"))
                .primary_key(Index::create().col("user_id").col("opportunity_id"))
                .foreign_key(&mut fk("favorites", "user_id", "users"))
                .foreign_key(&mut fk("favorites", "opportunity_id", "opportunities"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("deal_registrations")
                .col(pk_uuid("id"))
                .col(uuid("opportunity_id"))
                .col(uuid("organization_id"))
                .col(string_len("status", 16))
                .col(json("solution_ids"))
                .col(date("purchase_date"))
                .col(big_integer("value_e4"))
                .col(string_len("currency", 3))
                .col(uuid("purchasing_customer_id"))
                .col(text_null("notes"))
                .col(json("links"))
                .col(text_null("question"))
                .col(text_null("answer"))
                .col(text_null("decision_reason"))
                .col(uuid_null("decided_by_user_id"))
                .col(ts_null("decided_at"))
                .col(integer("version"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(&mut fk(
                    "deal_registrations",
                    "opportunity_id",
                    "opportunities",
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "deal_registrations_opportunity",
            "deal_registrations",
            &["opportunity_id"],
        ))
        .await?;

        // A one-row counter that hands out event numbers as the last statement of a
        // writing transaction, so that number order is commit order.
        m.create_table(
            Table::create()
                .table("event_counter")
                .col(integer("id").primary_key())
                .col(big_integer("last"))
                .take(),
        )
        .await?;
        m.exec_stmt(
            Query::insert()
                .into_table("event_counter")
                .columns(["id", "last"])
                .values_panic([1.into(), 0i64.into()])
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("events")
                .col(big_integer("seq").primary_key())
                .col(uuid_uniq("id"))
                .col(string_len("kind", 40))
                .col(ts("occurred_at"))
                .col(uuid_null("actor_user_id"))
                .col(uuid_null("actor_organization_id"))
                .col(uuid_null("engagement_id"))
                .col(uuid_null("opportunity_id"))
                .col(json("payload"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "events_engagement",
            "events",
            &["engagement_id", "seq"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("event_visibility")
                .col(uuid("organization_id"))
                .col(big_integer("event_seq"))
                .primary_key(Index::create().col("organization_id").col("event_seq"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("email_outbox")
                .col(pk_uuid("id"))
                .col(big_integer_null("event_seq"))
                .col(string_len("kind", 40))
                .col(uuid_null("organization_id"))
                .col(string("recipient_email"))
                .col(string("recipient_name"))
                .col(string("subject"))
                .col(text("body_text"))
                .col(text("body_html"))
                .col(string_len("status", 10))
                .col(integer("attempts"))
                .col(ts("next_attempt_at"))
                .col(ts_null("lease_until"))
                .col(text_null("last_error"))
                .col(ts_null("sent_at"))
                .col(ts("created_at"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "email_outbox_due",
            "email_outbox",
            &["status", "next_attempt_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .col(uuid("organization_id"))
                .col(string("key"))
                .col(string("request_hash"))
                .col(string_len("result_kind", 32))
                .col(uuid("result_id"))
                .col(ts("created_at"))
                .primary_key(Index::create().col("organization_id").col("key"))
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "idempotency_keys",
            "email_outbox",
            "event_visibility",
            "events",
            "event_counter",
            "deal_registrations",
            "favorites",
            "invitations",
            "opportunity_solutions",
            "team_members",
            "opportunities",
            "engagements",
            "solutions",
            "customer_words",
            "customers",
            "users",
            "tenants",
            "organizations",
        ] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
