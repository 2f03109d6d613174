//! The read path decodes rows by position (`src/store/rows.rs`) instead of through
//! sea-orm's by-name `FromQueryResult`. Every model read that way must equal the same
//! row read by name, NULL and non-NULL columns alike, on both databases.
use std::fmt::Debug;

use cosell::store::deals;
use cosell::store::rows::{self, ByPosition, Field};
use entity::{
    customers, engagements, events, invitations, opportunities, organizations, solutions,
    team_members, users,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, Statement};
use uuid::Uuid;

use crate::db_test;

/// Both readings of every row of `M`'s table, each in a stable order; their count.
async fn same_rows<M>(db: &DatabaseConnection) -> usize
where
    M: ByPosition + Debug + PartialEq,
    M::Entity: EntityTrait<Model = M>,
{
    let mut by_name = M::Entity::find().all(db).await.expect("read by name");
    let mut by_position = rows::all::<M, _>(db, M::Entity::find())
        .await
        .expect("read by position");
    by_name.sort_by_key(|m| format!("{m:?}"));
    by_position.sort_by_key(|m| format!("{m:?}"));
    assert_eq!(by_position, by_name, "{}", std::any::type_name::<M>());
    by_name.len()
}

db_test!(
    rows_read_by_position_equal_rows_read_by_name,
    |app| async move {
        let db = &app.db;
        // The demo data has rows in every table the page reads, with NULL and non-NULL
        // values in the optional columns (an originator's opportunity has no invitation, an
        // invitee's has one; some customers have a region, some not).
        assert!(same_rows::<opportunities::Model>(db).await > 0);
        assert!(same_rows::<engagements::Model>(db).await > 0);
        assert!(same_rows::<customers::Model>(db).await > 0);
        assert!(same_rows::<invitations::Model>(db).await > 0);
        assert!(same_rows::<organizations::Model>(db).await > 0);
        assert!(same_rows::<team_members::Model>(db).await > 0);
        assert!(same_rows::<solutions::Model>(db).await > 0);
        assert!(same_rows::<users::Model>(db).await > 0);
        assert!(same_rows::<events::Model>(db).await > 0);
        let opps = opportunities::Entity::find()
            .all(db)
            .await
            .expect("opportunities");
        assert!(opps.iter().any(|o| o.invitation_id.is_some()));
        assert!(opps.iter().any(|o| o.invitation_id.is_none()));

        // A model that follows another's columns in one row: engagements with customers.
        let engagements = engagements::Entity::find()
            .all(db)
            .await
            .expect("engagements");
        let ids: Vec<Uuid> = engagements.iter().map(|e| e.id).collect();
        let pairs = deals::engagements_with_customers(db, &ids)
            .await
            .expect("engagements with customers");
        assert_eq!(
            pairs.len(),
            engagements.len(),
            "every engagement has its customer"
        );
        for (e, c) in &pairs {
            let by_name = engagements
                .iter()
                .find(|x| x.id == e.id)
                .expect("engagement");
            assert_eq!(e, by_name);
            let customer = customers::Entity::find_by_id(e.customer_id)
                .one(db)
                .await
                .expect("customer")
                .expect("a customer row");
            assert_eq!(c, &customer);
        }

        // A model after a leading column of a statement written as text: solutions of links.
        let opp_ids: Vec<Uuid> = opps.iter().map(|o| o.id).collect();
        let links = deals::solutions_of(db, &opp_ids)
            .await
            .expect("solutions of");
        assert!(!links.is_empty(), "the demo data attaches solutions");
        for (opp, s) in &links {
            assert!(opp_ids.contains(opp));
            let by_name = solutions::Entity::find_by_id(s.id)
                .one(db)
                .await
                .expect("solution")
                .expect("a solution row");
            assert_eq!(s, &by_name);
        }

        // A NULL where the model has no `Option` is an error that names the column; in
        // an `Option` it is `None`.
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT CAST(NULL AS TEXT) AS deal_name",
            ))
            .await
            .expect("select")
            .expect("a row");
        let err =
            <String as Field>::at(&row, 0, "deal_name", true).expect_err("NULL is not a String");
        assert!(err.to_string().contains("(deal_name) is NULL"), "{err}");
        assert_eq!(
            <Option<String> as Field>::at(&row, 0, "deal_name", true).expect("decodes"),
            None
        );
    }
);

db_test!(
    a_column_of_another_type_is_refused_on_a_results_first_row,
    |app| async move {
        let db = &app.db;
        let backend = db.get_database_backend();
        let row = |sql: &'static str| async move {
            db.query_one_raw(Statement::from_string(backend, sql))
                .await
                .expect("select")
                .expect("a row")
        };
        // A number where a text column is read: refused, the column's place named.
        let number = row("SELECT 5 AS deal_name").await;
        let err = <String as Field>::at(&number, 0, "deal_name", true)
            .expect_err("a number is not a String");
        assert!(err.to_string().contains("column 0"), "{err}");
        assert!(<Option<String> as Field>::at(&number, 0, "deal_name", true).is_err());
        // On PostgreSQL the check reads the column's type, so a NULL of the wrong type is
        // refused too (the later rows of that result skip the check: their column types
        // are the same). A SQLite NULL has no type to check.
        let null_number = row("SELECT CAST(NULL AS INTEGER) AS deal_name").await;
        let got = <Option<String> as Field>::at(&null_number, 0, "deal_name", true);
        match backend {
            sea_orm::DbBackend::Postgres => {
                let err = got.expect_err("an integer column is not text");
                assert!(
                    err.to_string().contains("column 0 (deal_name) is INT4"),
                    "{err}"
                );
            }
            _ => assert_eq!(got.expect("a NULL decodes as None"), None),
        }
    }
);
