//! `tasktracker.v1.CustomFieldService`: a project's custom fields. Each
//! handler parses its request into a command ([`commands`]), asks the
//! [`Authorizer`](crate::auth::Authorizer) once (reading takes a member,
//! changing takes an owner, as for workflow states), calls the
//! [`FieldStore`](crate::storage::fields::FieldStore) and converts back.

mod commands;

use tasktracker_proto::v1::{self, custom_field_service_server::CustomFieldService};
use tonic::{Request, Response, Status};

use self::commands::{CreateField, DeleteField, UpdateField};
use super::SharedState;
use crate::{
    auth::{Caller, Permission},
    domain::{
        FieldId, FieldName, ProjectId, Violations,
        fields::{FieldType, MAX_FIELDS},
        time::to_timestamp,
    },
    error::ServiceError,
    storage::{
        entities::custom_fields,
        fields::{FieldStoreError, options_of},
    },
};

impl From<FieldStoreError> for ServiceError {
    fn from(error: FieldStoreError) -> Self {
        match error {
            FieldStoreError::NotFound => ServiceError::NotFound("custom field"),
            FieldStoreError::Stale => ServiceError::stale_etag("custom field"),
            FieldStoreError::TooMany => {
                ServiceError::FailedPrecondition(format!("a project has at most {MAX_FIELDS} custom fields"))
            }
            FieldStoreError::DuplicateKey => {
                ServiceError::invalid("field.key", "the project has a custom field with this key")
            }
            FieldStoreError::InUse(why) => ServiceError::FailedPrecondition(why),
            FieldStoreError::Database(error) => error.into(),
        }
    }
}

pub struct Fields {
    shared: SharedState,
}

impl Fields {
    pub fn new(shared: SharedState) -> Self {
        Self { shared }
    }
}

/// The one conversion from stored field to API message.
fn field_to_proto(field: custom_fields::Model) -> v1::CustomField {
    let name = FieldName { project: ProjectId::from_stored(&field.project_id), field: FieldId::from_stored(&field.id) };
    v1::CustomField {
        name: name.to_string(),
        options: options_of(&field),
        key: field.key,
        display_name: field.display_name,
        r#type: FieldType::from_stored(field.kind).to_proto() as i32,
        number_min: field.number_min,
        number_max: field.number_max,
        show_on_card: field.show_on_card,
        position: field.position,
        create_time: Some(to_timestamp(field.create_time)),
        update_time: Some(to_timestamp(field.update_time)),
        etag: field.version.to_string(),
    }
}

#[tonic::async_trait]
impl CustomFieldService for Fields {
    async fn list_custom_fields(
        &self,
        request: Request<v1::ListCustomFieldsRequest>,
    ) -> Result<Response<v1::ListCustomFieldsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let project = ProjectId::parse_name("parent", &request.get_ref().parent)?;
        self.shared.authorizer.require(&caller, project, Permission::Read).await?;
        let fields = self.shared.fields.list(project).await.map_err(ServiceError::from)?;
        Ok(Response::new(v1::ListCustomFieldsResponse { fields: fields.into_iter().map(field_to_proto).collect() }))
    }

    async fn create_custom_field(
        &self,
        request: Request<v1::CreateCustomFieldRequest>,
    ) -> Result<Response<v1::CustomField>, Status> {
        let caller = Caller::of(&request)?;
        let CreateField { project, field } = request.into_inner().try_into()?;
        self.shared.authorizer.change_settings(&caller, project).await?;
        let created = self.shared.fields.create(project, field).await.map_err(ServiceError::from)?;
        Ok(Response::new(field_to_proto(created)))
    }

    async fn update_custom_field(
        &self,
        request: Request<v1::UpdateCustomFieldRequest>,
    ) -> Result<Response<v1::CustomField>, Status> {
        let caller = Caller::of(&request)?;
        let UpdateField { name, etag, change } = request.into_inner().try_into()?;
        self.shared.authorizer.change_settings(&caller, name.project).await?;
        // Options and bounds must suit the stored field's type.
        let current = self.shared.fields.list(name.project).await.map_err(ServiceError::from)?;
        let id = name.field.to_string();
        let field = current.iter().find(|field| field.id == id).ok_or(ServiceError::NotFound("custom field"))?;
        let kind = FieldType::from_stored(field.kind);
        let mut violations = Violations::default();
        if change.options.is_some() && !kind.is_select() {
            violations.add("field.options", "only selects have options");
        }
        if (change.number_min.is_some() || change.number_max.is_some()) && kind != FieldType::Number {
            violations.add("update_mask", "only NUMBER fields have bounds");
        }
        let min = change.number_min.unwrap_or(field.number_min);
        let max = change.number_max.unwrap_or(field.number_max);
        commands::check_bounds(&mut violations, min, max);
        violations.finish()?;
        let updated = self.shared.fields.update(name, &etag, change).await.map_err(ServiceError::from)?;
        Ok(Response::new(field_to_proto(updated)))
    }

    async fn delete_custom_field(
        &self,
        request: Request<v1::DeleteCustomFieldRequest>,
    ) -> Result<Response<v1::DeleteCustomFieldResponse>, Status> {
        let caller = Caller::of(&request)?;
        let DeleteField { name, etag } = request.into_inner().try_into()?;
        self.shared.authorizer.change_settings(&caller, name.project).await?;
        let cleared = self.shared.fields.delete(name, &etag).await.map_err(ServiceError::from)?;
        Ok(Response::new(v1::DeleteCustomFieldResponse { cleared_tasks: i32::try_from(cleared).unwrap_or(i32::MAX) }))
    }
}
