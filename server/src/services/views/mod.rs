//! `tasktracker.v1.SavedViewService`: saved views of a project's tasks.
//! Each handler parses its request ([`commands`]), asks the
//! [`Authorizer`](crate::auth::Authorizer) (reading takes a member; saving
//! a personal view a member whose credential writes, sharing one an editor),
//! then applies the per-view rule here: another member's personal view does
//! not exist for the caller (NOT_FOUND), and a shared one changes only by its
//! creator or an owner.

mod commands;

use tasktracker_proto::v1::{self, saved_view_service_server::SavedViewService};
use tonic::{Request, Response, Status};

use self::commands::{CreateView, UpdateView, ViewSpec};
use super::{SharedState, projects::check_etag};
use crate::{
    auth::{Caller, Permission, Role},
    domain::{
        ProjectId, UserId, ViewId, ViewName,
        time::{self, to_timestamp},
    },
    error::{ServiceError, ServiceResult},
    storage::{
        entities::saved_views,
        views::{MAX_VIEWS, ViewStoreError},
    },
};

impl From<ViewStoreError> for ServiceError {
    fn from(error: ViewStoreError) -> Self {
        match error {
            ViewStoreError::Stale => Self::stale_etag("saved view"),
            ViewStoreError::TooMany => {
                Self::FailedPrecondition(format!("a project has at most {MAX_VIEWS} saved views"))
            }
            ViewStoreError::Database(error) => error.into(),
        }
    }
}

pub struct Views {
    shared: SharedState,
}

fn view_to_proto(view: saved_views::Model) -> v1::SavedView {
    let name = ViewName { project: ProjectId::from_stored(&view.project_id), view: ViewId::from_stored(&view.id) };
    v1::SavedView {
        name: name.to_string(),
        display_name: view.display_name,
        filter: view.filter,
        order_by: view.order_by,
        layout: view.layout.into(),
        group_by: view.group_by.into(),
        group_by_field: view.group_by_field,
        columns: serde_json::from_str(&view.columns).unwrap_or_default(),
        visibility: if view.shared { v1::ViewVisibility::Shared } else { v1::ViewVisibility::Personal } as i32,
        creator: UserId::from_stored(&view.creator_id).name(),
        create_time: Some(to_timestamp(view.create_time)),
        update_time: Some(to_timestamp(view.update_time)),
        etag: view.version.to_string(),
    }
}

/// Sets on `view` what `spec` names.
fn apply(view: &mut saved_views::Model, spec: ViewSpec) {
    let ViewSpec { display_name, filter, order_by, layout, group_by, columns, shared } = spec;
    view.display_name = display_name.unwrap_or(std::mem::take(&mut view.display_name));
    view.filter = filter.unwrap_or(std::mem::take(&mut view.filter));
    view.order_by = order_by.unwrap_or(std::mem::take(&mut view.order_by));
    view.layout = layout.unwrap_or(view.layout);
    if let Some((grouping, field)) = group_by {
        (view.group_by, view.group_by_field) = (grouping, field);
    }
    if let Some(columns) = columns {
        view.columns = serde_json::to_string(&columns).unwrap_or_else(|_| "[]".into());
    }
    view.shared = shared.unwrap_or(view.shared);
}

impl Views {
    pub fn new(shared: SharedState) -> Self {
        Self { shared }
    }

    /// The view `name` if `caller` may see it: shared, or their own.
    async fn visible(&self, caller: &Caller, name: ViewName) -> ServiceResult<saved_views::Model> {
        let view = self.shared.views.get(name.project, &name.view.to_string()).await?;
        view.filter(|view| view.shared || UserId::from_stored(&view.creator_id) == caller.user)
            .ok_or(ServiceError::NotFound("saved view"))
    }

    /// The view `name`, once `caller` may change it (into a view that is
    /// `shared_after` or not): its creator, or an owner for a shared view.
    async fn changeable(
        &self,
        caller: &Caller,
        name: ViewName,
        etag: &str,
        shared_after: Option<bool>,
    ) -> ServiceResult<saved_views::Model> {
        // Membership first (one query): a stranger learns nothing.
        let grant = self.shared.authorizer.require(caller, name.project, Permission::Read).await?;
        let view = self.visible(caller, name).await?;
        self.shared.authorizer.change_view(caller, &grant, view.shared || shared_after == Some(true))?;
        let mine = UserId::from_stored(&view.creator_id) == caller.user;
        if !mine && grant.role != Role::Owner {
            return Err(ServiceError::PermissionDenied);
        }
        check_etag(etag, view.version, "saved view")?;
        Ok(view)
    }
}

#[tonic::async_trait]
impl SavedViewService for Views {
    async fn list_saved_views(
        &self,
        request: Request<v1::ListSavedViewsRequest>,
    ) -> Result<Response<v1::ListSavedViewsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let project = ProjectId::parse_name("parent", &request.get_ref().parent)?;
        self.shared.authorizer.require(&caller, project, Permission::Read).await?;
        let views = self.shared.views.list(project, caller.user).await.map_err(ServiceError::from)?;
        Ok(Response::new(v1::ListSavedViewsResponse { saved_views: views.into_iter().map(view_to_proto).collect() }))
    }

    async fn get_saved_view(
        &self,
        request: Request<v1::GetSavedViewRequest>,
    ) -> Result<Response<v1::SavedView>, Status> {
        let caller = Caller::of(&request)?;
        let name = ViewName::parse("name", &request.get_ref().name)?;
        self.shared.authorizer.require(&caller, name.project, Permission::Read).await?;
        Ok(Response::new(view_to_proto(self.visible(&caller, name).await?)))
    }

    async fn create_saved_view(
        &self,
        request: Request<v1::CreateSavedViewRequest>,
    ) -> Result<Response<v1::SavedView>, Status> {
        let caller = Caller::of(&request)?;
        let CreateView { project, spec } = request.into_inner().try_into()?;
        let grant = self.shared.authorizer.require(&caller, project, Permission::Read).await?;
        self.shared.authorizer.change_view(&caller, &grant, spec.shared == Some(true))?;
        let now = time::now();
        let mut view = saved_views::Model {
            id: ViewId::generate().to_string(),
            project_id: project.to_string(),
            creator_id: caller.user.to_string(),
            display_name: String::new(),
            filter: String::new(),
            order_by: String::new(),
            layout: v1::ViewLayout::List as i16,
            group_by: v1::ViewGrouping::Unspecified as i16,
            group_by_field: String::new(),
            columns: "[]".into(),
            shared: false,
            create_time: now,
            update_time: now,
            version: 1,
        };
        apply(&mut view, spec);
        let view = self.shared.views.insert(view).await.map_err(ServiceError::from)?;
        Ok(Response::new(view_to_proto(view)))
    }

    async fn update_saved_view(
        &self,
        request: Request<v1::UpdateSavedViewRequest>,
    ) -> Result<Response<v1::SavedView>, Status> {
        let caller = Caller::of(&request)?;
        let UpdateView { name, etag, spec } = request.into_inner().try_into()?;
        let mut view = self.changeable(&caller, name, &etag, spec.shared).await?;
        let read_version = view.version;
        apply(&mut view, spec);
        view.update_time = time::now();
        let view = self.shared.views.update(view, read_version).await.map_err(ServiceError::from)?;
        Ok(Response::new(view_to_proto(view)))
    }

    async fn delete_saved_view(
        &self,
        request: Request<v1::DeleteSavedViewRequest>,
    ) -> Result<Response<v1::DeleteSavedViewResponse>, Status> {
        let caller = Caller::of(&request)?;
        let v1::DeleteSavedViewRequest { name, etag } = request.into_inner();
        let name = ViewName::parse("name", &name)?;
        let view = self.changeable(&caller, name, &etag, None).await?;
        self.shared.views.delete(&view.id, view.version).await.map_err(ServiceError::from)?;
        Ok(Response::new(v1::DeleteSavedViewResponse {}))
    }
}
