use super::*;

#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_feedback"
    }
}

fn int(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.big_integer().not_null();
    c
}

fn uuid_null(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.uuid().null();
    c
}

fn flag(name: &str) -> ColumnDef {
    let mut c = col(name);
    c.boolean().not_null();
    c
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(t("contact_preferences"))
                    .col(id("id").primary_key())
                    .col(id("contact_id"))
                    .col(id("dek_id"))
                    .col(text_null("channel"))
                    .col(text_null("language"))
                    .col(text_null("frequency"))
                    .col(text("opt_outs"))
                    .col(flag("do_not_contact"))
                    .col(millis_null("do_not_contact_since"))
                    .col(blob_null("do_not_contact_reason_ct"))
                    .col(id("updated_by"))
                    .col(millis("created_at"))
                    .col(millis("updated_at"))
                    .col(int("version"))
                    .foreign_key(&mut fk(
                        "contact_preferences",
                        "contact_id",
                        "contacts",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "contact_preferences",
                        "dek_id",
                        "data_keys",
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "contact_preferences",
                        "updated_by",
                        "users",
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        // One preference row per contact (a concurrent first save loses on this index).
        let mut one_per_contact = index(
            "ux_contact_preferences_contact",
            "contact_preferences",
            &["contact_id"],
        );
        manager
            .create_index(one_per_contact.unique().to_owned())
            .await?;
        // The contact list's do_not_contact filter (campaign suppression).
        manager
            .create_index(index(
                "ix_contact_preferences_dnc",
                "contact_preferences",
                &["do_not_contact", "contact_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(t("survey_responses"))
                    .col(id("id").primary_key())
                    .col(id("contact_id"))
                    .col(uuid_null("company_id"))
                    .col(uuid_null("deal_id"))
                    .col(uuid_null("order_id"))
                    .col(id("dek_id"))
                    .col(text("kind"))
                    .col(int("score"))
                    .col(blob_null("comment_ct"))
                    .col(text_null("channel"))
                    .col(millis("responded_at"))
                    .col(id("recorded_by"))
                    .col(millis("created_at"))
                    .col(millis("updated_at"))
                    .col(millis_null("deleted_at"))
                    .col(int("version"))
                    .foreign_key(&mut fk(
                        "survey_responses",
                        "contact_id",
                        "contacts",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "survey_responses",
                        "company_id",
                        "companies",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "survey_responses",
                        "deal_id",
                        "deals",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "survey_responses",
                        "order_id",
                        "orders",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "survey_responses",
                        "dek_id",
                        "data_keys",
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "survey_responses",
                        "recorded_by",
                        "users",
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            // The list, newest first, and the aggregates over a date range.
            ("ix_survey_responses_responded", &["responded_at", "id"][..]),
            (
                "ix_survey_responses_kind",
                &["kind", "responded_at", "score"][..],
            ),
            // A contact's responses (contact page) and a company's aggregates.
            (
                "ix_survey_responses_contact",
                &["contact_id", "responded_at", "id"][..],
            ),
            (
                "ix_survey_responses_company",
                &["company_id", "kind", "responded_at"][..],
            ),
            ("ix_survey_responses_deal", &["deal_id"][..]),
            ("ix_survey_responses_order", &["order_id"][..]),
        ] {
            manager
                .create_index(index(name, "survey_responses", cols))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(t("complaints"))
                    .col(id("id").primary_key())
                    .col(id("contact_id"))
                    .col(uuid_null("company_id"))
                    .col(uuid_null("order_id"))
                    .col(uuid_null("product_id"))
                    .col(uuid_null("deal_id"))
                    .col(id("dek_id"))
                    .col(blob("subject_ct"))
                    .col(blob("description_ct"))
                    .col(text("category"))
                    .col(text("severity"))
                    .col(int("severity_rank"))
                    .col(text("status"))
                    .col(uuid_null("assignee_id"))
                    .col(blob_null("resolution_ct"))
                    .col(millis("response_due_at"))
                    .col(millis_null("resolved_at"))
                    .col(millis_null("closed_at"))
                    .col(id("created_by"))
                    .col(millis("created_at"))
                    .col(millis("updated_at"))
                    .col(millis_null("deleted_at"))
                    .col(int("version"))
                    .foreign_key(&mut fk(
                        "complaints",
                        "contact_id",
                        "contacts",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "complaints",
                        "company_id",
                        "companies",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "complaints",
                        "order_id",
                        "orders",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "complaints",
                        "product_id",
                        "products",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "complaints",
                        "deal_id",
                        "deals",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "complaints",
                        "dek_id",
                        "data_keys",
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "complaints",
                        "assignee_id",
                        "users",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "complaints",
                        "created_by",
                        "users",
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            // The queue: a status, by response due (overdue = pending and due before now).
            (
                "ix_complaints_status_due",
                &["status", "response_due_at", "id"][..],
            ),
            ("ix_complaints_due", &["response_due_at", "id"][..]),
            (
                "ix_complaints_assignee",
                &["assignee_id", "status", "response_due_at"][..],
            ),
            (
                "ix_complaints_severity",
                &["severity_rank", "response_due_at", "id"][..],
            ),
            ("ix_complaints_category", &["category", "created_at"][..]),
            ("ix_complaints_created", &["created_at", "id"][..]),
            ("ix_complaints_updated", &["updated_at", "id"][..]),
            // A record's complaints (contact and company pages).
            (
                "ix_complaints_contact",
                &["contact_id", "created_at", "id"][..],
            ),
            (
                "ix_complaints_company",
                &["company_id", "created_at", "id"][..],
            ),
            ("ix_complaints_order", &["order_id"][..]),
            ("ix_complaints_product", &["product_id"][..]),
            ("ix_complaints_deal", &["deal_id"][..]),
        ] {
            manager
                .create_index(index(name, "complaints", cols))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(t("complaint_status_changes"))
                    .col(id("id").primary_key())
                    .col(id("complaint_id"))
                    .col(int("complaint_version"))
                    .col(text_null("from_status"))
                    .col(text("to_status"))
                    .col(id("changed_by"))
                    .col(millis("changed_at"))
                    .foreign_key(&mut fk(
                        "complaint_status_changes",
                        "complaint_id",
                        "complaints",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "complaint_status_changes",
                        "changed_by",
                        "users",
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_complaint_status_changes_complaint",
                "complaint_status_changes",
                &["complaint_id", "complaint_version"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the feedback migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
