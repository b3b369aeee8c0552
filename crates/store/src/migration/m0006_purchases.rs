use super::*;

#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_purchases"
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(t("products"))
                    .col(id("id").primary_key())
                    .col(text("sku").unique_key())
                    .col(text("name"))
                    .col(text("name_sort"))
                    .col(text_null("description"))
                    .col(text_null("category"))
                    .col(int("list_price_minor"))
                    .col(text("currency"))
                    .col(text("unit"))
                    .col(int("active"))
                    .col(millis("created_at"))
                    .col(millis("updated_at"))
                    .col(millis_null("deleted_at"))
                    .col(int("version"))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ix_products_name", &["name_sort", "id"][..]),
            ("ix_products_category", &["category", "name_sort", "id"][..]),
            ("ix_products_updated", &["updated_at", "id"][..]),
        ] {
            manager.create_index(index(name, "products", cols)).await?;
        }

        // One row per sequence; the order number is taken by incrementing it inside the order's
        // own transaction, so concurrent writers queue on the row lock and never share a number.
        manager
            .create_table(
                Table::create()
                    .table(t("order_counters"))
                    .col(text("name").primary_key())
                    .col(int("value"))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(t("order_counters"))
                    .columns([t("name"), t("value")])
                    .values_panic(["sales_order".into(), 0_i64.into()])
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(t("orders"))
                    .col(id("id").primary_key())
                    .col(text("number").unique_key())
                    .col(text("status"))
                    .col(text("currency"))
                    .col(text("ordered_on"))
                    .col(uuid_null("contact_id"))
                    .col(uuid_null("company_id"))
                    .col(uuid_null("deal_id"))
                    .col(uuid_null("owner_id"))
                    .col(id("dek_id"))
                    .col(blob_null("notes_ct"))
                    .col(int("subtotal_minor"))
                    .col(int("discount_minor"))
                    .col(int("total_minor"))
                    .col(int("line_count"))
                    .col(millis_null("placed_at"))
                    .col(millis_null("paid_at"))
                    .col(millis_null("fulfilled_at"))
                    .col(millis_null("cancelled_at"))
                    .col(millis_null("refunded_at"))
                    .col(millis("created_at"))
                    .col(millis("updated_at"))
                    .col(millis_null("deleted_at"))
                    .col(int("version"))
                    .foreign_key(&mut fk(
                        "orders",
                        "contact_id",
                        "contacts",
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "orders",
                        "company_id",
                        "companies",
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "orders",
                        "deal_id",
                        "deals",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "orders",
                        "owner_id",
                        "users",
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "orders",
                        "dek_id",
                        "data_keys",
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            // Purchase history and per-customer totals.
            ("ix_orders_contact", &["contact_id", "ordered_on", "id"][..]),
            ("ix_orders_company", &["company_id", "ordered_on", "id"][..]),
            (
                "ix_orders_contact_totals",
                &["contact_id", "status", "currency"][..],
            ),
            (
                "ix_orders_company_totals",
                &["company_id", "status", "currency"][..],
            ),
            // Lists.
            ("ix_orders_ordered", &["ordered_on", "id"][..]),
            ("ix_orders_status", &["status", "ordered_on", "id"][..]),
            ("ix_orders_created", &["created_at", "id"][..]),
            ("ix_orders_updated", &["updated_at", "id"][..]),
            ("ix_orders_deal", &["deal_id"][..]),
        ] {
            manager.create_index(index(name, "orders", cols)).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(t("order_lines"))
                    .col(id("id").primary_key())
                    .col(id("order_id"))
                    .col(int("position"))
                    .col(uuid_null("product_id"))
                    .col(text("description"))
                    .col(int("quantity_milli"))
                    .col(int("unit_price_minor"))
                    .col(int("discount_bp"))
                    .col(int("gross_minor"))
                    .col(int("discount_minor"))
                    .col(int("total_minor"))
                    .foreign_key(&mut fk(
                        "order_lines",
                        "order_id",
                        "orders",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "order_lines",
                        "product_id",
                        "products",
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("ix_order_lines_order", &["order_id", "position"][..]),
            ("ix_order_lines_product", &["product_id"][..]),
        ] {
            manager
                .create_index(index(name, "order_lines", cols))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(t("product_interests"))
                    .col(id("id").primary_key())
                    .col(id("contact_id"))
                    .col(id("product_id"))
                    .col(blob("level_ct"))
                    .col(id("recorded_by"))
                    .col(millis("recorded_at"))
                    .foreign_key(&mut fk(
                        "product_interests",
                        "contact_id",
                        "contacts",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "product_interests",
                        "product_id",
                        "products",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        let mut unique = index(
            "ux_product_interests_contact_product",
            "product_interests",
            &["contact_id", "product_id"],
        );
        manager.create_index(unique.unique().to_owned()).await?;
        manager
            .create_index(index(
                "ix_product_interests_product",
                "product_interests",
                &["product_id", "recorded_at"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the purchases migration cannot be reverted; restore a backup instead".into(),
        ))
    }
}
