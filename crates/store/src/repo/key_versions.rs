use super::*;

pub async fn all<C: ConnectionTrait>(c: &C) -> Result<Vec<key_version::Model>> {
    Ok(key_version::Entity::find().all(c).await?)
}

pub async fn insert<C: ConnectionTrait>(c: &C, row: key_version::Model) -> Result<()> {
    row.into_active_model().reset_all().insert(c).await?;
    Ok(())
}
